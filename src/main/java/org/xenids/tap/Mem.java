package org.xenids.tap;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Xen;
import org.xenids.xen.event.DomainMemory;

/**
 * The tap's only window on guest memory: reads through {@link DomainMemory} into the tap's own
 * buffers, and grant-entry look-ups with a per-domain cache of grant-table frames (refreshed when
 * the stream shows a {@code setup_table}, or when a ref lies beyond the cached table).
 */
final class Mem {
    private static final int MAX_GT_FRAMES = 64;

    final DomainMemory memory;
    private final long[][] gtFrames = new long[Xen.DOMID_FIRST_RESERVED][];
    private final int[] gtCount = new int[Xen.DOMID_FIRST_RESERVED];
    private final long[] gtScratch = new long[MAX_GT_FRAMES];
    private final MemorySegment entry = MemorySegment.ofArray(new byte[Gnttab.EntryV1.SIZE]);
    long failedReads;

    Mem(DomainMemory memory) {
        this.memory = memory;
    }

    /** Reads into {@code dst[off, off+len)}; false (counted) when the hypervisor has no such bytes. */
    boolean read(int domid, long frame, int offset, MemorySegment dst, long off, int len) {
        if (len == 0) {
            return true;
        }
        if (offset < 0 || len < 0 || offset + len > DomainMemory.PAGE_SIZE || off + len > dst.byteSize()) {
            failedReads++;
            return false;
        }
        if (!memory.read(domid, frame, offset, dst.asSlice(off, len))) {
            failedReads++;
            return false;
        }
        return true;
    }

    void invalidateGrants(int domid) {
        if (domid >= 0 && domid < gtCount.length) {
            gtFrames[domid] = null;
        }
    }

    /** Number of grant entries {@code domid}'s table has (v1), or −1 when unknown. */
    int grantEntries(int domid) {
        int n = memory.grantTableFrames(domid, gtScratch);
        return n < 0 ? -1 : n * Gnttab.EntryV1.PER_FRAME;
    }

    /**
     * The frame granted by {@code domid}'s entry {@code ref} when it is a v1 permit-access entry,
     * else −1 (no such domain, ref beyond the table, entry not in use).
     */
    long grantFrame(int domid, int ref) {
        if (domid < 0 || domid >= gtCount.length || ref < 0) {
            return -1;
        }
        long[] frames = gtFrames[domid];
        int idx = ref / Gnttab.EntryV1.PER_FRAME;
        if (frames == null || idx >= gtCount[domid]) {
            int n = memory.grantTableFrames(domid, gtScratch);
            if (n < 0) {
                return -1;
            }
            n = Math.min(n, MAX_GT_FRAMES);
            frames = frames == null || frames.length < n ? new long[Math.max(n, 1)] : frames;
            System.arraycopy(gtScratch, 0, frames, 0, n);
            gtFrames[domid] = frames;
            gtCount[domid] = n;
            if (idx >= n) {
                return -1;
            }
        }
        if (!memory.read(domid, frames[idx], (ref % Gnttab.EntryV1.PER_FRAME) * Gnttab.EntryV1.SIZE, entry)) {
            failedReads++;
            return -1;
        }
        int flags = Le.u16(entry, 0);
        if ((flags & Xen.GTF_type_mask) != Xen.GTF_permit_access) {
            return -1;
        }
        return Integer.toUnsignedLong(Le.u32(entry, 4));
    }
}
