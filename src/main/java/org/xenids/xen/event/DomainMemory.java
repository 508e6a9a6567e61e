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
     * The frames of {@code domid}'s grant table in order (entry {@code ref} is in frame
     * {@code ref / 512} at byte {@code (ref % 512) * 8} for v1): writes up to {@code out.length}
     * of them and returns how many the table has, or −1 when there is no such domain.
     */
    int grantTableFrames(int domid, long[] out);
}
