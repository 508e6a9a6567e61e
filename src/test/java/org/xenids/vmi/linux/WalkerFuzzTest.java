package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

/**
 * Walkers on corrupted kernel memory: the synthetic kernel with fields overwritten by values
 * chosen to hurt (pointers into other structures, into holes, non-canonical, poison, zero).
 * Every view must end, with anomalies instead of exceptions, and never list more tasks than
 * the memory can hold.
 */
class WalkerFuzzTest {

    @Property(tries = 300)
    void corruptedKernelsAreWalkedWithoutEscapingOrLooping(@ForAll @Size(max = 320) byte[] ops) {
        run(ops);
    }

    @FuzzTest(maxDuration = "5m")
    void walkers(byte[] ops) {
        run(ops);
    }

    static void run(byte[] ops) {
        SyntheticKernel k = new SyntheticKernel(HostileMemoryTest.types(), 12);
        List<Long> fields = fields(k);
        ByteBuffer in = ByteBuffer.wrap(ops).order(ByteOrder.LITTLE_ENDIAN);
        while (in.remaining() >= 13) {
            long target = fields.get(Integer.remainderUnsigned(in.getInt(), fields.size()));
            int kind = in.get() & 7;
            long raw = in.getLong();
            long value = switch (kind) {
                case 0 -> raw;
                case 1, 2 -> fields.get((int) Long.remainderUnsigned(raw, fields.size()));
                case 3 -> SyntheticKernel.BASE + Long.remainderUnsigned(raw, SyntheticKernel.SIZE * 2L);
                case 4 -> TaskScan.LIST_POISON2;
                case 5 -> 0;
                case 6 -> raw & 0x00007fffffffffffL | 0x0000800000000000L; // non-canonical
                default -> SyntheticKernel.task((int) Long.remainderUnsigned(raw, 13)) + (raw >>> 60);
            };
            k.put64(target, value);
        }
        long start = System.nanoTime();
        LinuxGuest g = k.guest();
        LinuxGuest.ProcessList p = g.processes(true);
        CrossView cv = g.crossView();
        long maxTasks = SyntheticKernel.SIZE / 8;
        assertTrue(p.tasks().size() <= maxTasks);
        assertTrue(cv.rows().size() <= maxTasks * 4);
        for (Anomaly a : cv.anomalies()) {
            assertTrue(a.message() != null && !a.message().isBlank());
        }
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "walks took more than 10 s");
    }

    /** Addresses of the pointer and id fields the walkers follow. */
    static List<Long> fields(SyntheticKernel k) {
        Layout l = k.l;
        List<Long> out = new ArrayList<>();
        for (int i = 0; i <= k.n; i++) {
            long t = SyntheticKernel.task(i);
            for (long off : new long[] {l.tasks(), l.tasks() + 8, l.children(), l.children() + 8, l.sibling(),
                l.sibling() + 8, l.threadPid(), l.realParent(), l.cred(), l.pidLinks0(), l.pid(), l.comm(),
                l.signal(), l.exitState()}) {
                out.add(t + off);
            }
            out.add(SyntheticKernel.pidStruct(i) + l.pidTasks0());
            out.add(SyntheticKernel.pidStruct(i) + l.pidNr());
        }
        for (int s = 0; s < 16; s++) {
            out.add(SyntheticKernel.NODE + l.xaSlots() + 8L * s);
        }
        out.add(SyntheticKernel.NODE + l.xaShift());
        out.add(SyntheticKernel.NS + l.nsIdrHead());
        return out;
    }
}
