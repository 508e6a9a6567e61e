package org.xenids.detect.payl;

/**
 * Fine payload-length bins before folding: one bin per length up to 16, then four bins per power
 * of two (17-19, 20-23, 24-27, 28-31, 32-39, …), so a bin's width is at most a quarter of its
 * lengths: close enough for byte frequencies, few enough to fill with samples.
 */
final class LengthBins {
    static final int COUNT = 16 + 4 * 27;

    private LengthBins() {}

    /** The bin of a length ≥ 1. */
    static int of(int len) {
        if (len <= 16) {
            return len - 1;
        }
        int e = 31 - Integer.numberOfLeadingZeros(len);
        return 16 + (e - 4) * 4 + ((len >>> (e - 2)) & 3);
    }

    /** Smallest length in bin {@code b}. */
    static int lo(int b) {
        if (b < 16) {
            return b + 1;
        }
        int e = (b - 16) / 4 + 4;
        int sub = (b - 16) % 4;
        return Math.max(17, (4 + sub) << (e - 2));
    }

    /** Largest length in bin {@code b}. */
    static int hi(int b) {
        return b + 1 >= COUNT ? Integer.MAX_VALUE : lo(b + 1) - 1;
    }
}
