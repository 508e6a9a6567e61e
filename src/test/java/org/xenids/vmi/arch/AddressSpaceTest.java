package org.xenids.vmi.arch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/** Hand-built page tables in a small RAM file: every entry kind and every way a walk can fail. */
class AddressSpaceTest {
    static final long P = 1;
    static final long RW = 2;
    static final long PS = 1L << 7;
    static final long NX = 1L << 63;

    static final long A = 0xffff888000001234L;       // 4 KiB page
    static final long B = 0xffff888000205678L;       // 2 MiB page
    static final long C = 0xffff888040012345L;       // 1 GiB page
    static final long ABSENT = 0xffff888000400000L;  // PD entry 2 not present
    static final long BROKEN = 0xffff888000600000L;  // PD entry 3 points at a table outside RAM
    static final long INTO_HOLE = 0xffff888000002000L; // PTE 2 maps a page outside RAM
    static final long FIVE = 0xff11000000001000L;    // 5-level direct-map address

    @TempDir Path tmp;
    Path ram;
    ByteBuffer image;

    void entry(long table, int index, long value) {
        image.putLong((int) (table + index * 8L), value);
    }

    @BeforeEach
    void build() throws IOException {
        image = ByteBuffer.allocate(0x400000).order(ByteOrder.LITTLE_ENDIAN); // 4 MiB of RAM
        entry(0x1000, 0x111, 0x2000 | P | RW);                // PML4 → PDPT
        entry(0x1000, 0, 0x1000 | P);                         // PML4[0] → itself
        entry(0x2000, 0, 0x3000 | P | RW);                    // PDPT → PD
        entry(0x2000, 1, 0x80000000L | P | PS | NX);          // 1 GiB page
        entry(0x3000, 0, 0x4000 | P | RW);                    // PD → PT
        entry(0x3000, 1, 0x200000 | P | PS);                  // 2 MiB page
        entry(0x3000, 3, 0x7fff0000L | P);                    // table outside RAM
        entry(0x4000, 1, 0x9000 | P | NX);
        entry(0x4000, 2, 0x7ff00000L | P);                    // page outside RAM
        entry(0x4000, 5, 0xb000 | P);
        entry(0x4000, 6, 0x6000 | P);
        entry(0x10000, 0x111, 0x11000 | P);                   // PML5 → PML4
        entry(0x11000, 0, 0x12000 | P);
        entry(0x12000, 0, 0x13000 | P);
        entry(0x13000, 0, 0x14000 | P);
        entry(0x14000, 1, 0x15000 | P);
        for (int i = 0; i < 0x1000; i++) {
            image.put(0xb000 + i, (byte) i);
            image.put(0x6000 + i, (byte) (0x80 + i));
        }
        ram = tmp.resolve("ram");
        Files.write(ram, image.array());
    }

    @Test
    void fourLevelTranslatesSmallLargeAndHugePages() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000 | 0x18, false); // CR3 flag bits ignored
            assertEquals(0x1000, s.dtb());
            assertEquals(0x9234, s.translate(A));
            assertEquals(0x205678, s.translate(B));
            assertEquals(0x80012345L, s.translate(C));
        }
    }

    @Test
    void fiveLevelWalksOneMoreTableAndWidensCanonicalAddresses() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace five = AddressSpace.x86_64(m, 0x10000, true);
            assertEquals(0x15000, five.translate(FIVE));
            AddressSpace four = AddressSpace.x86_64(m, 0x1000, false);
            MemoryFault f = assertThrows(MemoryFault.class, () -> four.translate(FIVE));
            assertTrue(f.getMessage().contains("non-canonical"), f.getMessage());
        }
    }

    @Test
    void notPresentAndNonCanonicalFailNamingTheVirtualAddress() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            MemoryFault f = assertThrows(MemoryFault.class, () -> s.translate(ABSENT));
            assertEquals(ABSENT, f.address());
            assertTrue(f.getMessage().contains("0xffff888000400000") && f.getMessage().contains("not mapped"), f.getMessage());
            assertEquals(-1, s.tryTranslate(ABSENT));
            long bad = 0x0000800000000000L;
            MemoryFault nc = assertThrows(MemoryFault.class, () -> s.u64(bad));
            assertEquals(bad, nc.address());
            assertTrue(nc.getMessage().contains("non-canonical"), nc.getMessage());
            assertEquals(-1, s.tryTranslate(bad));
        }
    }

    @Test
    void tableOutsideRamFailsEvenForTryTranslate() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            MemoryFault f = assertThrows(MemoryFault.class, () -> s.tryTranslate(BROKEN));
            assertEquals(BROKEN, f.address());
            assertTrue(f.getMessage().contains("page-table entry at physical 0x7fff0000"), f.getMessage());
            MemoryFault root = assertThrows(MemoryFault.class,
                    () -> AddressSpace.x86_64(m, 0x40000000L, false).translate(A));
            assertTrue(root.getMessage().contains("outside RAM"), root.getMessage());
        }
    }

    @Test
    void readOfAPageMappedOutsideRamFailsNamingTheVirtualAddress() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            assertEquals(0x7ff00000L, s.translate(INTO_HOLE));
            MemoryFault f = assertThrows(MemoryFault.class, () -> s.u32(INTO_HOLE));
            assertEquals(INTO_HOLE, f.address());
            assertTrue(f.getMessage().contains("not RAM"), f.getMessage());
        }
    }

    @Test
    void selfReferencingTableEndsAfterFourLevels() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            // PML4[0] → PML4: the walk reads the same page as PDPT, PD and PT, then stops.
            assertEquals(0x1000, s.translate(0));
            assertEquals(1, s.pageWalks());
            AddressSpace five = AddressSpace.x86_64(m, 0x1000, true);
            assertEquals(0x1000, five.translate(0));
        }
    }

    @Test
    void readsCrossingAPageBoundaryFollowEachPage() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            long va = 0xffff888000005ff8L;
            byte[] got = new byte[16];
            s.read(va, MemorySegment.ofArray(got));
            byte[] want = new byte[16];
            System.arraycopy(image.array(), 0xbff8, want, 0, 8);
            System.arraycopy(image.array(), 0x6000, want, 8, 8);
            assertArrayEquals(want, got);
            assertEquals(image.getLong(0xbff8), s.u64(va));
            assertEquals(Byte.toUnsignedInt(image.get(0x6000)), s.u8(va + 8));
        }
    }

    @Test
    void cachedTranslationsStayUntilInvalidated() throws IOException {
        try (PhysicalMemory m = MemorySources.openLive(ram, MemorySources.Machine.PC);
             FileChannel ch = FileChannel.open(ram, StandardOpenOption.WRITE)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            assertEquals(0x9234, s.translate(A));
            assertEquals(0x9235, s.translate(A + 1));
            assertEquals(1, s.cacheHits());
            ByteBuffer pte = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 0xa000 | P);
            ch.write(pte, 0x4000 + 8);      // the guest remaps the page
            assertEquals(0x9234, s.translate(A));
            s.invalidate();
            assertEquals(0xa234, s.translate(A));
        }
    }

    @Test
    void cStringStopsAtNulOrMax() {
        try (PhysicalMemory m = MemorySources.open(ram)) {
            AddressSpace s = AddressSpace.x86_64(m, 0x1000, false);
            // Page 0xb000 holds bytes 0,1,2,...: a string of length 0 at its start.
            assertEquals("", s.cString(0xffff888000005000L, 8));
            assertEquals(3, s.cString(0xffff888000005001L, 3).length());
        }
    }
}
