package org.xenids.detect.payl;

import java.util.Arrays;

/**
 * Byte-value counts of one payload (a packet, or a stream direction fed in pieces), capped at a
 * depth: bytes past it are not counted. Reused: {@link #reset()} between payloads, so scoring and
 * training allocate nothing per payload. One per stream direction when streams are scored
 * incrementally; not thread-safe.
 */
public final class ByteHistogram {
    final int[] counts = new int[256];
    /** Four interleaved partial tables: consecutive equal bytes no longer wait on each other's store. */
    private final int[] wide = new int[4 * 256];
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
        int[] w = wide;
        int i = off;
        int end4 = off + (n & ~3);
        for (; i < end4; i += 4) {
            w[buf[i] & 0xFF]++;
            w[256 + (buf[i + 1] & 0xFF)]++;
            w[512 + (buf[i + 2] & 0xFF)]++;
            w[768 + (buf[i + 3] & 0xFF)]++;
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
