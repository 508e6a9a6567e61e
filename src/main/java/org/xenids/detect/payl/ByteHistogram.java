package org.xenids.detect.payl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Byte-value counts of one payload (a packet, or a stream direction fed in pieces), capped at a
 * depth: bytes past it are not counted. Reused: {@link #reset()} between payloads, so scoring and
 * training allocate nothing per payload. One per stream direction when streams are scored
 * incrementally; not thread-safe.
 */
public final class ByteHistogram {
    final int[] counts = new int[256];
    /**
     * Four partial tables for long payloads, so that runs of one byte value (NOP sleds, padding,
     * spaces) do not make each increment wait for the previous store. One per thread, not per
     * histogram: a stream keeps only its 1 KiB of counts.
     */
    private static final ThreadLocal<int[]> WIDE = ThreadLocal.withInitial(() -> new int[4 * 256]);
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private final int depth;
    private int length;

    public ByteHistogram(int depth) {
        if (depth < 1 || depth > PaylSettings.MAX_DEPTH) {
            throw new IllegalArgumentException("depth must be 1.." + PaylSettings.MAX_DEPTH + ": " + depth);
        }
        this.depth = depth;
    }

    public int depth() {
        return depth;
    }

    /** Bytes counted so far (at most the depth). */
    public int length() {
        return length;
    }

    /** Count of byte value {@code b} (0-255). */
    public int count(int b) {
        return counts[b];
    }

    public boolean full() {
        return length >= depth;
    }

    public void reset() {
        Arrays.fill(counts, 0);
        length = 0;
    }

    /** Counts {@code len} bytes of {@code buf} from {@code off}, up to the depth; returns how many were counted. */
    public int add(byte[] buf, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, buf.length);
        int n = Math.min(len, depth - length);
        if (n <= 0) {
            return 0;
        }
        if (n < 256) {
            int[] c = counts;
            for (int i = off, end = off + n; i < end; i++) {
                c[buf[i] & 0xFF]++;
            }
        } else {
            addWide(buf, off, n);
        }
        length += n;
        return n;
    }

    private void addWide(byte[] buf, int off, int n) {
        int[] w = WIDE.get();
        int i = off;
        int end8 = off + (n & ~7);
        // Eight bytes per load; the shifts are cheaper than seven more loads.
        for (; i < end8; i += 8) {
            long v = (long) LONGS.get(buf, i);
            w[(int) v & 0xFF]++;
            w[256 + ((int) (v >>> 8) & 0xFF)]++;
            w[512 + ((int) (v >>> 16) & 0xFF)]++;
            w[768 + ((int) (v >>> 24) & 0xFF)]++;
            w[(int) (v >>> 32) & 0xFF]++;
            w[256 + ((int) (v >>> 40) & 0xFF)]++;
            w[512 + ((int) (v >>> 48) & 0xFF)]++;
            w[768 + (int) (v >>> 56)]++;
        }
        int[] c = counts;
        for (int end = off + n; i < end; i++) {
            c[buf[i] & 0xFF]++;
        }
        for (int b = 0; b < 256; b++) {
            c[b] += w[b] + w[256 + b] + w[512 + b] + w[768 + b];
        }
        Arrays.fill(w, 0);
    }
}
