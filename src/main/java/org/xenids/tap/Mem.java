package org.xenids.tap;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
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
    /** The same memory when it is a trace replay's: called directly, so the call can be inlined. */
    private final ReplayMemory replay;
    // Indexed by domid, grown to the largest domid seen (a replay's setup stays small).
    private long[][] gtFrames = new long[16][];
    private int[] gtCount = new int[16];
    private final long[] gtScratch = new long[MAX_GT_FRAMES];
    private final byte[] entryBytes = new byte[Gnttab.EntryV1.SIZE];
    private final MemorySegment entry = MemorySegment.ofArray(entryBytes);
    long failedReads;

    Mem(DomainMemory memory) {
        this.memory = memory;
        this.replay = memory instanceof ReplayMemory r ? r : null;
    }

    // Little-endian fields of the tap's own copies of ring pages (array views: no segment checks per field).
    private static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static int u8(byte[] b, int at) {
        return b[at] & 0xff;
    }

    static int u16(byte[] b, int at) {
        return (short) I16.get(b, at) & 0xffff;
    }

    static int s16(byte[] b, int at) {
        return (short) I16.get(b, at);
    }

    static int u32(byte[] b, int at) {
        return (int) I32.get(b, at);
    }

    static long u64(byte[] b, int at) {
        return (long) I64.get(b, at);
    }

    static void putU64(byte[] b, int at, long v) {
        I64.set(b, at, v);
    }

    /** Reads into {@code dst[off, off+len)}; false (counted) when the hypervisor has no such bytes. */
    boolean read(int domid, long frame, int offset, byte[] dst, int off, int len) {
        if (len == 0) {
            return true;
        }
        if (offset < 0 || len < 0 || offset > DomainMemory.PAGE_SIZE - len || off < 0 || off > dst.length - len
                || !(replay != null ? replay.read(domid, frame, offset, dst, off, len)
                        : memory.read(domid, frame, offset, dst, off, len))) {
            failedReads++;
            return false;
        }
        return true;
    }

    /** As {@link #read(int, long, int, byte[], int, int)} into a segment (ring discovery, not per frame). */
    boolean read(int domid, long frame, int offset, MemorySegment dst, long off, int len) {
        if (len == 0) {
            return true;
        }
        if (offset < 0 || len < 0 || offset > DomainMemory.PAGE_SIZE - len || off < 0 || off > dst.byteSize() - len) {
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
        if (domid >= 0 && domid < gtFrames.length) {
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
        if (domid < 0 || domid >= Xen.DOMID_FIRST_RESERVED || ref < 0) {
            return -1;
        }
        if (domid >= gtFrames.length) {
            int n = Math.min(Xen.DOMID_FIRST_RESERVED, Integer.highestOneBit(domid) << 1);
            gtFrames = java.util.Arrays.copyOf(gtFrames, n);
            gtCount = java.util.Arrays.copyOf(gtCount, n);
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
        if (!read(domid, frames[idx], (ref % Gnttab.EntryV1.PER_FRAME) * Gnttab.EntryV1.SIZE, entryBytes, 0,
                Gnttab.EntryV1.SIZE)) {
            return -1;
        }
        int flags = Le.u16(entry, 0);
        if ((flags & Xen.GTF_type_mask) != Xen.GTF_permit_access) {
            return -1;
        }
        return Integer.toUnsignedLong(Le.u32(entry, 4));
    }
}
