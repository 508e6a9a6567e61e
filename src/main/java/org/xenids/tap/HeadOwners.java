package org.xenids.tap;

import java.util.Arrays;

/**
 * Where backends copied guests' TX heads to: (domain, frame, offset) → the sending guest, with
 * the head's first bytes. When a later RX copy reads from such a place and its bytes are the
 * head's, the frame is guest→guest and the receiver's RX is the same frame as the sender's TX
 * (reported once in flow statistics). The bytes themselves are compared, not a hash a sender could
 * aim at: a real dom0 reuses its memory, and a buffer that once held guest A's head may later carry
 * a frame from outside to guest B, which must be inspected as B's, not passed over as a copy of
 * A's. A direct-mapped cache: a collision forgets the older entry, which then counts as an
 * ordinary RX frame, never as a loss.
 */
final class HeadOwners {
    private static final int SIZE = 8192;
    /** Head bytes kept and compared: the Ethernet, IP and TCP headers of a frame, enough to tell two apart. */
    static final int CHECKED = 64;

    private final long[] key = new long[SIZE];
    private final int[] owner = new int[SIZE];
    private final byte[] kept = new byte[SIZE];
    /** Entry {@code h}'s bytes at {@code [h * CHECKED, h * CHECKED + kept[h])}; made at the first head. */
    private byte[] bytes;

    HeadOwners() {
        Arrays.fill(key, -1);
    }

    /** The backend copied {@code sender}'s head, {@code b[at, at+len)}, to (dom, frame, off). */
    void note(int dom, long frame, int off, int sender, byte[] b, int at, int len) {
        if (bytes == null) {
            bytes = new byte[SIZE * CHECKED];
        }
        long k = key(dom, frame, off);
        int h = slot(k);
        int n = Math.min(len, CHECKED);
        key[h] = k;
        owner[h] = sender;
        kept[h] = (byte) n;
        System.arraycopy(b, at, bytes, h * CHECKED, n);
    }

    /**
     * The guest whose TX head was copied to (dom, frame, off) when {@code b[at, at+len)}, read
     * from there now, starts with that head's bytes; else −1.
     */
    int owner(int dom, long frame, int off, byte[] b, int at, int len) {
        long k = key(dom, frame, off);
        int h = slot(k);
        int n = kept[h];
        if (key[h] != k || len < n || !Arrays.equals(b, at, at + n, bytes, h * CHECKED, h * CHECKED + n)) {
            return -1;
        }
        return owner[h];
    }

    private static long key(int dom, long frame, int off) {
        return ((long) dom << 48) ^ (frame << 12) ^ (off & 0xfff);
    }

    private static int slot(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 51);
    }
}
