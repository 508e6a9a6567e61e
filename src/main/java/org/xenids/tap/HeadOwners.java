package org.xenids.tap;

import java.util.Arrays;

/**
 * Where backends copied guests' TX heads to: (domain, frame, offset) → the sending guest. When a
 * later RX copy reads from such a place, the frame is guest→guest and the receiver's RX is the
 * same frame as the sender's TX (reported once in flow statistics). A direct-mapped cache: a
 * collision forgets the older entry, which then counts as an ordinary RX frame, never as a loss.
 */
final class HeadOwners {
    private static final int SIZE = 8192;

    private final long[] key = new long[SIZE];
    private final int[] owner = new int[SIZE];

    HeadOwners() {
        Arrays.fill(key, -1);
    }

    void note(int dom, long frame, int off, int sender) {
        long k = key(dom, frame, off);
        int h = slot(k);
        key[h] = k;
        owner[h] = sender;
    }

    /** The guest whose TX head was copied to (dom, frame, off), or −1. */
    int owner(int dom, long frame, int off) {
        long k = key(dom, frame, off);
        int h = slot(k);
        return key[h] == k ? owner[h] : -1;
    }

    private static long key(int dom, long frame, int off) {
        return ((long) dom << 48) ^ (frame << 12) ^ (off & 0xfff);
    }

    private static int slot(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 51);
    }
}
