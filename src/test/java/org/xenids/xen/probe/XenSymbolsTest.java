package org.xenids.xen.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XenSymbolsTest {
    static final Path MAP = debianXen("/usr/lib/debug/boot/xen-syms-4.17-amd64.map");
    static final Path SYMS = debianXen("/usr/lib/debug/boot/xen-syms-4.17-amd64");
    static final Path XEN = debianXen("/boot/xen-4.17-amd64.gz");

    /**
     * A file of Debian's Xen 4.17 packages: installed, or unpacked by {@code scripts/install-test-deps}
     * under {@code ${XDG_CACHE_HOME:-~/.cache}/xenids/xen-4.17}.
     */
    static Path debianXen(String path) {
        Path installed = Path.of(path);
        String cache = System.getenv("XDG_CACHE_HOME");
        Path unpacked = Path.of(cache != null && !cache.isEmpty() ? cache : System.getProperty("user.home") + "/.cache",
                "xenids", "xen-4.17", path.substring(1));
        return Files.exists(installed) || !Files.exists(unpacked) ? installed : unpacked;
    }

    @Test
    void debianHypervisorAndItsDebugSymbolsShareOneBuildId() throws IOException {
        assumeTrue(Files.exists(MAP) && Files.exists(XEN), "xen-hypervisor-4.17-amd64(-dbg) neither installed nor unpacked (scripts/install-test-deps)");
        XenSymbols s = XenSymbols.load(MAP, SYMS);
        assertEquals(40, s.buildId.length());
        assertEquals(s.buildId, XenSymbols.buildId(XEN));   // gzip, 32-bit multiboot ELF
        assertTrue(s.size() > 5000);
        assertEquals(0xffff82d040000000L, s.address("__image_base__"));
        assertTrue(s.address("do_grant_table_op") > s.address("_stext"));
    }

    @Test
    void mismatchedBuildIdsAreRefusedNamingBoth() {
        IOException e = assertThrows(IOException.class, () -> XenSymbols.requireSameBuild("aa", "running", "bb"));
        assertTrue(e.getMessage().contains("aa") && e.getMessage().contains("bb"), e.getMessage());
    }

    @Test
    void malformedMapLineFailsNamingFileAndLine(@TempDir Path dir) throws IOException {
        Path map = dir.resolve("x.map");
        Files.writeString(map, "0xffff82d040000000 T start\n0xzz T broken\n");
        Path elf = dir.resolve("x.elf");
        Files.write(elf, elf64WithNote(new byte[] {1, 2, 3, 4}));
        IOException e = assertThrows(IOException.class, () -> XenSymbols.load(map, elf));
        assertEquals(map + ": line 2: bad address '0xzz'", e.getMessage());
        assertThrows(IOException.class, () -> XenSymbols.load(dir.resolve("x.map"), elf).address("nope"));
    }

    @Test
    void buildIdIsReadFromTheNoteSegment() throws IOException {
        assertEquals("01020304", XenSymbols.buildId("t", elf64WithNote(new byte[] {1, 2, 3, 4})));
    }

    @Test
    void truncatedOrLyingElfFailsNamingTheOffset() {
        byte[] good = elf64WithNote(new byte[] {1, 2, 3, 4});
        IOException a = assertThrows(IOException.class, () -> XenSymbols.buildId("t", java.util.Arrays.copyOf(good, 100)));
        assertTrue(a.getMessage().startsWith("t: offset"), a.getMessage());
        byte[] lying = good.clone();
        ByteBuffer.wrap(lying).order(ByteOrder.LITTLE_ENDIAN).putInt(120 + 4, 1 << 30);
        IOException b = assertThrows(IOException.class, () -> XenSymbols.buildId("t", lying));
        assertTrue(b.getMessage().contains("note runs past its segment"), b.getMessage());
        assertThrows(IOException.class, () -> XenSymbols.buildId("t", new byte[64]));
    }

    @Test
    void offsetsWhoseSumOverflowsAreOutsideTheFile() {
        // Each offset and size is positive; their sum wraps past 2^63 to a negative number.
        byte[] headers = elf64WithNote(new byte[] {1, 2, 3, 4});
        ByteBuffer.wrap(headers).order(ByteOrder.LITTLE_ENDIAN).putLong(32, Long.MAX_VALUE - 10);
        IOException h = assertThrows(IOException.class, () -> XenSymbols.buildId("t", headers));
        assertTrue(h.getMessage().contains("program headers outside the file"), h.getMessage());
        byte[] note = elf64WithNote(new byte[] {1, 2, 3, 4});
        ByteBuffer.wrap(note).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 8, 1L << 62).putLong(64 + 32, 1L << 62);
        IOException n = assertThrows(IOException.class, () -> XenSymbols.buildId("t", note));
        assertTrue(n.getMessage().equals("t: offset 64: note segment outside the file"), n.getMessage());
        // The same in the PT_LOAD segments code is read from: no segment holds the address.
        byte[] load = elf64WithNote(new byte[] {1, 2, 3, 4});
        ByteBuffer.wrap(load).order(ByteOrder.LITTLE_ENDIAN).putInt(64, 1).putLong(64 + 16, 0x1000)
                .putLong(64 + 8, 1L << 62).putLong(64 + 32, 1L << 62);
        assertEquals(0, XenSymbols.code(load, 0x1000, 16).length);
        ByteBuffer.wrap(load).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 8, 0).putLong(64 + 32, 64);
        assertEquals(16, XenSymbols.code(load, 0x1000, 16).length); // a segment in the file does
        ByteBuffer.wrap(load).order(ByteOrder.LITTLE_ENDIAN).putLong(32, Long.MAX_VALUE - 10);
        assertEquals(0, XenSymbols.code(load, 0x1000, 16).length);
    }

    /** A minimal ELF64: header, one PT_NOTE program header at 64, the note at 120. */
    static byte[] elf64WithNote(byte[] id) {
        int noteSize = 12 + 4 + id.length;
        ByteBuffer b = ByteBuffer.allocate(120 + noteSize).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putLong(32, 64).putShort(54, (short) 56).putShort(56, (short) 1);
        b.putInt(64, 4).putLong(64 + 8, 120).putLong(64 + 32, noteSize);
        b.putInt(120, 4).putInt(124, id.length).putInt(128, 3);
        b.put(132, new byte[] {'G', 'N', 'U', 0}).put(136, id);
        return b.array();
    }
}
