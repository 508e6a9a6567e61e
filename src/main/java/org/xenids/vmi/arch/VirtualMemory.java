package org.xenids.vmi.arch;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import org.xenids.vmi.memory.MemoryFault;

/**
 * A virtual address space over a guest's physical memory (LibVMI's "arch" axis): translation
 * through the guest's page tables from one DTB. Reads may cross pages; every page is
 * translated, and a read that touches a non-present page or a non-canonical address fails with
 * {@link MemoryFault} naming the virtual address. Kernel structures are little-endian.
 */
public interface VirtualMemory {

    /** Guest physical address of {@code vaddr}, or MemoryFault when not mapped. */
    long translate(long vaddr);

    /** Copies {@code dst.byteSize()} bytes from {@code vaddr} into {@code dst}. */
    void read(long vaddr, MemorySegment dst);

    /** The page-table root (CR3 value, flags masked) this space translates with. */
    long dtb();

    default long u64(long vaddr) { return read(vaddr, 8); }

    default int u32(long vaddr) { return (int) read(vaddr, 4); }

    default int u16(long vaddr) { return (int) read(vaddr, 2) & 0xffff; }

    default int u8(long vaddr) { return (int) read(vaddr, 1) & 0xff; }

    /** Reads a little-endian unsigned value of 1..8 bytes. */
    private long read(long vaddr, int size) {
        byte[] b = new byte[8];
        read(vaddr, MemorySegment.ofArray(b).asSlice(0, size));
        return java.nio.ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Reads a NUL-terminated string of at most {@code max} bytes (no NUL needed at max). */
    default String cString(long vaddr, int max) {
        byte[] b = new byte[max];
        read(vaddr, MemorySegment.ofArray(b));
        int n = 0;
        while (n < max && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** Throws MemoryFault for an address that is not canonical under 4-level paging. */
    static void requireCanonical48(long vaddr) {
        long top = vaddr >> 47;
        if (top != 0 && top != -1) {
            throw new MemoryFault(vaddr, String.format("non-canonical virtual address 0x%016x", vaddr));
        }
    }
}
