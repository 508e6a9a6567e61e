package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * The real nokaslr kernel turned into a 5-level one: a PML5 page placed inside the image with
 * its last entry pointing at init_top_pgt (which then serves as the kernel's P4D, exactly as
 * level4_kernel_pgt does under LA57) and __pgtable_l5_enabled set. Discovery must take the
 * PML5, not the 4-level-looking table below it.
 */
class FiveLevelTest {
    static final Path RAW = SharedData.plain("vmi/nokaslr-hidden.raw.xz");
    static final Path MAP = SharedData.file("vmi/System.map-6.1.0-56-amd64.xz");

    @TempDir Path tmp;

    @Test
    void pml5AboveTheKernelsTablesIsFoundAsTheFiveLevelRoot() throws IOException {
        Path f = tmp.resolve("l5.raw");
        Files.copy(RAW, f);
        SymbolTable map = SymbolFile.read(MAP);
        long text = map.require("_text");
        long init = map.require("init_task");
        try (PhysicalMemory m = MemorySources.open(f);
             FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            AddressSpace four = AddressSpace.x86_64(m, 0x2a10000, false);
            long pml5 = zeroPageInBss(m, four, map);
            ByteBuffer page = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            page.putLong(511 * 8, 0x2a10000L | 0x63);
            page.putLong(300 * 8, 0x2a10000L | 0x63);
            ch.write(page, pml5);
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1),
                    four.translate(map.require("__pgtable_l5_enabled")));

            LinuxKernel k = KernelLocator.locate(m);
            assertTrue(k.fiveLevel());
            assertEquals(pml5, k.pageTableRoot());
            assertEquals(text, k.textVirtual());
            assertEquals(0xffff888000000000L, k.pageOffsetBase());
            assertEquals(four.translate(init), k.kernel().translate(init));
            assertTrue(k.banner().startsWith("Linux version 6.1.0-56-amd64"), k.banner());
        }
    }

    /** A page of zeros in .bss, mapped at its linear kernel-image address. */
    static long zeroPageInBss(PhysicalMemory m, AddressSpace four, SymbolTable map) {
        byte[] b = new byte[4096];
        for (long va = (map.require("__bss_start") + 0xfff) & ~0xfffL; va < map.require("__bss_stop"); va += 4096) {
            long pa = four.tryTranslate(va);
            if (pa != va - 0xffffffff80000000L) {
                continue;
            }
            m.read(pa, MemorySegment.ofArray(b));
            boolean zero = true;
            for (byte x : b) {
                zero &= x == 0;
            }
            if (zero) {
                return pa;
            }
        }
        throw new IllegalStateException("no zero page in .bss");
    }
}
