package org.xenids.tap;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;

/**
 * Replay side of a trace: the hypervisor's memory as far as the trace recorded it (pages with a
 * per-byte "known" bitmap; a read of any unknown byte fails, never returns invented bytes), and
 * the reused hypercall view.
 */
final class TraceStore implements DomainMemory {
    static final int MAX_PAGES = 1 << 18;
    /**
     * Frame numbers a trace may name are below this (x86-64 Xen's are below 2^40): with domids
     * below 2^16 the page key {@code domid << 44 | frame} is then exact, no two pages share one.
     */
    static final long FRAME_LIMIT = 1L << 44;

    private final LongIntMap index = new LongIntMap();
    private static final VarHandle BITS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());
    /** Per page: its 4096 bytes, then a bitmap of which of them the trace gave (1 bit a byte). */
    private byte[][] pages = new byte[64][];
    private int count;
    // Indexed by domid (< DOMID_FIRST_RESERVED, checked by the reader), grown to the largest seen.
    private long[][] gtFrames = new long[16][];
    private int[] gtCount = new int[16];
    // Recently used pages, direct-mapped by frame and domid: a replay touches a few ring and data
    // pages over and over, and the map behind is only asked on a miss. Entries hold page + 1 (0: empty).
    private static final int CACHE = 64;
    private final long[] cacheKey = new long[CACHE];
    private final int[] cachePage = new int[CACHE];

    TraceStore() {
        java.util.Arrays.fill(gtCount, -1);
    }

    private static int slot(int domid, long frame) {
        return ((int) frame ^ (int) (frame >>> 6) ^ domid * 0x9E3779B9 >>> 26) & (CACHE - 1);
    }

    /** The index {@link #register} gave (domid, frame), or −1 when it gave none. */
    int page(int domid, long frame) {
        if ((frame & -FRAME_LIMIT) != 0 || (domid & -0x10000) != 0) {
            return -1; // no such page can have been stored (see FRAME_LIMIT)
        }
        long k = key(domid, frame);
        int c = slot(domid, frame);
        int p = cachePage[c] - 1;
        if (p >= 0 && cacheKey[c] == k) {
            return p;
        }
        p = index.get(k, -1);
        if (p >= 0) {
            cacheKey[c] = k;
            cachePage[c] = p + 1;
        }
        return p;
    }

    private static long key(int domid, long frame) {
        return ((long) domid << 44) | frame;
    }

    /**
     * Stores bytes the recorded tap read; false when the trace would need more than {@link #MAX_PAGES}.
     * The reader has checked the domid (below 0x7FF0) and the frame (below {@link #FRAME_LIMIT}).
     */
    boolean put(int domid, long frame, int offset, byte[] src, int srcOff, int len) {
        int p = register(domid, frame);
        if (p < 0) {
            return false;
        }
        byte[] pg = pages[p];
        if (pg == null) {
            pg = pages[p] = new byte[PAGE_SIZE + PAGE_SIZE / 8];
        }
        copy(src, srcOff, pg, offset, len);
        mark(pg, offset, len, true);
        return true;
    }

    /**
     * Counts (domid, frame) among the image's pages without giving any of its bytes yet (a replay
     * that applies its reads lazily still refuses the trace at the record that names one page too
     * many); its index, or −1 when that would make more than {@link #MAX_PAGES}. The page's bytes
     * are allocated by its first {@link #put}.
     */
    int register(int domid, long frame) {
        if ((frame & -FRAME_LIMIT) != 0 || (domid & -0x10000) != 0) {
            throw new IllegalArgumentException("page key out of range: domid " + domid + ", frame " + frame);
        }
        int p = page(domid, frame);
        if (p < 0) {
            if (count == MAX_PAGES) {
                return -1;
            }
            if (count == pages.length) {
                pages = java.util.Arrays.copyOf(pages, count * 2);
            }
            p = count++;
            index.put(key(domid, frame), p);
        }
        return p;
    }

    void forget(int domid, long frame, int offset, int len) {
        int p = page(domid, frame);
        if (p >= 0 && pages[p] != null) {
            mark(pages[p], offset, len, false);
        }
    }

    void grantFrames(int domid, int n, long[] frames) {
        if (domid >= gtCount.length) {
            int size = Integer.highestOneBit(domid) << 1;
            int old = gtCount.length;
            gtFrames = java.util.Arrays.copyOf(gtFrames, size);
            gtCount = java.util.Arrays.copyOf(gtCount, size);
            java.util.Arrays.fill(gtCount, old, size, -1);
        }
        gtCount[domid] = n;
        gtFrames[domid] = frames;
    }

    /** Sets or clears the known bits of bytes [off, off+len) of page {@code pg}: whole words at once. */
    private static void mark(byte[] pg, int off, int len, boolean set) {
        if (len <= 0) {
            return;
        }
        int end = off + len - 1;
        int w0 = off >>> 6, w1 = end >>> 6;
        long first = -1L << (off & 63);
        long last = -1L >>> (63 - (end & 63));
        if (w0 == w1) {
            long m = first & last;
            long w = word(pg, w0);
            word(pg, w0, set ? w | m : w & ~m);
            return;
        }
        word(pg, w0, set ? word(pg, w0) | first : word(pg, w0) & ~first);
        if (w1 > w0 + 1) {
            java.util.Arrays.fill(pg, PAGE_SIZE + 8 * (w0 + 1), PAGE_SIZE + 8 * w1, set ? (byte) -1 : 0);
        }
        word(pg, w1, set ? word(pg, w1) | last : word(pg, w1) & ~last);
    }

    private static boolean all(byte[] pg, int off, int len) {
        if (len <= 0) {
            return true;
        }
        int end = off + len - 1;
        int w0 = off >>> 6, w1 = end >>> 6;
        long first = -1L << (off & 63);
        long last = -1L >>> (63 - (end & 63));
        if (w0 == w1) {
            long m = first & last;
            return (word(pg, w0) & m) == m;
        }
        if ((word(pg, w0) & first) != first || (word(pg, w1) & last) != last) {
            return false;
        }
        for (int w = w0 + 1; w < w1; w++) {
            if (word(pg, w) != -1L) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code System.arraycopy} for the short runs a replay mostly moves (ring indices and entries,
     * op arrays, small frames) a word at a time inline, the last word overlapping; longer runs go
     * to arraycopy. Distinct arrays only. Same bounds (every access is checked), no stub call per
     * 8-byte ring entry.
     */
    static void copy(byte[] src, int so, byte[] dst, int d, int len) {
        if (len >= 8 && len <= 16) {
            // Two words that overlap when len < 16: the whole run in two loads and two stores.
            long a = (long) BITS.get(src, so), b = (long) BITS.get(src, so + len - 8);
            BITS.set(dst, d, a);
            BITS.set(dst, d + len - 8, b);
            return;
        }
        if (len > 64 || len < 8) {
            if (len >= 4 && len < 8) {
                int a = (int) I32N.get(src, so), b = (int) I32N.get(src, so + len - 4);
                I32N.set(dst, d, a);
                I32N.set(dst, d + len - 4, b);
            } else {
                System.arraycopy(src, so, dst, d, len);
            }
            return;
        }
        int i = 0;
        for (; i < len - 8; i += 8) {
            BITS.set(dst, d + i, (long) BITS.get(src, so + i));
        }
        BITS.set(dst, d + len - 8, (long) BITS.get(src, so + len - 8));
    }

    private static final VarHandle I32N = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.nativeOrder());

    /** Word {@code w} of a page's known bitmap (kept after its bytes: one array per page to reach). */
    private static long word(byte[] pg, int w) {
        return (long) BITS.get(pg, PAGE_SIZE + 8 * w);
    }

    private static void word(byte[] pg, int w, long v) {
        BITS.set(pg, PAGE_SIZE + 8 * w, v);
    }

    @Override
    public boolean read(int domid, long frame, int offset, MemorySegment dst) {
        int len = (int) dst.byteSize();
        if (offset < 0 || offset + (long) len > PAGE_SIZE) {
            return false;
        }
        int p = page(domid, frame);
        if (p < 0 || pages[p] == null || !all(pages[p], offset, len)) {
            return false;
        }
        MemorySegment.copy(pages[p], offset, dst, ValueLayout.JAVA_BYTE, 0, len);
        return true;
    }

    @Override
    public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
        if (offset < 0 || len < 0 || offset > PAGE_SIZE - len || dstOff < 0 || dstOff > dst.length - len) {
            return false;
        }
        int p = page(domid, frame);
        if (p < 0) {
            return false;
        }
        byte[] pg = pages[p];
        if (pg == null || !all(pg, offset, len)) {
            return false;
        }
        copy(pg, offset, dst, dstOff, len);
        return true;
    }

    @Override
    public int grantTableFrames(int domid, long[] out) {
        if (domid < 0 || domid >= gtCount.length || gtCount[domid] < 0) {
            return -1;
        }
        long[] f = gtFrames[domid];
        System.arraycopy(f, 0, out, 0, Math.min(out.length, f.length));
        return gtCount[domid];
    }

    /**
     * The reused view of one recorded hypercall. Its op array is {@code bytes[off, off+len)}: the
     * trace itself when it is held in memory (the tap decodes it there, see {@code Tap.completed}),
     * else a copy. The {@link MemorySegment} other listeners ask for is made on the first
     * {@link #args()} of a call, from read-only views kept one per length (no allocation per call).
     */
    static final class Call implements Hypercall {
        private static final int MAX_VIEWS = 16384;
        long sequence, timestamp, result;
        int caller, op, cmd, count, structSize;
        byte[] bytes;
        int off, len;
        private byte[] own = new byte[0];
        private MemorySegment ownSeg = MemorySegment.ofArray(own);
        private MemorySegment[] views = new MemorySegment[64];
        private MemorySegment args;

        /** The op array is {@code b[off, off+len)}, left there (valid while the call is). */
        void args(byte[] b, int off, int len) {
            this.bytes = b;
            this.off = off;
            this.len = len;
            this.args = null;
        }

        /** The op array is copied from {@code b[off, off+len)} (a buffer reused before the call is delivered). */
        void copyArgs(byte[] b, int off, int len) {
            ensure(len);
            copy(b, off, own, 0, len);
            args(own, 0, len);
        }

        private void ensure(int n) {
            if (n > own.length) {
                // Grown to the largest op array met (≤ the trace's record bound); older views are of the old array.
                own = new byte[Math.max(n, Math.min(1 << 20, Math.max(64, 2 * own.length)))];
                ownSeg = MemorySegment.ofArray(own);
                java.util.Arrays.fill(views, null);
            }
        }

        @Override
        public MemorySegment args() {
            if (args == null) {
                if (bytes != own) {
                    ensure(len);
                    copy(bytes, off, own, 0, len);
                    bytes = own;
                    off = 0;
                }
                args = view(len);
            }
            return args;
        }

        private MemorySegment view(int n) {
            if (n >= MAX_VIEWS) {
                return ownSeg.asSlice(0, n).asReadOnly();
            }
            if (n >= views.length) {
                views = java.util.Arrays.copyOf(views, Math.min(MAX_VIEWS, Math.max(n + 1, 2 * views.length)));
            }
            MemorySegment v = views[n];
            if (v == null) {
                v = ownSeg.asSlice(0, n).asReadOnly();
                views[n] = v;
            }
            return v;
        }

        @Override public long sequence() { return sequence; }
        @Override public long timestampNanos() { return timestamp; }
        @Override public int callerDomid() { return caller; }
        @Override public int op() { return op; }
        @Override public int cmd() { return cmd; }
        @Override public int count() { return count; }
        @Override public long result() { return result; }
        @Override public int structSize() { return structSize; }
    }
}
