package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Without the BTF symbols, the kernel's BTF is found by scanning: a look-alike written by a
 * process into its own pages must not be taken for it, and a kernel image full of look-alikes
 * must not make the scan read without end.
 */
class BtfLocatorHostileTest {

    @Test
    void aBtfCopyInAProcessPageBelowTheKernelIsNotTakenForTheKernels() {
        PhysicalMemory real = NokaslrImage.memory();
        LinuxKernel k = KernelLocator.locate(real);
        byte[] copy = NokaslrImage.btfBytes(); // a process could as well change task_struct's offsets in it
        long planted = 0x100000;
        assertTrue(planted + copy.length < k.textPhysical());
        PhysicalMemory withCopy = new OverlaidMemory(real, planted, copy, false);
        Btf found = BtfLocator.scan(withCopy, k.textPhysical(), k.imageSize());
        assertTrue(found.source().contains("physical 0x24c1b88"), found.source());
        assertEquals(2192, found.offset("task_struct.tasks"));
    }

    @Test
    void aKernelImageFullOfBtfLookAlikesIsScannedWithinABudget() {
        long size = 256L << 20;
        int claimed = 32 << 20; // each header claims 32 MiB of zeros (no valid types)
        PhysicalMemory lookAlikes = new PhysicalMemory() {
            @Override public List<Range> ranges() { return List.of(new Range(0, size)); }
            @Override public String describe() { return "memory of BTF headers"; }
            @Override public void read(long paddr, MemorySegment dst) {
                dst.fill((byte) 0);
                for (long page = (paddr + 0xfff) & ~0xfffL; page + 24 <= paddr + dst.byteSize(); page += 0x1000) {
                    long at = page - paddr;
                    dst.set(ValueLayout.JAVA_INT_UNALIGNED, at, 0x0001EB9F);
                    dst.set(ValueLayout.JAVA_INT_UNALIGNED, at + 4, 24);
                    dst.set(ValueLayout.JAVA_INT_UNALIGNED, at + 12, claimed - 24);
                }
            }
        };
        var e = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> assertThrows(IllegalStateException.class, () -> BtfLocator.scan(lookAlikes, 0, size)));
        assertTrue(e.getMessage().startsWith("no kernel BTF found in memory of BTF headers: gave up at physical 0x")
                && e.getMessage().endsWith("give --btf FILE or --isf FILE"), e.getMessage());
    }
}
