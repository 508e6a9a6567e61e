package org.xenids.flow;

import static org.xenids.flow.HeldBitmap.held;
import static org.xenids.flow.HeldBitmap.run;
import static org.xenids.flow.HeldBitmap.setBits;

import java.util.Arrays;

/**
 * One stream direction's reassembly window, borrowed from the table's bounded pool while it is
 * needed: bytes indexed by sequence number ({@code seq & (cap - 1)}), with a bitmap of those held
 * out of order ({@link HeldBitmap}), and, when the table keeps them ({@link FlowTable#keepDelivered}),
 * delivered bytes inside the depth that the receiver has not acknowledged, where they lay. The
 * window is at least the depth, so a held byte and a kept one are never at the same index: held
 * bytes lie between the next number and the depth, kept ones before the next number.
 */
final class StreamWindow {
    /** [0, cap): bytes by sequence number & (cap - 1); [cap, cap + cap / 8): the bitmap of those held. */
    byte[] buf;
    int cap;
    /** Bytes held (set bits). */
    int pending;
    /**
     * Delivered bytes inside the depth that the receiver has not acknowledged, [keptFrom, keptEnd)
     * by sequence number, in the buffer with their bits clear. A later copy of them is compared: a
     * sender may show the detector a first copy that the receiver's stack drops for a reason the
     * flow stage does not see, then the one it takes. Once acknowledged, any copy is old to Linux.
     */
    int keptFrom, keptEnd;
    /** Delivered bytes inside the depth that could not be kept (no buffer), not yet acknowledged. */
    int unkeptFrom, unkeptEnd;
    /** Bytes that could not be kept. */
    long unkept;

    void reset() {
        if (buf != null && pending > 0) {
            Arrays.fill(buf, cap, cap + cap / 8, (byte) 0);
        }
        pending = 0;
        keptFrom = keptEnd = unkeptFrom = unkeptEnd = 0;
        unkept = 0;
    }

    /** The stream's first number: nothing kept yet. */
    void start(int seq) {
        keptFrom = keptEnd = unkeptFrom = unkeptEnd = seq;
    }

    boolean kept() {
        return keptFrom != keptEnd;
    }

    /** Borrows a window for out-of-order bytes; false when the pool has none. */
    boolean borrow(FlowTable t) {
        return lend(t, t.windows.borrow());
    }

    private boolean lend(FlowTable t, byte[] b) {
        buf = b;
        if (buf == null) return false;
        cap = t.window;
        return true;
    }

    /**
     * Copies the bytes of [start, start+len) not yet held and marks them; compares the others and
     * returns how many differ (the bytes held first stay). The held ones it met are {@code len}
     * less the growth of {@link #pending}.
     */
    int insert(int start, byte[] b, int off, int len) {
        int mask = cap - 1, differing = 0;
        for (int done = 0; done < len; ) {
            int i = (start + done) & mask;
            int n = Math.min(len - done, cap - i); // up to the buffer's end, then on from 0
            boolean held = held(buf, cap, i);
            int run = run(buf, cap, i, n, held);
            if (held) {
                for (int k = 0; k < run; k++) {
                    if (buf[i + k] != b[off + done + k]) differing++;
                }
            } else {
                System.arraycopy(b, off + done, buf, i, run);
                setBits(buf, cap, i, run, true);
                pending += run;
            }
            done += run;
        }
        return differing;
    }

    /** Whether none of the bytes for [start, start+len) is held. */
    boolean noneHeld(int start, int len) {
        return HeldBitmap.noneHeld(buf, cap, start, len);
    }

    /** Forgets held bytes in [from, from+len): the next number is about to move past them without them. */
    void dropHeld(int from, int len) {
        if (pending == 0) return;
        int mask = cap - 1;
        for (int done = 0; done < Math.min(len, cap); ) {
            int i = (from + done) & mask;
            int n = Math.min(Math.min(len, cap) - done, cap - i);
            for (int k = 0; k < n; ) {
                boolean set = held(buf, cap, i + k);
                int r = run(buf, cap, i + k, n - k, set);
                if (set) {
                    setBits(buf, cap, i + k, r, false);
                    pending -= r;
                }
                k += r;
            }
            done += n;
        }
    }

    /** The sequence number of the first byte held at or after {@code next} (pending > 0). */
    int firstHeld(int next) {
        int mask = cap - 1, i = next & mask;
        int a = run(buf, cap, i, cap - i, false);
        return a < cap - i ? next + a : next + (cap - i) + run(buf, cap, 0, i, false);
    }

    /** The run of held bytes from {@code seq} up to the buffer's end, no longer held; 0 when seq's is not held. */
    int takeRun(int seq) {
        int i = seq & (cap - 1);
        if (pending == 0 || !held(buf, cap, i)) return 0;
        int n = run(buf, cap, i, cap - i, true);
        setBits(buf, cap, i, n, false);
        pending -= n;
        return n;
    }

    /**
     * Nothing is held any more: the window goes back to the pool unless it keeps bytes, and
     * keeping alone may hold one only while the windows lent out stay within half the pool (one
     * borrowed for out-of-order bytes gives up what it keeps past that, counted as not kept).
     */
    void idle(FlowTable t) {
        if (pending != 0 || buf == null) return;
        if (kept() && !t.windows.mayKeepIn()) {
            unkept += keptEnd - keptFrom;
            if (unkeptEnd != keptFrom) unkeptFrom = keptFrom;
            unkeptEnd = keptFrom = keptEnd;
        }
        if (!kept()) {
            t.windows.giveBack(buf);
            buf = null;
        }
    }

    /**
     * Keeps {@code n} delivered bytes at {@code seq} (from {@code b}: the packet, or this buffer,
     * where drained bytes already are) until acknowledged. Only a run up to {@code seq} is kept:
     * after a gap, what came before it is let go.
     */
    void keep(FlowTable t, int seq, byte[] b, int off, int n) {
        if (keptEnd != seq) keptFrom = keptEnd = seq;
        if (buf == null && !lend(t, t.windows.borrowToKeep())) {
            unkept += n; // no buffer to be had: a later copy of these cannot be compared
            if (unkeptEnd != seq) unkeptFrom = seq; // (an earlier run not up to here is let go)
            unkeptEnd = keptFrom = keptEnd = seq + n;
            return;
        }
        if (b != buf) {
            int mask = cap - 1;
            for (int done = 0; done < n; ) {
                int i = (seq + done) & mask;
                int run = Math.min(n - done, cap - i);
                System.arraycopy(b, off + done, buf, i, run);
                done += run;
            }
        }
        keptEnd = seq + n;
    }

    /** The receiver acknowledged up to {@code ack}: a copy of those is old to Linux, nothing to keep them for. */
    void acked(FlowTable t, int ack, boolean synHeld) {
        if (kept() && ack - keptFrom > 0) {
            keptFrom = ack - keptEnd >= 0 ? keptEnd : ack;
            if (!kept() && pending == 0 && !synHeld) {
                t.windows.giveBack(buf);
                buf = null;
            }
        }
        if (unkeptFrom != unkeptEnd && ack - unkeptFrom > 0) {
            unkeptFrom = ack - unkeptEnd >= 0 ? unkeptEnd : ack;
        }
    }

    /** The flow ended: nothing is kept, the window goes back. */
    void release(FlowTable t) {
        keptFrom = keptEnd;
        if (buf != null) {
            t.windows.giveBack(buf);
            buf = null;
        }
    }
}
