package org.xenids.flow;

/**
 * Reassembly of one direction of a TCP connection. In-order segments go to the listener straight
 * from the packet bytes (no copy); out-of-order ones wait in a circular buffer borrowed from the
 * table's bounded pool, indexed by sequence number. Data seen first wins: later bytes that
 * overlap are compared, and differing ones counted. When the buffer or the pool is exhausted, or
 * the flow ends with a hole, the hole is skipped and reported as a gap.
 */
final class TcpStream {
    private static final int MAX_RANGES = 32;

    final boolean toServer;
    boolean started;
    int nextSeq;
    /** Stream offset of nextSeq: bytes delivered or skipped as gaps so far. */
    long offset;
    private byte[] buf;
    private int[] rs, re; // pending ranges [rs, re) as absolute sequence numbers, in stream order
    private int nr;

    long outOfOrder, retransmitted, overlap, overlapDiff, gaps, gapBytes, deliveredBytes, pastDepth;

    TcpStream(boolean toServer) {
        this.toServer = toServer;
    }

    void reset() {
        started = false;
        nextSeq = 0;
        offset = 0;
        nr = 0;
        outOfOrder = retransmitted = overlap = overlapDiff = gaps = gapBytes = deliveredBytes = pastDepth = 0;
    }

    /** A UDP datagram (or other message) of this direction: delivered as it is, up to the depth. */
    void datagram(Flow f, FlowTable t, byte[] b, int off, int len) {
        deliver(f, t, b, off, len);
    }

    void segment(Flow f, FlowTable t, boolean syn, int seq, byte[] b, int off, int len) {
        if (!started) {
            started = true;
            nextSeq = syn ? seq + 1 : seq;
        }
        int start = syn ? seq + 1 : seq;
        if (len <= 0) return;
        int rel = start - nextSeq;
        if (rel < 0) {
            if (rel + len <= 0) {
                retransmitted += len;
                return;
            }
            overlap += -rel; // the already delivered part is not compared (not kept)
            retransmitted += -rel;
            off -= rel;
            len += rel;
            start = nextSeq;
            rel = 0;
        }
        if (t.depth >= 0 && offset + rel >= t.depth) {
            pastDepth += len;
            if (rel == 0) { // keep the sequence moving so later counters stay right
                nextSeq += len;
                offset += len;
            }
            return;
        }
        if (rel == 0 && (nr == 0 || rs[0] - start >= len)) {
            deliver(f, t, b, off, len);
            drain(f, t);
            return;
        }
        if (rel > 0) outOfOrder++;
        int cap = t.cfg.maxPendingBytes();
        // Make room: skip the holes before buffered data until this segment fits.
        while (nr > 0 && ((start - nextSeq) + len > cap || nr == MAX_RANGES) && rs[0] - start < 0) {
            skipTo(f, t, rs[0]);
            drain(f, t);
        }
        if (start - nextSeq < 0) { // the skip passed part of this segment
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
        if ((start - nextSeq) + len > cap || nr == MAX_RANGES || (buf == null && !borrow(t))) {
            // Still no room (or no buffer to be had): the hole before this segment is given up.
            skipTo(f, t, start);
            deliver(f, t, b, off, len);
            drain(f, t);
            return;
        }
        insert(start, b, off, len);
        drain(f, t);
    }

    private boolean borrow(FlowTable t) {
        buf = t.borrowBuffer();
        if (buf == null) return false;
        if (rs == null) {
            rs = new int[MAX_RANGES];
            re = new int[MAX_RANGES];
        }
        return true;
    }

    /** Copies the bytes of [start, start+len) not yet held; compares the others. */
    private void insert(int start, byte[] b, int off, int len) {
        int mask = buf.length - 1;
        int pos = start, end = start + len;
        for (int i = 0; i < nr && pos - end < 0; i++) {
            if (re[i] - pos <= 0) continue;
            if (rs[i] - end >= 0) break;
            if (rs[i] - pos > 0) {
                copyIn(pos, b, off + (pos - start), rs[i] - pos, mask);
                pos = rs[i];
            }
            int oEnd = re[i] - end < 0 ? re[i] : end;
            for (int s = pos; s - oEnd < 0; s++) {
                if (buf[s & mask] != b[off + (s - start)]) overlapDiff++;
            }
            overlap += oEnd - pos;
            pos = oEnd;
        }
        if (pos - end < 0) copyIn(pos, b, off + (pos - start), end - pos, mask);
        // merge [start, end) into the ranges (kept in stream order relative to nextSeq)
        int i = 0;
        while (i < nr && re[i] - start < 0) i++;
        int j = i, ms = start, me = end;
        while (j < nr && rs[j] - end <= 0) {
            if (rs[j] - ms < 0) ms = rs[j];
            if (re[j] - me > 0) me = re[j];
            j++;
        }
        int removed = j - i;
        if (removed == 0) {
            System.arraycopy(rs, i, rs, i + 1, nr - i);
            System.arraycopy(re, i, re, i + 1, nr - i);
        } else if (removed > 1) {
            System.arraycopy(rs, j, rs, i + 1, nr - j);
            System.arraycopy(re, j, re, i + 1, nr - j);
        }
        rs[i] = ms;
        re[i] = me;
        nr += 1 - removed;
    }

    private void copyIn(int seq, byte[] b, int off, int len, int mask) {
        int p = seq & mask;
        int first = Math.min(len, buf.length - p);
        System.arraycopy(b, off, buf, p, first);
        if (first < len) System.arraycopy(b, off + first, buf, 0, len - first);
    }

    /** Delivers buffered data that has become contiguous; returns the buffer when empty. */
    private void drain(Flow f, FlowTable t) {
        while (nr > 0 && rs[0] - nextSeq <= 0) {
            int from = nextSeq, to = re[0];
            System.arraycopy(rs, 1, rs, 0, nr - 1);
            System.arraycopy(re, 1, re, 0, nr - 1);
            nr--;
            int len = to - from;
            if (len <= 0) continue;
            int mask = buf.length - 1, p = from & mask;
            int first = Math.min(len, buf.length - p);
            deliver(f, t, buf, p, first);
            if (first < len) deliver(f, t, buf, 0, len - first);
        }
        if (nr == 0 && buf != null) {
            t.returnBuffer(buf);
            buf = null;
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
    }

    private void deliver(Flow f, FlowTable t, byte[] b, int off, int len) {
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

    /** At the flow's end: skips remaining holes so every buffered byte is delivered, frees the buffer. */
    void finish(Flow f, FlowTable t) {
        while (nr > 0) {
            skipTo(f, t, rs[0]);
            drain(f, t);
        }
        if (buf != null) {
            t.returnBuffer(buf);
            buf = null;
        }
    }
}
