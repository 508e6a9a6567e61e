package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BtfTest {

    @Test
    void kernelBtfFromTheImageGivesTaskStructLayout() {
        byte[] blob = NokaslrImage.btfBytes();
        assertEquals(4_359_789, blob.length);
        Btf btf = Btf.parse(ByteBuffer.wrap(blob), "test");
        assertEquals(blob.length, btf.length());
        // Values cross-checked with the ISF produced by dwarf2json from the same kernel's DWARF.
        assertEquals(2192, btf.offset("task_struct.tasks"));
        assertEquals(2416, btf.offset("task_struct.pid"));
        assertEquals(2976, btf.offset("task_struct.comm"));
        assertEquals(16, btf.member("task_struct.comm").size());
        assertEquals(9792, btf.sizeOf("task_struct"));
        assertEquals(2528 + 16, btf.offset("task_struct.pid_links[1]"));
        assertEquals(96, btf.offset("pid.numbers[0]"));
        assertEquals(96, btf.offset("pid.numbers[0].nr"));
        assertEquals(8, btf.offset("pid_namespace.idr.idr_rt.xa_head"));
    }

    @Test
    void btfIsFoundByScanningPhysicalMemoryWithoutSymbols() {
        LinuxKernel k = KernelLocator.locate(NokaslrImage.memory());
        Btf viaScan = BtfLocator.scan(NokaslrImage.memory(), k.textPhysical(), k.imageSize());
        assertTrue(viaScan != null);
        // Where System.map puts it: __start_BTF..__stop_BTF, the nokaslr text at phys_base 0.
        long start = NokaslrImage.symbols().require("__start_BTF");
        assertEquals(NokaslrImage.symbols().require("__stop_BTF") - start, viaScan.length());
        assertTrue(viaScan.source().contains("physical 0x" + Long.toHexString(start - NokaslrImage.KERNEL_MAP)),
                viaScan.source());
        assertEquals(2192, viaScan.offset("task_struct.tasks"));
    }

    @Test
    void anonymousUnionMembersAreFoundAsInC() {
        Btf btf = Btf.parse(ByteBuffer.wrap(NokaslrImage.btfBytes()), "test");
        // xa_node.{private_list, rcu_head (a macro for callback_head)} live in an anonymous union at offset 24.
        assertEquals(24, btf.offset("xa_node.private_list"));
        assertEquals(24, btf.offset("xa_node.callback_head"));
        assertEquals(40, btf.offset("xa_node.slots[0]"));
        assertEquals(48, btf.offset("xa_node.slots[1]"));
    }

    @Test
    void bitfieldsReportBitOffsetAndWidth() {
        Btf btf = Btf.parse(ByteBuffer.wrap(NokaslrImage.btfBytes()), "test");
        KernelTypes.Member m = btf.member("task_struct.sched_reset_on_fork");
        assertTrue(m.bitfield());
        assertEquals(1, m.bitSize());
    }

    @Test
    void unknownMemberErrorNamesPathAndSource() {
        Btf btf = Btf.parse(ByteBuffer.wrap(NokaslrImage.btfBytes()), "BTF test blob");
        var e = assertThrows(IllegalArgumentException.class, () -> btf.member("task_struct.no_such_field"));
        assertTrue(e.getMessage().contains("task_struct.no_such_field"), e.getMessage());
        assertTrue(e.getMessage().contains("BTF test blob"), e.getMessage());
        assertFalse(btf.has("no_such_struct.x"));
        assertThrows(IllegalArgumentException.class, () -> btf.member("pid.numbers[x]"));
    }

    @Test
    void aTypeNameWithALineBreakIsShownEscapedOnOneLine() {
        byte[] blob = MiniBtf.blob();
        byte[] name = "list_head\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = indexOf(blob, name);
        blob[at + 4] = '\n'; // struct "list\nhead", as a guest's BTF may name it
        Btf btf = Btf.parse(ByteBuffer.wrap(blob), "mini");
        var e = assertThrows(IllegalArgumentException.class, () -> btf.member("task_struct.tasks.nope"));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains("no member 'nope' in struct list\\x0ahead (mini)"), e.getMessage());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not in the blob");
    }

    @Test
    void truncatedBlobFailsNamingOriginAndOffset() {
        byte[] blob = NokaslrImage.btfBytes();
        byte[] cut = Arrays.copyOf(blob, blob.length / 2);
        var e = assertThrows(IllegalArgumentException.class, () -> Btf.parse(ByteBuffer.wrap(cut), "cut.btf"));
        assertTrue(e.getMessage().startsWith("cut.btf at offset "), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        var h = assertThrows(IllegalArgumentException.class, () -> Btf.parse(ByteBuffer.wrap(new byte[10]), "tiny"));
        assertTrue(h.getMessage().contains("truncated BTF header"), h.getMessage());
    }

    @Test
    void overlongOrUnterminatedNamesAreRefusedNotScanned() {
        ByteBuffer t = ByteBuffer.allocate(12 + 12).order(ByteOrder.LITTLE_ENDIAN);
        t.putInt(1).putInt(Btf.STRUCT << 24 | 1).putInt(4);
        t.putInt(1).putInt(0).putInt(0);
        byte[] strs = new byte[1 + 5000 + 1];
        Arrays.fill(strs, 1, 5001, (byte) 'x');
        var e = assertThrows(IllegalArgumentException.class, () -> Btf.parse(ByteBuffer.wrap(BtfBuilder.blob(t.array(), strs)), "long"));
        assertTrue(e.getMessage().contains("longer than 1024"), e.getMessage());
        byte[] open = Arrays.copyOf(strs, 100);
        var u = assertThrows(IllegalArgumentException.class, () -> Btf.parse(ByteBuffer.wrap(BtfBuilder.blob(t.array(), open)), "open"));
        assertTrue(u.getMessage().contains("does not end with a NUL"), u.getMessage());
    }

    /** Thirty structs of three anonymous members of the next one's type: 3^30 paths to search unbounded. */
    @Test
    void anonymousMembersSharingTypesAreSearchedWithinABound() {
        int levels = 30;
        ByteBuffer t = ByteBuffer.allocate(levels * (12 + 3 * 12) + 12).order(ByteOrder.LITTLE_ENDIAN);
        for (int id = 1; id <= levels; id++) {
            t.putInt(id == 1 ? 1 : 0).putInt(Btf.UNION << 24 | 3).putInt(8); // id 1 is "task_struct", the rest anonymous
            for (int m = 0; m < 3; m++) {
                t.putInt(0).putInt(id + 1).putInt(0);
            }
        }
        t.putInt(0).putInt(Btf.UNION << 24).putInt(8); // the last level: no members
        byte[] strs = "\0task_struct\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Btf btf = Btf.parse(ByteBuffer.wrap(BtfBuilder.blob(t.array(), strs)), "shared");
        var e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> assertThrows(IllegalArgumentException.class, () -> btf.member("task_struct.pid")));
        assertTrue(e.getMessage().startsWith("shared: more than 1048576 members to search for 'pid'"), e.getMessage());
    }

    @Test
    void typedefLoopIsReportedNotFollowedForever() {
        // Two typedefs referring to each other, and a struct whose member has that type.
        ByteBuffer t = ByteBuffer.allocate(12 + 12 + 12 + 12).order(ByteOrder.LITTLE_ENDIAN);
        t.putInt(1).putInt(Btf.TYPEDEF << 24).putInt(2);   // id 1: typedef "a" -> 2
        t.putInt(3).putInt(Btf.TYPEDEF << 24).putInt(1);   // id 2: typedef "b" -> 1
        t.putInt(5).putInt(Btf.STRUCT << 24 | 1).putInt(8); // id 3: struct "s" { a m; }
        t.putInt(7).putInt(1).putInt(0);
        byte[] strs = "\0a\0b\0s\0m\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] blob = BtfBuilder.blob(t.array(), strs);
        Btf btf = Btf.parse(ByteBuffer.wrap(blob), "loop");
        var e = assertThrows(IllegalArgumentException.class, () -> btf.member("s.m"));
        assertTrue(e.getMessage().contains("loop"), e.getMessage());
    }

    @Test
    void btfFileAndElfSectionLoad(@TempDir Path dir) throws IOException {
        byte[] blob = NokaslrImage.btfBytes();
        Path raw = dir.resolve("vmlinux.btf");
        Files.write(raw, blob);
        KernelTypes a = KernelTypes.fromBtf(raw);
        assertEquals(2192, a.offset("task_struct.tasks"));
        Path elf = dir.resolve("vmlinux");
        Files.write(elf, BtfBuilder.elfWithSection(".BTF", blob));
        KernelTypes b = KernelTypes.fromBtf(elf);
        assertEquals(2192, b.offset("task_struct.tasks"));
        assertTrue(b.source().contains(".BTF section"), b.source());
    }
}
