package org.xenids.flow;

/**
 * Reassembly of one direction of a TCP connection. In-order segments go to the listener straight
 * from the packet bytes (no copy); out-of-order ones wait in a circular buffer borrowed from the
 * table's bounded pool, indexed by sequence number, with a bitmap of the bytes held. A bitmap
 * rather than a list of runs: any number of holes within the window (an evader's every-other-
 * segment-first, which the target's stack takes) costs the same per byte and leaves no gap. Data
 * seen first wins: later bytes that overlap are compared, and differing ones counted; so are later
 * copies of delivered bytes inside the depth that the receiver has not acknowledged, which stay in
 * the buffer for it (see {@link StreamWindow}). When the window or the pool is exhausted, or the
 * flow ends with a hole, the hole is skipped and reported as a gap. So are, at the flow's end, bytes the receiver acknowledged that never came by (the
 * capture lost them, or the last segments with them): without that, a stream whose only or last
 * segment was lost would end looking complete.
 */
final class TcpStream {

    final boolean toServer;
    boolean started;
    int nextSeq;
    /** Stream offset of nextSeq: bytes delivered or skipped as gaps so far. */
    long offset;
    /** Bytes held out of order and delivered ones kept until acknowledged, while there are any. */
    private final StreamWindow w = new StreamWindow();
    /** The furthest acknowledgement the receiver sent for this direction, if any. */
    private boolean acked;
    private int ackEnd;
    /** Data a SYN carried is held until the receiver's acknowledgement says whether it was taken. */
    private boolean synHeld;
    private int synDataEnd;
    /** One past the furthest data byte seen (meaningful once started). */
    private int seenEnd;
    /**
     * The sequence number of this direction's FIN, if one was seen at or past the next number:
     * the data ends there. Of several, the lowest not yet passed, the one its receiver meets first.
     */
    private boolean fin;
    private int finSeq;
    /**
     * The stream reached {@link #finSeq} with nothing past it delivered: its receiver took the FIN
     * ({@code tcp_fin}), dropped what it held past it, and queues no byte past it any more.
     */
    private boolean finTaken;

    long outOfOrder, retransmitted, overlap, overlapDiff, gaps, gapBytes, deliveredBytes, pastDepth, synDataDropped,
            afterFinDropped, rechecked, uncompared;
    final UrgentMark urgent = new UrgentMark();

    TcpStream(boolean toServer) {
        this.toServer = toServer;
    }

    void reset() {
        started = false;
        nextSeq = 0;
        offset = 0;
        w.reset();
        acked = fin = finTaken = synHeld = false;
        outOfOrder = retransmitted = overlap = overlapDiff = gaps = gapBytes = deliveredBytes = pastDepth = 0;
        synDataDropped = afterFinDropped = rechecked = uncompared = 0;
        urgent.reset();
    }

    /**
     * A UDP datagram of this direction: delivered whole, whatever the depth (which bounds what a
     * TCP stream holds; a datagram is never held, and each is a message of its own).
     */
    void datagram(Flow f, FlowTable t, byte[] b, int off, int len) {
        t.listener.payload(f, toServer, b, off, len, offset);
        deliveredBytes += len;
        offset += len;
    }

    /**
     * Whether a FIN or RST at {@code seq} (with {@code len} bytes) from this direction is one its
     * receiver acts on: a FIN in order (nothing missing before it, its own number not passed: a
     * segment wholly behind the next number is a duplicate Linux drops), a RST exactly at the next
     * number (RFC 5961: Linux ignores any other), or either before this direction was seen at all.
     * A FIN ahead of a hole or behind the stream, or a RST elsewhere in the window, is ignored by
     * the receiver, and must not end the connection here either.
     */
    boolean closes(int seq, int len, boolean rst, long depth) {
        if (!started) return true;
        int next = nextSeq;
        if (depth >= 0 && offset >= depth && seenEnd - next > 0) {
            next = seenEnd; // past the depth nothing is kept: the furthest byte seen stands for the next
        }
        int d = seq - next;
        return rst ? d == 0 || (fin && seq == finSeq + 1) : d <= 0 && d + Math.max(0, len) >= 0;
    }

    /**
     * The receiver acknowledged this direction up to {@code ack}. Its first acknowledgement
     * also says whether its stack took the data a SYN carried (see {@link #synHeld}).
     */
    void acked(Flow f, FlowTable t, int ack) {
        if (synHeld) {
            if (ack - synDataEnd >= 0) {
                settleSynData(f, t, true);
            } else if (ack == nextSeq) {
                settleSynData(f, t, false);
            }
        }
        if (!acked || ack - ackEnd > 0) {
            acked = true;
            ackEnd = ack;
        }
        w.acked(t, ack, synHeld);
    }

    /**
     * Data on a SYN waits, held, for the receiver's word: without TCP Fast Open its stack drops
     * it and acknowledges the SYN alone, so the sender has to send it again, and delivered at
     * once it would stand in for whatever comes at those numbers then (an insertion: cover on
     * the SYN, the attack after the handshake). Taken when acknowledged, or when the sender goes
     * on after it; dropped (counted) when only the SYN is acknowledged, when the sender sends
     * those numbers again, or when the flow ends first.
     */
    private void settleSynData(Flow f, FlowTable t, boolean taken) {
        synHeld = false;
        if (!taken) {
            synDataDropped += w.pending;
            w.dropHeld(nextSeq, w.cap);
        }
        drain(f, t);
    }

    /**
     * A segment of this direction; {@code urgentPointer}: its urgent pointer when URG is set on a
     * segment that is neither SYN nor RST (taken before its data, as Linux's {@code tcp_urg}), else −1.
     */
    void segment(Flow f, FlowTable t, boolean syn, boolean finFlag, int seq, int urgentPointer, byte[] b, int off,
                 int len) {
        data(f, t, syn, finFlag, seq, urgentPointer, b, off, len);
        if (fin && !finTaken && nextSeq == finSeq) {
            // Linux meets the FIN in order (not covered by a segment past it) and purges what it
            // held out of order past it (tcp_fin).
            finTaken = true;
            afterFinDropped += w.pending;
            w.dropHeld(nextSeq, w.cap);
            drain(f, t);
        }
    }

    /**
     * Whether a segment of {@code len} bytes at {@code seq} reaches past a FIN its receiver took,
     * beyond the FIN's own number (a byte at it is a duplicate, as a 1-byte keepalive sends): none
     * of it is queued, and it is news to its receiver.
     */
    boolean afterFin(int seq, int len) {
        return finTaken && len > 0 && seq + len - (finSeq + 1) > 0;
    }

    private void data(Flow f, FlowTable t, boolean syn, boolean finFlag, int seq, int urgentPointer, byte[] b, int off,
                      int len) {
        if (!started) {
            started = true;
            nextSeq = syn ? seq + 1 : seq;
            seenEnd = nextSeq;
            w.start(nextSeq);
        }
        if (urgentPointer >= 0 && seq + Math.max(0, len) - nextSeq >= 0) {
            urgent.pointer(seq, urgentPointer, nextSeq); // not from an old duplicate, which Linux drops first
        }
        int start = syn ? seq + 1 : seq;
        int finAt = start + Math.max(0, len);
        if (finFlag && finAt - nextSeq >= 0 && (!fin || finSeq - nextSeq < 0 || finAt - finSeq < 0) && !finTaken) {
            fin = true; // a FIN behind the next number is one its receiver has passed
            finSeq = finAt;
        }
        if (len > 0 && start + len - seenEnd > 0) {
            seenEnd = start + len;
        }
        if (len <= 0) return;
        if (finTaken) { // nothing is queued past the FIN; what comes before it was delivered
            compareDelivered(f, t, start, b, off, len);
            retransmitted += len;
            return;
        }
        if (synHeld && !syn) {
            settleSynData(f, t, start == synDataEnd); // the sender goes on after it, or sends it again
        }
        if (syn) {
            if (!synHeld && offset == 0 && start == nextSeq && w.pending == 0 && (w.buf != null || w.borrow(t))) {
                int n = (int) Math.min(len, t.depth >= 0 ? Math.min(t.depth, w.cap) : w.cap);
                w.insert(start, b, off, n);
                synHeld = true;
                synDataEnd = start + len;
            }
            return; // a SYN's data again, or with no window to wait in: its first copy decides
        }
        int rel = start - nextSeq;
        if (rel < 0) {
            compareDelivered(f, t, start, b, off, len);
            if (rel + len <= 0) {
                retransmitted += len;
                return;
            }
            overlap += -rel;
            retransmitted += -rel;
            off -= rel;
            len += rel;
            start = nextSeq;
            rel = 0;
        }
        if (t.depth >= 0 && offset + rel >= t.depth) {
            pastDepth += len;
            if (rel == 0) { // keep the sequence moving so later counters stay right
                w.dropHeld(nextSeq, len); // (nothing is held past the depth: kept for the invariant)
                nextSeq += len;
                offset += len;
                urgent.passed(nextSeq);
            }
            return;
        }
        if (rel == 0 && (w.pending == 0 || w.noneHeld(start, len))) {
            deliver(f, t, b, off, len);
            drain(f, t);
            return;
        }
        if (t.depth >= 0 && offset + rel + len > t.depth) {
            // Bytes past the depth are never looked at: held, they would only crowd the window,
            // and a segment that overflowed it would have the hole before it, inside the depth,
            // given up (a sender's way to hide the stream's first bytes).
            int keep = (int) (t.depth - offset - rel);
            pastDepth += len - keep;
            len = keep;
        }
        if (rel > 0) outOfOrder++;
        int window = t.window;
        // Make room: skip the holes before buffered data until this segment fits.
        while (w.pending > 0 && (start - nextSeq) + len > window) {
            int first = w.firstHeld(nextSeq);
            if (first - start >= 0) break;
            skipTo(f, t, first);
            drain(f, t);
        }
        if (start - nextSeq < 0) { // the skip passed part of this segment
            compareDelivered(f, t, start, b, off, len);
            int cut = nextSeq - start;
            if (cut >= len) {
                retransmitted += len;
                return;
            }
            overlap += cut;
            off += cut;
            len -= cut;
            start = nextSeq;
        }
        if ((start - nextSeq) + len > window || (w.buf == null && !w.borrow(t))) {
            // Still no room (or no buffer to be had): the hole before this segment is given up,
            // and the segment delivered over whatever was held in its range.
            skipTo(f, t, start);
            w.dropHeld(nextSeq, len);
            deliver(f, t, b, off, len);
            drain(f, t);
            return;
        }
        int held = w.pending;
        int differing = w.insert(start, b, off, len);
        overlap += len - (w.pending - held);
        overlapDiff += differing;
        if (differing > 0) {
            t.listener.overlapDiffers(f, toServer, offset + (start - nextSeq), differing);
        }
        drain(f, t);
    }

    /** Delivers buffered data that has become contiguous; returns the buffer when empty. */
    private void drain(Flow f, FlowTable t) {
        while (!synHeld) {
            int n = w.takeRun(nextSeq);
            if (n == 0) break;
            deliver(f, t, w.buf, nextSeq & (w.cap - 1), n);
        }
        w.idle(t);
    }

    /**
     * A new connection takes the 5-tuple while delivered bytes inside the depth await their
     * receiver's acknowledgement. The close that let it (a FIN or RST at the next number) may be
     * one the receiver ignored, having dropped those bytes: a later copy of them then comes in the
     * new flow, where nothing is there to compare it with. Reported as not compared.
     */
    void restarted(Flow f, FlowTable t) {
        notCompared(f, t, w.unkeptFrom, w.unkeptEnd - w.unkeptFrom);
        notCompared(f, t, w.keptFrom, w.keptEnd - w.keptFrom);
    }

    /** {@code n} delivered bytes from {@code from} whose later copy is not compared: counted and reported. */
    private void notCompared(Flow f, FlowTable t, int from, long n) {
        if (n > 0) {
            uncompared += n;
            t.listener.copyNotCompared(f, toServer, offset - (nextSeq - from), n);
        }
    }

    /** Keeps the next {@code len} bytes of the stream (at nextSeq) as far as they lie inside the depth, until acknowledged. */
    private void keep(FlowTable t, byte[] b, int off, int len) {
        if (!t.keepDelivered) return;
        int n = (int) Math.min(len, t.depth - offset);
        if (n > 0) w.keep(t, nextSeq, b, off, n);
    }

    /**
     * A segment's bytes [start, start+len) behind the next number: those still kept are compared
     * with it, and differing ones counted and reported (the bytes delivered first stay); those that
     * could not be kept are counted and reported as not compared.
     */
    private void compareDelivered(Flow f, FlowTable t, int start, byte[] b, int off, int len) {
        // Positions from each run's first number, signed: a segment 2^31 away overlaps nothing.
        long lo = start - w.unkeptFrom;
        long a = Math.max(lo, 0), e = Math.min(lo + len, w.unkeptEnd - w.unkeptFrom);
        notCompared(f, t, w.unkeptFrom + (int) a, e - a);
        lo = start - w.keptFrom;
        a = Math.max(lo, 0);
        e = Math.min(lo + len, w.keptEnd - w.keptFrom);
        if (e <= a) return;
        int from = w.keptFrom + (int) a, n = (int) (e - a), at = off + (int) (a - lo);
        byte[] kept = w.buf;
        int mask = w.cap - 1, differing = 0;
        rechecked += n;
        for (int k = 0; k < n; k++) {
            if (kept[(from + k) & mask] != b[at + k]) differing++;
        }
        if (differing > 0) {
            overlapDiff += differing;
            t.listener.overlapDiffers(f, toServer, offset - (nextSeq - from), differing);
        }
    }

    private void skipTo(Flow f, FlowTable t, int seq) {
        int len = seq - nextSeq;
        if (len <= 0) return;
        gaps++;
        gapBytes += len;
        t.listener.gap(f, toServer, offset, len);
        offset += len;
        nextSeq = seq;
        urgent.passed(seq);
    }

    /** Delivers the next {@code len} bytes of the stream; the receiver's urgent byte among them as the policy says. */
    private void deliver(Flow f, FlowTable t, byte[] b, int off, int len) {
        keep(t, b, off, len);
        int u = urgent.within(nextSeq, len);
        if (u < 0) {
            hand(f, t, b, off, len);
            return;
        }
        urgent.met();
        hand(f, t, b, off, u);
        boolean outOfBand = t.urgentOutOfBand;
        if (offset < t.depth || t.depth < 0) {
            t.listener.urgentByte(f, toServer, offset, outOfBand);
        }
        if (outOfBand) { // not the application's: the stream goes on after it
            offset++;
            nextSeq++;
        } else {
            hand(f, t, b, off + u, 1);
        }
        hand(f, t, b, off + u + 1, len - u - 1);
    }

    private void hand(Flow f, FlowTable t, byte[] b, int off, int len) {
        long room = t.depth < 0 ? len : Math.max(0, t.depth - offset);
        int n = (int) Math.min(len, room);
        if (n > 0) {
            t.listener.payload(f, toServer, b, off, n, offset);
            deliveredBytes += n;
        }
        pastDepth += len - n;
        offset += len;
        nextSeq += len;
    }

    /**
     * At the flow's end: skips remaining holes so every buffered byte is delivered, frees the
     * buffer, and reports as a gap what the receiver acknowledged beyond (up to the depth).
     */
    void finish(Flow f, FlowTable t) {
        if (synHeld) {
            settleSynData(f, t, false); // never acknowledged
        }
        while (w.pending > 0) {
            skipTo(f, t, w.firstHeld(nextSeq));
            drain(f, t);
        }
        if (started && acked) {
            int end = fin && ackEnd - finSeq > 0 ? finSeq : ackEnd; // the FIN takes a number, no byte
            long lost = end - nextSeq;
            if (t.depth >= 0) lost = Math.min(lost, t.depth - offset);
            if (lost > 0) skipTo(f, t, nextSeq + (int) lost);
        }
        w.release(t);
    }

    /** Delivered bytes inside the depth that could not be kept until acknowledged (no buffer). */
    long unkept() {
        return w.unkept;
    }
}
