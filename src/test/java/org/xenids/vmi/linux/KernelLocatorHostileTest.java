package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/** Memory that is not a healthy kernel: discovery ends quickly with a clear one-line reason. */
class KernelLocatorHostileTest {
    static final Path RAW = SharedData.plain("vmi/nokaslr-hidden.raw.xz");
    static final Path MAP = SharedData.file("vmi/System.map-6.1.0-56-amd64.xz");
    static final Duration BOUND = Duration.ofSeconds(20);

    @TempDir Path tmp;

    @Test
    void randomMemoryHasNoKernelPageTable() throws IOException {
        byte[] junk = new byte[16 << 20];
        new Random(7).nextBytes(junk);
        Path f = tmp.resolve("random.raw");
        Files.write(f, junk);
        try (PhysicalMemory m = MemorySources.open(f)) {
            var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(e.getMessage().startsWith("no x86-64 kernel page table found in raw image"), e.getMessage());
        }
    }

    @Test
    void selfReferencingPageTableIsWalkedBoundedlyAndRejected() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 512; i++) {
            b.putLong(0x200000 + 8 * i, 0x200000 | 3); // every entry: present, writable, → this page
        }
        Path f = tmp.resolve("loop.raw");
        Files.write(f, b.array());
        try (PhysicalMemory m = MemorySources.open(f)) {
            // It looks like a kernel root (maps itself inside a "kernel image"), but holds no kallsyms.
            var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(e.getMessage().startsWith("no kallsyms tables in raw image"), e.getMessage());
        }
    }

    @Test
    void memoryFullOfPageTableLookAlikesIsSearchedWithinABudget() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (int slot = 0; slot < 8; slot++) {
            b.putLong(0x80000 + 8 * slot, ((long) slot << 21) | 0x83); // one "kernel image" of 2 MiB pages
        }
        int roots = 0;
        for (int r = 0x100000; r + 0x2000 <= b.capacity(); r += 0x2000, roots++) {
            b.putLong(r + 511 * 8, (r + 0x1000) | 3);      // each root has its own PDPT...
            b.putLong(r + 0x1000 + 510 * 8, 0x80000 | 3);  // ...leading to the same image
        }
        Path f = tmp.resolve("lookalikes.raw");
        Files.write(f, b.array());
        try (PhysicalMemory m = MemorySources.open(f)) {
            var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(e.getMessage().startsWith("no x86-64 kernel page table found") && e.getMessage().contains("gave up"),
                    roots + " roots: " + e.getMessage());
        }
    }

    /**
     * Page tables that look like a kernel's, in the first 2 MiB of memory, which they map as a
     * "kernel image" at 0xffffffff80000000, at {@code base} (2 MiB-aligned) + 64 KiB: lower than
     * any real kernel's tables and any process's, the scan meets them first.
     */
    static byte[] lookAlikeTables(long base) {
        long p = base + 0x10000;
        ByteBuffer d = ByteBuffer.allocate(0x13000).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(0x10000 + 511 * 8, (p + 0x1000) | 3).putLong(0x10000 + 256 * 8, (p + 0x1000) | 3);
        d.putLong(0x11000 + 510 * 8, (p + 0x2000) | 3);
        d.putLong(0x12000, base | 0x83); // a 2 MiB page at base: the image holds its own root
        return d.array();
    }

    @Test
    void aKernelLookAlikeBelowTheKernelIsPassedOverWithOrWithoutTheCpusRegisters() {
        try (PhysicalMemory real = MemorySources.open(KernelLocatorTest.ELF)) {
            LinuxKernel k = KernelLocator.locate(real);
            PhysicalMemory withCpus = new OverlaidMemory(real, 0, lookAlikeTables(0), true);
            PhysicalMemory without = new OverlaidMemory(real, 0, lookAlikeTables(0), false);
            // With the registers, the kernel entry of the CPU's CR3 tables leads straight to the kernel's
            // tables; without them the look-alike is met first...
            assertEquals(k.pageTableRoot(), KernelPageTables.find(withCpus, false, java.util.Set.of()).root());
            assertEquals(0x10000, KernelPageTables.find(without, false, java.util.Set.of()).root());
            // ...and is passed over when it has no kallsyms.
            for (PhysicalMemory m : new PhysicalMemory[] {withCpus, without}) {
                LinuxKernel found = KernelLocator.locate(m);
                assertEquals(k.pageTableRoot(), found.pageTableRoot(), m.describe());
                assertEquals(k.textVirtual(), found.textVirtual());
            }
        }
    }

    @Test
    void aKernelLookAlikeWhoseChecksFaultIsPassedOver() throws IOException {
        // The look-alike's image (its 2 MiB page at physical 0, mapped at 0xffffffff80000000)
        // holds kallsyms tables that fit it (_text where its tables put it), but whose
        // page_offset_base lies where the look-alike maps nothing: reading it faults.
        long text = 0xffff_ffff_8000_0000L;
        int n = 1200;
        KallsymsImage syms = new KallsymsImage(n, 64 << 10, false, text,
                i -> i == 0 ? "_text" : i == n - 1 ? "page_offset_base" : KallsymsImage.name(i),
                i -> i == n - 1 ? 0x40_0000 : 16 * i);
        byte[] planted = Arrays.copyOf(lookAlikeTables(0), 0x14000 + syms.end);
        System.arraycopy(syms.bytes(), 0, planted, 0x14000, syms.end);
        try (PhysicalMemory real = MemorySources.open(KernelLocatorTest.ELF)) {
            LinuxKernel k = KernelLocator.locate(real);
            PhysicalMemory m = new OverlaidMemory(real, 0, planted, false);
            assertEquals(0x10000, KernelPageTables.find(m, false, java.util.Set.of()).root());
            LinuxKernel found = assertTimeoutPreemptively(BOUND, () -> KernelLocator.locate(m));
            assertEquals(k.pageTableRoot(), found.pageTableRoot());
            assertEquals(k.textVirtual(), found.textVirtual());
        }
        // Alone in memory, it ends discovery with one line naming the image and the fault.
        Path f = tmp.resolve("faulting-lookalike.raw");
        Files.write(f, Arrays.copyOf(planted, 16 << 20));
        try (PhysicalMemory alone = MemorySources.open(f)) {
            var e = assertThrows(IllegalStateException.class, () -> KernelLocator.locate(alone));
            assertTrue(e.getMessage().contains("(kernel image at physical 0x0): virtual address 0xffffffff80400000 is not mapped")
                    && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void kernelLookAlikesAreTriedUpToABound() throws IOException {
        byte[] mem = new byte[16 << 20];
        for (int i = 0; i < 6; i++) {
            byte[] t = lookAlikeTables((long) i << 21);
            System.arraycopy(t, 0, mem, i << 21, t.length);
        }
        Path f = tmp.resolve("lookalikes.raw");
        Files.write(f, mem);
        try (PhysicalMemory m = MemorySources.open(f)) {
            var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(e.getMessage().startsWith("no kallsyms tables in raw image") && e.getMessage().contains("(kernel image at physical 0x0)")
                    && e.getMessage().endsWith("(and " + (KernelLocator.MAX_IMAGES - 1) + " more kernel image look-alike(s) failed)"),
                    e.getMessage());
        }
    }

    /** Overwrites {@code len} bytes at the physical address of a kernel symbol in the nokaslr copy. */
    static void clobber(FileChannel ch, SymbolTable map, String symbol, long delta, int len, byte with) throws IOException {
        long phys = map.require(symbol) + delta - KernelLocatorTest.START_KERNEL_MAP; // nokaslr: phys_base 0
        byte[] b = new byte[len];
        Arrays.fill(b, with);
        ch.write(ByteBuffer.wrap(b), phys);
    }

    @Test
    void garbageInKallsymsFailsClearlyButASystemMapStillWorks() throws IOException {
        Path f = tmp.resolve("clobbered.raw");
        Files.copy(RAW, f);
        SymbolTable map = SymbolFile.read(MAP);
        try (PhysicalMemory m = MemorySources.open(f);
             FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            clobber(ch, map, "kallsyms_names", 0x10000, 64, (byte) 0xff);
            var names = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(names.getMessage().startsWith("no kallsyms tables in raw image")
                    && names.getMessage().contains("token table(s) but no valid offsets/names/markers"), names.getMessage());

            clobber(ch, map, "kallsyms_token_table", 0, 0x100, (byte) 'A');
            var tokens = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m)));
            assertTrue(tokens.getMessage().contains("no kallsyms_token_table with its index"), tokens.getMessage());

            LinuxKernel k = KernelLocator.locate(m, MAP);
            assertEquals(0x2a10000, k.pageTableRoot());
            assertTrue(k.banner().startsWith("Linux version 6.1.0-56-amd64"), k.banner());
        }
    }

    @Test
    void symbolFileOfAnotherBuildIsRejected() throws IOException {
        Path f = tmp.resolve("other.map");
        Files.writeString(f, """
                ffffffff81000000 T _text
                ffffffff82415740 D page_offset_base
                ffffffff82161a00 D linux_banner
                """);
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            var e = assertThrows(IllegalStateException.class, () -> KernelLocator.locate(m, f));
            assertTrue(e.getMessage().contains("does not hold a Linux banner") && e.getMessage().contains("other.map"),
                    e.getMessage());
        }
    }

    @Test
    void kallsymsFileWithHiddenAddressesIsRejected() throws IOException {
        Path f = tmp.resolve("kallsyms");
        Files.writeString(f, "0000000000000000 T _text\n0000000000000000 D linux_banner\n");
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            var e = assertThrows(IllegalArgumentException.class, () -> KernelLocator.locate(m, f));
            assertTrue(e.getMessage().contains("kptr_restrict"), e.getMessage());
        }
    }

    @Test
    void malformedSymbolFileLineIsNamedByFileAndLine() throws IOException {
        Path f = tmp.resolve("bad.map");
        Files.writeString(f, "ffffffff81000000 T _text\nnot a symbol line at all\n");
        var e = assertThrows(IllegalArgumentException.class, () -> SymbolFile.read(f));
        assertTrue(e.getMessage().contains("bad.map:2:"), e.getMessage());
        Path g = tmp.resolve("badaddr.map");
        Files.writeString(g, "zzzz T _text\n");
        var e2 = assertThrows(IllegalArgumentException.class, () -> SymbolFile.read(g));
        assertTrue(e2.getMessage().contains("badaddr.map:1: bad address"), e2.getMessage());
    }

    @Test
    void controlCharactersOfASymbolFileLineAreEscapedInTheMessage() throws IOException {
        Path f = tmp.resolve("escape.map");
        Files.writeString(f, "ffffffff81000000 T _text\n\u001b]0;owned\u0007 x\n", java.nio.charset.StandardCharsets.ISO_8859_1);
        var e = assertThrows(IllegalArgumentException.class, () -> SymbolFile.read(f));
        assertTrue(e.getMessage().endsWith("escape.map:2: not an 'address type name' line: \\x1b]0;owned\\x07 x"), e.getMessage());
    }

    @Test
    void aSymbolFileWithoutLineBreaksIsRefusedAtItsFirstLine() throws IOException {
        // 256 MiB of zeros (sparse), one line: read whole before any check saw it (3 GB ran the heap out).
        Path f = tmp.resolve("zeros.map");
        try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(256L << 20);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> SymbolFile.read(f));
        assertEquals("symbol file " + f + ": line 1 is longer than 4096 bytes", e.getMessage());
    }
}
