package org.xenids.vmi.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;

class MemorySourcesTest {
    static final Path RAW = SharedData.plain("vmi/nokaslr-hidden.raw.xz");
    static final Path ELF = SharedData.plain("vmi/kaslr-hidden.elf.xz");

    @TempDir Path tmp;

    static byte[] read(PhysicalMemory m, long paddr, int n) {
        byte[] b = new byte[n];
        m.read(paddr, MemorySegment.ofArray(b));
        return b;
    }

    static byte[] fileBytes(Path f, long off, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer b = ByteBuffer.allocate(n);
            ch.read(b, off);
            return b.array();
        }
    }

    @Test
    void rawImageIsOneRangeWherePhysicalAddressIsFileOffset() throws IOException {
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            assertEquals(List.of(new PhysicalMemory.Range(0, 256L << 20)), m.ranges());
            assertFalse(m.live());
            assertTrue(m.describe().startsWith("raw image"), m.describe());
            assertArrayEquals(fileBytes(RAW, 0x1000000, 4096), read(m, 0x1000000, 4096));
            assertArrayEquals(fileBytes(RAW, (256L << 20) - 16, 16), read(m, (256L << 20) - 16, 16));
        }
    }

    @Test
    void readPastEndOfRamFailsNamingFirstMissingAddress() {
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            MemoryFault f = assertThrows(MemoryFault.class, () -> read(m, (256L << 20) - 8, 16));
            assertEquals(256L << 20, f.address());
            assertTrue(f.getMessage().contains("0x10000000"), f.getMessage());
        }
    }

    @Test
    void qemuElfCoreHasRamAndBiosRangesAndTheCpuControlRegisters() throws IOException {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            assertEquals(List.of(new PhysicalMemory.Range(0, 0x10000000L),
                    new PhysicalMemory.Range(0xfffc0000L, 0x40000)), m.ranges());
            // The first PT_LOAD's bytes start at file offset 0x498 (readelf -l).
            assertArrayEquals(fileBytes(ELF, 0x498 + 0x2000000, 64), read(m, 0x2000000, 64));
            assertArrayEquals(fileBytes(ELF, 0x10000498L + 0x100, 32), read(m, 0xfffc0100L, 32));
            assertEquals(1, m.cpuStates().size());
            CpuState cpu = m.cpuStates().getFirst();
            assertTrue(cpu.paging(), "CR0.PG");
            assertFalse(cpu.la57(), "guest ran 4-level paging");
            assertEquals(0, cpu.pageTableRoot() & 0xfff);
            assertTrue(cpu.pageTableRoot() > 0 && cpu.pageTableRoot() < 0x10000000L,
                    Long.toHexString(cpu.cr3()));
            // The guest was stopped in the kernel (idle or syscall): RIP is a kernel address.
            assertTrue(cpu.rip() < 0, Long.toHexString(cpu.rip()));
        }
    }

    @Test
    void readIntoTheHoleBetweenElfRangesFailsAtTheHole() {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            MemoryFault f = assertThrows(MemoryFault.class, () -> read(m, 0x10000000L - 4, 8));
            assertEquals(0x10000000L, f.address());
            assertThrows(MemoryFault.class, () -> read(m, 0x80000000L, 1));
        }
    }

    // ---- synthetic hostile files ----

    /** A minimal ELF64 core: header, {@code phdrs} program headers (type, offset, paddr, filesz). */
    static ByteBuffer elf(int size, long[][] phdrs) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 4).putShort(18, (short) 62).putLong(0x20, 64)
                .putShort(0x36, (short) 56).putShort(0x38, (short) phdrs.length);
        for (int i = 0; i < phdrs.length; i++) {
            int ph = 64 + 56 * i;
            b.putInt(ph, (int) phdrs[i][0]).putLong(ph + 8, phdrs[i][1]).putLong(ph + 24, phdrs[i][2])
                    .putLong(ph + 32, phdrs[i][3]).putLong(ph + 40, phdrs[i][3]);
        }
        return b;
    }

    Path write(String name, ByteBuffer b) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    @Test
    void truncatedElfHeaderFailsNamingTheFile() throws IOException {
        Path f = write("trunc.elf", ByteBuffer.wrap(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0}));
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("trunc.elf") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void ptLoadPastEndOfFileFailsNamingHeaderAndOffset() throws IOException {
        Path f = write("past.elf", elf(4096, new long[][] {{1, 0x1000, 0, 0x100000}}));
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("past.elf") && e.getMessage().contains("offset 0x1000")
                && e.getMessage().contains("past end of file"), e.getMessage());
    }

    @Test
    void programHeadersPastEndOfFileFail() throws IOException {
        ByteBuffer b = elf(128, new long[][] {});
        b.putShort(0x38, (short) 1000);
        Path f = write("phdrs.elf", b);
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("1000 program headers"), e.getMessage());
    }

    @Test
    void noteRunningPastItsSegmentFailsNamingOffset() throws IOException {
        ByteBuffer b = elf(4096, new long[][] {{4, 0x200, 0, 0x20}, {1, 0x1000, 0, 0x1000}});
        b.putInt(0x200, 5).putInt(0x204, 0x1000).putInt(0x208, 0); // desc far larger than the note segment
        Path f = write("note.elf", b);
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("offset 0x200") && e.getMessage().contains("PT_NOTE"), e.getMessage());
    }

    @Test
    void overlappingPtLoadsAreRejected() throws IOException {
        Path f = write("overlap.elf", elf(0x3000, new long[][] {{1, 0x1000, 0, 0x1000}, {1, 0x2000, 0x800, 0x1000}}));
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
    }

    static ByteBuffer lime(long[][] ranges, byte fill) {
        int size = 0;
        for (long[] r : ranges) {
            size += 32 + (int) (r[1] - r[0] + 1);
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 0;
        for (long[] r : ranges) {
            b.putInt(pos, 0x4C694D45).putInt(pos + 4, 1).putLong(pos + 8, r[0]).putLong(pos + 16, r[1]);
            int len = (int) (r[1] - r[0] + 1);
            for (int i = 0; i < len; i++) {
                b.put(pos + 32 + i, (byte) (fill + (i >> 8)));
            }
            pos += 32 + len;
        }
        return b;
    }

    @Test
    void limeRangesMapToTheirDataAndTheGapIsAHole() throws IOException {
        Path f = write("two.lime", lime(new long[][] {{0x1000, 0x2fff}, {0x10000, 0x10fff}}, (byte) 1));
        try (PhysicalMemory m = MemorySources.open(f)) {
            assertEquals(List.of(new PhysicalMemory.Range(0x1000, 0x2000), new PhysicalMemory.Range(0x10000, 0x1000)),
                    m.ranges());
            assertEquals(1 + 0x10, read(m, 0x2000, 1)[0]);
            assertEquals(1, read(m, 0x10000, 1)[0]);
            MemoryFault fault = assertThrows(MemoryFault.class, () -> read(m, 0x2ff0, 0x20));
            assertEquals(0x3000, fault.address());
        }
    }

    @Test
    void limeRangeLongerThanTheFileFailsNamingOffset() throws IOException {
        ByteBuffer b = lime(new long[][] {{0, 0xfff}, {0x100000, 0x100fff}}, (byte) 0);
        Path f = write("short.lime", ByteBuffer.wrap(java.util.Arrays.copyOf(b.array(), b.capacity() - 1)));
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
        assertTrue(e.getMessage().contains("offset 0x1020") && e.getMessage().contains("file ends"), e.getMessage());
    }

    @Test
    void limeWithBadSecondHeaderFailsNamingOffset() throws IOException {
        ByteBuffer b = lime(new long[][] {{0, 0xfff}, {0x100000, 0x100fff}}, (byte) 0);
        b.putInt(0x1020 + 4, 7);
        var e = assertThrows(IllegalArgumentException.class, () -> MemorySources.open(write("v.lime", b)));
        assertTrue(e.getMessage().contains("version 7 at offset 0x1020"), e.getMessage());
    }

    @Test
    void emptyFileIsRejected() throws IOException {
        Path f = write("empty.raw", ByteBuffer.allocate(0));
        assertThrows(IllegalArgumentException.class, () -> MemorySources.open(f));
    }

    @Test
    void qemuSplitsLargeRamAroundThePciHole() {
        long gib = 1L << 30;
        assertEquals(List.of(new PhysicalMemory.Range(0, 256L << 20)),
                MemorySources.liveLayout(256L << 20, MemorySources.Machine.PC));
        assertEquals(List.of(new PhysicalMemory.Range(0, 3 * gib + gib / 4)),
                MemorySources.liveLayout(3 * gib + gib / 4, MemorySources.Machine.PC));
        assertEquals(List.of(new PhysicalMemory.Range(0, 3 * gib), new PhysicalMemory.Range(4 * gib, gib)),
                MemorySources.liveLayout(4 * gib, MemorySources.Machine.PC));
        assertEquals(List.of(new PhysicalMemory.Range(0, 2 * gib + gib / 2)),
                MemorySources.liveLayout(2 * gib + gib / 2, MemorySources.Machine.Q35));
        assertEquals(List.of(new PhysicalMemory.Range(0, 2 * gib), new PhysicalMemory.Range(4 * gib, gib)),
                MemorySources.liveLayout(3 * gib, MemorySources.Machine.Q35));
    }

    @Test
    void liveRamFileAboveFourGibIsReadFromAfterTheLowPartAndSeesChanges() throws IOException {
        long gib = 1L << 30;
        Path f = tmp.resolve("guest.ram");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(4 * gib + gib / 2); // sparse: a 4.5 GiB guest on a pc machine
        }
        try (PhysicalMemory m = MemorySources.openLive(f, MemorySources.Machine.PC);
             FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            assertTrue(m.live());
            assertEquals(List.of(new PhysicalMemory.Range(0, 3 * gib), new PhysicalMemory.Range(4 * gib, 3 * gib / 2)),
                    m.ranges());
            assertEquals(0, read(m, 4 * gib + 0x1234, 1)[0]);
            // Written after mapping, as a running guest would: file offset 3 GiB + x is physical 4 GiB + x.
            ch.write(ByteBuffer.wrap(new byte[] {42}), 3 * gib + 0x1234);
            assertEquals(42, read(m, 4 * gib + 0x1234, 1)[0]);
            MemoryFault hole = assertThrows(MemoryFault.class, () -> read(m, 3 * gib + 5, 1));
            assertEquals(3 * gib + 5, hole.address());
        }
    }
}
