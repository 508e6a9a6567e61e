package org.xenids.vmi.memory;

import static org.xenids.vmi.memory.MemorySources.LE_INT;
import static org.xenids.vmi.memory.MemorySources.LE_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LiME images: a sequence of 32-byte headers (u32 magic 0x4C694D45, u32 version 1,
 * u64 s_addr, u64 e_addr inclusive, 8 reserved bytes), each followed by that range's bytes.
 */
final class Lime {
    private Lime() {}

    private static final int HEADER = 32;
    /** Real dumps hold one record per RAM range, a handful; bounds the work on hostile input. */
    private static final int MAX_RECORDS = 1 << 16;

    static PhysicalMemory parse(Arena arena, MemorySegment s, Path file) {
        String what = "LiME image " + file;
        long size = s.byteSize();
        List<MappedMemory.Piece> pieces = new ArrayList<>();
        long pos = 0;
        long ram = 0;
        while (pos < size) {
            if (pieces.size() >= MAX_RECORDS) {
                throw new IllegalArgumentException(what + ": more than " + MAX_RECORDS + " ranges");
            }
            if (size - pos < HEADER) {
                throw new IllegalArgumentException(String.format("%s: truncated header at offset 0x%x", what, pos));
            }
            int magic = s.get(LE_INT, pos);
            int version = s.get(LE_INT, pos + 4);
            long start = s.get(LE_LONG, pos + 8);
            long last = s.get(LE_LONG, pos + 16);
            if (magic != MemorySources.LIME_MAGIC) {
                throw new IllegalArgumentException(String.format("%s: bad magic 0x%08x at offset 0x%x", what, magic, pos));
            }
            if (version != 1) {
                throw new IllegalArgumentException(String.format("%s: unknown version %d at offset 0x%x", what, version, pos));
            }
            if (Long.compareUnsigned(last, start) < 0 || last - start == -1L) {
                throw new IllegalArgumentException(String.format(
                        "%s: range 0x%x..0x%x at offset 0x%x is empty or inverted", what, start, last, pos));
            }
            long len = last - start + 1;
            long data = pos + HEADER;
            if (len < 0 || len > size - data) {
                throw new IllegalArgumentException(String.format(
                        "%s: range 0x%x..0x%x at offset 0x%x needs 0x%x bytes but the file ends at 0x%x",
                        what, start, last, pos, len, size));
            }
            pieces.add(new MappedMemory.Piece(start, len, data));
            ram += len;
            pos = data + len;
        }
        return new MappedMemory(arena, s, pieces,
                what + " (" + pieces.size() + " ranges, " + MemorySources.mib(ram) + ")", false, List.of());
    }
}
