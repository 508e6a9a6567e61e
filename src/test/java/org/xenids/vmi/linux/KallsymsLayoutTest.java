package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Linux 6.4 reordered the kallsyms tables (offsets and relative_base after the token index).
 * The real 6.1 tables, rearranged in place into that order, must decode to the same symbols.
 */
class KallsymsLayoutTest {
    static final Path RAW = SharedData.plain("vmi/nokaslr-hidden.raw.xz");
    static final Path MAP = SharedData.file("vmi/System.map-6.1.0-56-amd64.xz");

    @Test
    void tablesInTheLinux64OrderDecodeToTheSameSymbols() {
        SymbolTable map = SymbolFile.read(MAP);
        long text = map.require("_text");
        byte[] img = new byte[40 << 20];
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            m.read(text - 0xffffffff80000000L, MemorySegment.ofArray(img)); // nokaslr: phys_base 0
        }
        int offsets = (int) (map.require("kallsyms_offsets") - text);
        int relativeBase = (int) (map.require("kallsyms_relative_base") - text);
        int numSyms = (int) (map.require("kallsyms_num_syms") - text);
        int names = (int) (map.require("kallsyms_names") - text);
        int markers = (int) (map.require("kallsyms_markers") - text);
        int tokenTable = (int) (map.require("kallsyms_token_table") - text);
        int tokenIndex = (int) (map.require("kallsyms_token_index") - text);
        ByteBuffer in = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        int n = in.getInt(numSyms);

        byte[] moved = img.clone();
        ByteBuffer out = ByteBuffer.wrap(moved).order(ByteOrder.LITTLE_ENDIAN);
        Arrays.fill(moved, offsets, tokenIndex + 512, (byte) 0);
        int pos = offsets;
        out.putInt(pos, n);
        pos += 8;
        pos = copy(img, names, markers - names, moved, pos);
        pos = align8(copy(img, markers, 4 * ((n + 255) / 256), moved, pos));
        pos = copy(img, tokenTable, tokenIndex - tokenTable, moved, pos);
        pos = align8(copy(img, tokenIndex, 512, moved, pos));
        pos = align8(copy(img, offsets, 4 * n, moved, pos));
        out.putLong(pos, in.getLong(relativeBase));

        // A real kernel's search stays far inside the limits on hostile memory: 1.6 M steps and
        // 2.4 MiB of names for 6.1's 94k symbols, against 128 M and 64 MiB.
        SymbolTable original = Kallsyms.find(img, text, "6.1 order", 2L << 20, 3 << 20);
        SymbolTable reordered = Kallsyms.find(moved, text, "6.4 order");
        assertEquals(n, reordered.size());
        assertNotEquals(original.source(), reordered.source());
        for (int i = 0; i < n; i++) {
            assertEquals(original.name(i), reordered.name(i));
            assertEquals(original.address(i), reordered.address(i), original.name(i));
            assertEquals(original.type(i), reordered.type(i), original.name(i));
        }
        assertEquals(map.require("init_task"), reordered.require("init_task"));
    }

    static int copy(byte[] from, int at, int len, byte[] to, int pos) {
        System.arraycopy(from, at, to, pos, len);
        return pos + len;
    }

    static int align8(int v) { return (v + 7) & ~7; }
}
