package org.xenids.xen.emu;

import java.util.function.Consumer;

/**
 * The skbs netback's TX path builds packets in (xenvif_alloc_skb), with their linear heads in dom0
 * frames. A head of up to 1984 bytes (128 copied bytes, or a small first slot) takes half a frame
 * at offset 64 (NET_SKB_PAD), as kmalloc places a small head without crossing a page. A larger
 * head, a whole first slot of up to 4096 bytes copied because the packet has 18 slots or more,
 * takes two frames as kmalloc's two-page block for it would, its data again at offset 64, so its
 * copy crosses into the second frame when the slot holds more than 4032 bytes; there are
 * {@link #LARGE} such heads a queue, taken when first needed. A head that cannot be had is an
 * allocation failure, as under memory pressure in Linux: netback answers the packet with errors.
 */
final class TxSkbs {
    static final int HEAD_OFF = 64;
    /** The largest head a half-frame buffer holds. */
    static final int SMALL = 2048 - HEAD_OFF;
    /**
     * Two-page heads a queue holds: more than the 14 packets of 18 slots an honest guest can have
     * in flight (each keeps 17 mapped slots of the 256 pending ones). A guest that sends such
     * packets with empty slots (answered at once) or to a receiver that holds them can have more
     * wanted; past the bound its own packets fail to allocate, as under memory pressure.
     */
    static final int LARGE = 16;

    /** A TX packet: its head in dom0, and the pending slots it keeps mapped. */
    static final class TxSkb extends Skb {
        final int[] mapped = new int[NetbackTx.FATAL_SKB_SLOTS + 1];
        int nmapped;
        final long chunkFrame;
        final int chunkOff;
        /** The two-page head this skb holds, or -1. */
        int large = -1;

        TxSkb(Frames frames, long chunkFrame, int chunkOff) {
            super(frames);
            this.chunkFrame = chunkFrame;
            this.chunkOff = chunkOff;
        }
    }

    private final Domain dom0;
    private final TxSkb[] pool;
    private int free;
    private final long[] largeFrame = new long[2 * LARGE];
    private final int[] largeFree = new int[LARGE];
    private int largeFreeCount, largeMade;

    TxSkbs(Domain dom0, Frames frames, int count, Consumer<TxSkb> done) {
        this.dom0 = dom0;
        this.pool = new TxSkb[count];
        for (int i = 0; i < count; i += 2) {
            long f = dom0.allocFrame();
            pool[free++] = skb(frames, f, HEAD_OFF, done);
            pool[free++] = skb(frames, f, 2048 + HEAD_OFF, done);
        }
    }

    private static TxSkb skb(Frames frames, long frame, int off, Consumer<TxSkb> done) {
        TxSkb s = new TxSkb(frames, frame, off);
        s.release = () -> done.accept(s);
        return s;
    }

    /** Whether an skb is free to start a packet in. */
    boolean available() {
        return free > 0;
    }

    /** An skb with room for a head of {@code headLen} bytes, or null when its head cannot be had. */
    TxSkb take(int headLen) {
        int large = -1;
        if (headLen > SMALL) {
            if (largeFreeCount > 0) {
                large = largeFree[--largeFreeCount];
            } else if (largeMade < LARGE) {
                large = largeMade++;
                largeFrame[2 * large] = dom0.allocFrame();
                largeFrame[2 * large + 1] = dom0.allocFrame();
            } else {
                return null;
            }
        }
        TxSkb skb = pool[--free];
        skb.reset();
        skb.nmapped = 0;
        skb.large = large;
        if (large < 0) {
            skb.headFrame = skb.chunkFrame;
            skb.headOff = skb.chunkOff;
        } else {
            skb.headFrame = largeFrame[2 * large];
            skb.headFrame2 = largeFrame[2 * large + 1];
            skb.headOff = HEAD_OFF;
        }
        return skb;
    }

    /** The skb was consumed: it and its head are free again. */
    void give(TxSkb skb) {
        if (skb.large >= 0) {
            largeFree[largeFreeCount++] = skb.large;
            skb.large = -1;
        }
        pool[free++] = skb;
    }
}
