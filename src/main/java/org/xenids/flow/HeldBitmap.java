package org.xenids.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The bitmap of a reassembly window's held bytes: a window of {@code cap} bytes (a power of two)
 * is followed in its buffer by {@code cap / 8} bytes of bits, bit i for window index i, read and
 * written 64 at a time so that runs of held or missing bytes are found a word per step.
 */
final class HeldBitmap {
    /** Bit i of the window at byte {@code cap + 8 * (i / 64)}, little-endian words. */
    private static final VarHandle WORD = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private HeldBitmap() {}

    private static long word(byte[] buf, int cap, int w) {
        return (long) WORD.get(buf, cap + 8 * w);
    }

    private static void word(byte[] buf, int cap, int w, long v) {
        WORD.set(buf, cap + 8 * w, v);
    }

    static boolean held(byte[] buf, int cap, int i) {
        return (word(buf, cap, i >>> 6) & 1L << i) != 0;
    }

    /** Length of the run of bits equal to {@code set} from window index i, at most n (i + n ≤ cap). */
    static int run(byte[] buf, int cap, int i, int n, boolean set) {
        int end = i + n, w = i >>> 6;
        long x = (set ? ~word(buf, cap, w) : word(buf, cap, w)) & -1L << i; // bits that end the run
        while (x == 0) {
            if (++w << 6 >= end) return n;
            x = set ? ~word(buf, cap, w) : word(buf, cap, w);
        }
        return Math.min(end, (w << 6) + Long.numberOfTrailingZeros(x)) - i;
    }

    /** Sets or clears bits [i, i + n) (i + n ≤ cap). */
    static void setBits(byte[] buf, int cap, int i, int n, boolean set) {
        int to = i + n, w0 = i >>> 6, w1 = (to - 1) >>> 6;
        for (int w = w0; w <= w1; w++) {
            long m = (w == w0 ? -1L << i : -1L) & (w == w1 ? -1L >>> -to : -1L);
            word(buf, cap, w, set ? word(buf, cap, w) | m : word(buf, cap, w) & ~m);
        }
    }

    /** Whether none of the window's bytes for sequence numbers [start, start+len) is held. */
    static boolean noneHeld(byte[] buf, int cap, int start, int len) {
        int mask = cap - 1;
        for (int done = 0; done < len; ) {
            int i = (start + done) & mask;
            int n = Math.min(len - done, cap - i);
            if (run(buf, cap, i, n, false) < n) return false;
            done += n;
        }
        return true;
    }
}
