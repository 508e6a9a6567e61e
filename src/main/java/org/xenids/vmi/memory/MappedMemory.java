package org.xenids.vmi.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Physical memory backed by one memory-mapped file: each RAM range is a run of file bytes.
 * Raw images, ELF cores, LiME and live QEMU RAM files all reduce to this, differing only in
 * how the ranges are found.
 */
final class MappedMemory implements PhysicalMemory {
    private final Arena arena;
    private final MemorySegment file;
    private final long[] starts;
    private final long[] lengths;
    private final long[] offsets;
    private final List<Range> ranges;
    private final String description;
    private final boolean live;
    private final List<CpuState> cpus;
    /** Index of the range the last read hit: reads cluster, so this skips the search. */
    private int last;

    /** A piece of RAM: guest physical [paddr, paddr+length) is file [offset, offset+length). */
    record Piece(long paddr, long length, long offset) {}

    MappedMemory(Arena arena, MemorySegment file, List<Piece> pieces, String description,
                 boolean live, List<CpuState> cpus) {
        List<Piece> sorted = new ArrayList<>(pieces);
        sorted.removeIf(p -> p.length() == 0);
        sorted.sort((a, b) -> Long.compareUnsigned(a.paddr(), b.paddr()));
        int n = sorted.size();
        starts = new long[n];
        lengths = new long[n];
        offsets = new long[n];
        List<Range> rs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Piece p = sorted.get(i);
            if (p.offset() < 0 || p.length() < 0 || p.offset() > file.byteSize() - p.length()) {
                throw new IllegalArgumentException(description + ": RAM range at physical 0x"
                        + Long.toHexString(p.paddr()) + " lies outside the file");
            }
            if (p.paddr() + p.length() < p.paddr()) {
                throw new IllegalArgumentException(description + ": RAM range at physical 0x"
                        + Long.toHexString(p.paddr()) + " wraps around the address space");
            }
            if (i > 0 && p.paddr() < starts[i - 1] + lengths[i - 1]) {
                throw new IllegalArgumentException(description + ": RAM ranges overlap at physical 0x"
                        + Long.toHexString(p.paddr()));
            }
            starts[i] = p.paddr();
            lengths[i] = p.length();
            offsets[i] = p.offset();
            rs.add(new Range(p.paddr(), p.length()));
        }
        this.arena = arena;
        this.file = file;
        this.ranges = List.copyOf(rs);
        this.description = description;
        this.live = live;
        this.cpus = List.copyOf(cpus);
    }

    @Override public List<Range> ranges() { return ranges; }
    @Override public String describe() { return description; }
    @Override public boolean live() { return live; }
    @Override public List<CpuState> cpuStates() { return cpus; }

    @Override
    public void read(long paddr, MemorySegment dst) {
        long size = dst.byteSize();
        long done = 0;
        while (done < size) {
            long at = paddr + done;
            int r = find(at);
            if (r < 0) {
                throw new MemoryFault(at, String.format("physical address 0x%x is not RAM in %s", at, description));
            }
            long n = Math.min(size - done, starts[r] + lengths[r] - at);
            MemorySegment.copy(file, offsets[r] + (at - starts[r]), dst, done, n);
            done += n;
        }
    }

    /** Page-table walks read one entry at a time: straight from the mapping, no copy. */
    @Override
    public long readLong(long paddr) {
        int r = find(paddr);
        if (r >= 0 && paddr - starts[r] <= lengths[r] - 8) {
            return file.get(MemorySources.LE_LONG, offsets[r] + (paddr - starts[r]));
        }
        byte[] b = new byte[8];
        read(paddr, MemorySegment.ofArray(b));
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The range holding {@code paddr}, or -1 for a hole. */
    private int find(long paddr) {
        int l = last;
        if (l < starts.length && paddr >= starts[l] && paddr - starts[l] < lengths[l]) {
            return l;
        }
        int lo = 0;
        int hi = starts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (paddr < starts[mid]) {
                hi = mid - 1;
            } else if (paddr - starts[mid] >= lengths[mid]) {
                lo = mid + 1;
            } else {
                last = mid;
                return mid;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        arena.close();
    }
}
