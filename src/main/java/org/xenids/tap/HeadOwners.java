package org.xenids.tap;

import java.util.Arrays;

/**
 * Where backends copied guests' TX heads to: (domain, frame, offset) → the sending guest, with a
 * keyed hash of the head's first bytes. When a later RX copy reads from such a place and its bytes
 * are the head's, the frame is guest→guest and the receiver's RX is the same frame as the
 * sender's TX (reported once in flow statistics). The bytes are checked because a real dom0 reuses
 * its memory: a buffer that once held guest A's head may later carry a frame from outside to
 * guest B, which must be inspected as B's, not passed over as a copy of A's. A direct-mapped cache:
 * a collision forgets the older entry, which then counts as an ordinary RX frame, never as a loss.
 */
final class HeadOwners {
    private static final int SIZE = 8192;
    /** Head bytes hashed: the Ethernet, IP and TCP headers of a frame, enough to tell two apart. */
    static final int CHECKED = 64;

    private final long[] key = new long[SIZE];
    private final int[] owner = new int[SIZE];
    private final long[] hash = new long[SIZE];
    private final byte[] hashed = new byte[SIZE];
    /** Unpredictable per tap, so that a sender cannot aim a frame at another's hash. */
    private final long seed = java.util.concurrent.ThreadLocalRandom.current().nextLong();

    HeadOwners() {
        Arrays.fill(key, -1);
    }

    /** The backend copied {@code sender}'s head, {@code b[at, at+len)}, to (dom, frame, off). */
    void note(int dom, long frame, int off, int sender, byte[] b, int at, int len) {
        long k = key(dom, frame, off);
        int h = slot(k);
        int n = Math.min(len, CHECKED);
        key[h] = k;
        owner[h] = sender;
        hashed[h] = (byte) n;
        hash[h] = hash(b, at, n);
    }

    /**
     * The guest whose TX head was copied to (dom, frame, off) when {@code b[at, at+len)}, read
     * from there now, starts with that head's bytes; else −1.
     */
    int owner(int dom, long frame, int off, byte[] b, int at, int len) {
        long k = key(dom, frame, off);
        int h = slot(k);
        if (key[h] != k || len < hashed[h] || hash(b, at, hashed[h]) != hash[h]) {
            return -1;
        }
        return owner[h];
    }

    private long hash(byte[] b, int at, int n) {
        long x = seed ^ n;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            x = Long.rotateLeft((x ^ Mem.u64(b, at + i)) * 0x9E3779B97F4A7C15L, 29);
        }
        for (; i < n; i++) {
            x = Long.rotateLeft((x ^ (b[at + i] & 0xff)) * 0xC2B2AE3D27D4EB4FL, 13);
        }
        return x ^ (x >>> 31);
    }

    private static long key(int dom, long frame, int off) {
        return ((long) dom << 48) ^ (frame << 12) ^ (off & 0xfff);
    }

    private static int slot(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 51);
    }
}
