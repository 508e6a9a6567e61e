package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;

class CallShapeTest {

    /**
     * A call's struct size and count are the caller's (hostile) word: the ops decoded are never
     * more than the argument bytes hold, whole, at either size, whatever the shortcut takes.
     */
    @Test
    void opsDecodedNeverOutgrowTheArgumentBytesAtEitherSize() {
        for (int size = 1; size <= 64; size++) {
            for (int per : new int[] {4, 8, 12, 24, 40}) {
                for (int count : new int[] {1, 2, 3, 7, 100, Integer.MAX_VALUE}) {
                    for (long bytes : new long[] {0, 1, 4, 39, 40, 41, 80, 400, 4096, 1 << 20}) {
                        long n = (long) count * size <= bytes ? count : bytes / size;
                        int expected = (int) Math.min(n, bytes / per);
                        assertEquals(expected, CallShape.elements(size, count, bytes, per),
                                size + " " + count + " " + bytes + " " + per);
                    }
                }
            }
        }
    }

    @Test
    void onlyTheCommandsTheTapFollowsHaveAnOpSize() {
        assertEquals(Gnttab.Copy.SIZE, CallShape.opSize(__HYPERVISOR_grant_table_op, GNTTABOP_copy));
        assertEquals(Gnttab.Map.SIZE, CallShape.opSize(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref));
        assertEquals(Evtchn.PortOp.SIZE, CallShape.opSize(__HYPERVISOR_event_channel_op, EVTCHNOP_send));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_grant_table_op, 16));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_grant_table_op, -1));
        assertEquals(0, CallShape.opSize(29, GNTTABOP_copy));
    }

    /**
     * A live host's call is copied into the tap's 4 KiB buffer: in one copy when it fits, a chunk
     * at a time when not. Every op is decoded either way, none twice: copies naming no ring are
     * each counted unclassified, up to what the argument bytes hold.
     */
    @Test
    void everyOpOfALiveCallIsDecodedWhetherItFitsTheBufferOrNot() {
        int per = Gnttab.Copy.SIZE;
        for (int n : new int[] {1, 4096 / per, 4096 / per + 1, 3 * (4096 / per) + 5, 1000}) {
            Tap tap = new Tap(new NoMemory(), (b, o, l, d, v, q, dir, p, t) -> { }, a -> { });
            tap.completed(copyCall(n, n, per));
            assertEquals(n, tap.unclassified(), n + " copies");
        }
        Tap tap = new Tap(new NoMemory(), (b, o, l, d, v, q, dir, p, t) -> { }, a -> { });
        tap.completed(copyCall(1000, 600, per)); // the count claims more than the bytes hold
        assertEquals(600, tap.unclassified(), "only the whole ops the bytes hold");
    }

    /** A copy call of dom0 with {@code count} ops claimed and {@code held} in its bytes, none naming a grant ref. */
    private static Hypercall copyCall(int count, int held, int per) {
        return new HostCall(1, 0, 0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, count,
                MemorySegment.ofArray(new byte[held * per]), 0, per);
    }

    /** A host whose memory the tap never gets to read. */
    private static final class NoMemory implements DomainMemory {
        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            return false;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            return -1;
        }
    }
}
