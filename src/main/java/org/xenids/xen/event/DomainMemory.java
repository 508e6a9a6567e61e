package org.xenids.xen.event;

import java.lang.foreign.MemorySegment;

/** Read access to any domain's memory, as a hypervisor has it (contract in the package comment). */
public interface DomainMemory {

    int PAGE_SIZE = 4096;

    /**
     * Copies {@code dst.byteSize()} bytes at {@code offset} of frame {@code frame} of domain
     * {@code domid} into {@code dst}. Returns false, copying nothing, when the domain does not
     * exist, does not own the frame, or the range leaves the 4 KiB page.
     */
    boolean read(int domid, long frame, int offset, MemorySegment dst);

    /**
     * The same read into {@code dst[dstOff, dstOff+len)}: the tap's hot path, so implementations
     * copy straight into the array (the default wraps it in a segment, which allocates). Returns
     * false, copying nothing, also when the range leaves {@code dst} or {@code len} is negative.
     */
    default boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
        if (len < 0 || dstOff < 0 || dstOff > dst.length - len) {
            return false;
        }
        return read(domid, frame, offset, MemorySegment.ofArray(dst).asSlice(dstOff, len));
    }

    /**
     * The frames of {@code domid}'s grant table in order (entry {@code ref} is in frame
     * {@code ref / 512} at byte {@code (ref % 512) * 8} for v1): writes up to {@code out.length}
     * of them and returns how many the table has, or −1 when there is no such domain.
     */
    int grantTableFrames(int domid, long[] out);
}
