package org.xenids.vmi.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A guest's physical memory: RAM ranges with holes between them (LibVMI's "driver" axis,
 * Volatility's physical layer). Sources: raw images, QEMU ELF cores, LiME, a live QEMU
 * guest's memory-backend-file. Reads never go outside what the source holds: any byte outside
 * RAM makes the read fail with {@link MemoryFault} naming the address.
 */
public interface PhysicalMemory extends AutoCloseable {

    /** A RAM range [start, start+length) of guest physical addresses. */
    record Range(long start, long length) {
        public long end() { return start + length; }
        public boolean contains(long paddr, long len) {
            return len >= 0 && paddr >= start && paddr - start <= length - len;
        }
    }

    /** The RAM ranges, sorted by start, disjoint. */
    List<Range> ranges();

    /** Copies {@code dst.byteSize()} bytes starting at {@code paddr} into {@code dst}. */
    void read(long paddr, MemorySegment dst);

    /** What this is, for messages: "raw image foo.raw (256 MiB)". */
    String describe();

    /** True when the contents may change while read (a running guest). */
    default boolean live() { return false; }

    /** CPU registers recorded with the memory (ELF core notes), empty when the source has none. */
    default List<CpuState> cpuStates() { return List.of(); }

    default boolean contains(long paddr, long len) {
        for (Range r : ranges()) {
            if (r.contains(paddr, len)) {
                return true;
            }
        }
        return false;
    }

    default long readLong(long paddr) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            read(paddr, s);
            return s.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        }
    }

    @Override
    default void close() {}
}
