package org.xenids.vmi.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.linux.Anomaly;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.linux.Task;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Walk anomalies across ticks, on the recorded nokaslr image seen through memory that changes
 * between ticks as a guest's would: one task's {@code tasks.prev} torn and mended, one MiB the
 * physical scan cannot read.
 */
class ProcessWatchAnomaliesTest {
    private static PhysicalMemory image;
    /** Every read of the guest, the kernel's page tables included, goes through this. */
    private static Changing mem;
    private static LinuxKernel k;
    private static LinuxGuest guest;
    private static Task worker;
    private static long prevField;

    /** The image with, when set, 8 bytes written over it and one scan chunk unreadable. */
    static final class Changing implements PhysicalMemory {
        volatile long at = -1;
        volatile long value;
        volatile long unreadableChunk = -1;

        @Override public List<Range> ranges() { return image.ranges(); }

        @Override public String describe() { return "changing " + image.describe(); }

        @Override public void read(long paddr, MemorySegment dst) {
            // Only the scan reads whole MiB chunks; the walks read pages and windows.
            if (paddr == unreadableChunk && dst.byteSize() >= 1 << 20) {
                throw new MemoryFault(paddr, String.format("physical address 0x%x unreadable", paddr));
            }
            image.read(paddr, dst);
            long a = at;
            if (a >= paddr && a + 8 <= paddr + dst.byteSize()) {
                dst.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, a - paddr, value);
            }
        }
    }

    @BeforeAll
    static void open() {
        image = MemorySources.open(SharedData.plain("vmi/nokaslr-hidden.raw.xz"));
        mem = new Changing();
        k = KernelLocator.locate(mem);
        guest = LinuxGuest.open(mem, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(mem, k));
        worker = guest.processes(false).tasks().stream().filter(t -> t.comm().equals("worker-10")).findFirst().orElseThrow();
        prevField = k.kernel().translate(worker.address() + guest.types().offset("task_struct.tasks") + 8);
    }

    @BeforeEach
    void unchanged() {
        mem.at = -1;
        mem.unreadableChunk = -1;
    }

    private static long now() {
        return System.currentTimeMillis() * 1_000_000L;
    }

    private static long anomalyEvents(ProcessWatch.Tick t) {
        return t.events().stream().filter(e -> e instanceof EveEvent.Anomaly).count();
    }

    @Test
    void aTornLinkIsReportedWhenFirstMetNotWhileItLastsAndAgainWhenItComesBack() {
        try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "changing", 0, null)) {
            ProcessWatch.Tick clean = w.tick(now());
            assertEquals(0, clean.anomalies());
            assertEquals(List.of(), clean.newAnomalies());

            mem.value = 0xffff888012345678L;
            mem.at = prevField;
            ProcessWatch.Tick torn = w.tick(now());
            assertEquals(1, torn.anomalies());
            assertEquals(1, torn.newAnomalies().size(), torn.newAnomalies().toString());
            Anomaly a = torn.newAnomalies().get(0);
            assertEquals("task-list", a.view());
            assertEquals("torn-link", a.kind());
            assertEquals(worker.address(), a.address());
            assertEquals(1, anomalyEvents(torn));

            ProcessWatch.Tick still = w.tick(now());
            assertEquals(1, still.anomalies(), "the walk still meets it");
            assertEquals(List.of(), still.newAnomalies(), "reported already");
            assertEquals(0, anomalyEvents(still));

            mem.at = -1;
            ProcessWatch.Tick mended = w.tick(now());
            assertEquals(0, mended.anomalies());
            assertEquals(List.of(), mended.newAnomalies());

            mem.at = prevField;
            ProcessWatch.Tick again = w.tick(now());
            assertEquals(List.of(a), again.newAnomalies(), "torn anew: reported anew");
            assertEquals(1, anomalyEvents(again));
        }
    }

    @Test
    void aScanAnomalyIsNotReportedAgainAtTheNextScanWhenTheWalksBetweenDidNotScan() throws Exception {
        mem.unreadableChunk = 0; // real-mode memory and firmware data: no task_struct there
        long scanEvery = 4_000_000_000L; // the first walk, with its scan, takes well under this
        try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "changing", scanEvery, null)) {
            long t0 = System.nanoTime();
            ProcessWatch.Tick first = w.tick(now());
            assertTrue(first.scanned());
            assertEquals(1, first.newAnomalies().size(), first.newAnomalies().toString());
            assertEquals("scan", first.newAnomalies().get(0).view());
            assertEquals("fault", first.newAnomalies().get(0).kind());
            assertEquals(1, anomalyEvents(first));

            ProcessWatch.Tick between = w.tick(now());
            assertTrue(!between.scanned(), "the first walk took more than the scan period");
            assertEquals(0, between.anomalies(), "a walk without the scan does not meet the scan's anomaly");
            assertEquals(List.of(), between.newAnomalies());

            Thread.sleep(Math.max(0, scanEvery - (System.nanoTime() - t0)) / 1_000_000 + 20);
            ProcessWatch.Tick next = w.tick(now());
            assertTrue(next.scanned());
            assertEquals(1, next.anomalies());
            assertEquals(List.of(), next.newAnomalies(), "the scan's anomaly lasted through the walks without a scan");
            assertEquals(0, anomalyEvents(next));
        }
    }
}
