package org.xenids.tap;

import static org.xenids.tap.TxRing.*;
import static org.xenids.xen.abi.Xen.GNTST_okay;

/**
 * What netback's own ops say of where the packets it takes begin and end, checked against the
 * chains the tap read from a TX ring. netback copies each packet's first bytes (up to 128, or a
 * whole first slot of 18 or more) into a buffer of its own, slot after slot, then maps the rest:
 * a copy landing where another packet's ended, a slot mapped with none of it copied, or an op
 * naming a ref whose slot already had its op, shows a chain the guest changed after the tap read
 * it (two packets taken as one, one as two, another packet's op). Such packets are reported
 * ({@code tx.chain_changed}) and never rebuilt. A packet that netback could still make longer
 * with the requests after it waits, its bytes kept, for the ring's next op call. Apart from
 * {@link TxRing}, which follows the packets that go well, because these checks are about a
 * hostile guest.
 */
final class TxBounds {
    private static final int PAGE = 4096;
    private final TxRing r;
    /** Where the last copy of the ring's backend from its guest ended, and the packet it was matched to, if any. */
    private long lastCopyFrame = -1;
    private int lastCopyDom = -1, lastCopyEnd = -1, lastCopyPkt;
    private boolean lastCopyMatched;
    /** Whether an op that matched no slot named a ref of a slot of the packet already read: never rebuilt. */
    final boolean[] pktSuspect = new boolean[SIZE];
    /**
     * The bytes of a packet read whole from copies alone, taken at the end of the call that made
     * it whole when it waits past that call (see {@link #mayBeJoined}), by when netback may have
     * reused its head buffer.
     */
    final byte[] snap = new byte[SIZE * COPY_LEN];
    final boolean[] pktSnap = new boolean[SIZE];
    /**
     * Whether the packet has an empty slot netback answers with no op: nothing shows what netback
     * read there. Had it read a slot with bytes (the guest wrote it after the tap read it), its op
     * names a ref no slot of the tap awaits, or lands in a slot netback read otherwise, and the
     * packet, whole without it, is not rebuilt.
     */
    final boolean[] pktBlind = new boolean[SIZE];
    /** Of a first slot netback copied in two (its head buffer crossing a page): the first copy's length, else 0. */
    final int[] splitAt = new int[SIZE];
    /** Where the second copy of such a slot landed (in the first copy's domain). */
    final long[] restFrame = new long[SIZE];
    final int[] restOff = new int[SIZE];
    /** The latest call with an op of the ring's backend matched to one of its slots. */
    private long opSeq = -1;

    TxBounds(TxRing r) {
        this.r = r;
    }

    /**
     * A copy of slot {@code s} (of packet {@code p}) landed at (domid, frame, offset): checked
     * against where the ring's previous copy ended (apart from {@link TxRing#copied}, which runs
     * for every copy, to keep that one small enough to be inlined).
     */
    void copyOrder(int s, int p, boolean ok, int dstDom, long dstFrame, int dstOff, int len, long now) {
        // netback copies a packet's head into a buffer of its own, slot after slot, packet
        // after packet: a first slot copied on from where the ring's previous copy ended, or
        // a later slot copied anywhere else, is a chain the guest changed after the tap read
        // it (netback took two packets as one, or one as two, or another packet's op).
        boolean follows = lastCopyDom == dstDom && lastCopyFrame == dstFrame && lastCopyEnd == dstOff;
        // A copy Xen failed (the packet is a drop) is not judged; where it was meant to land counts.
        if (ok && r.kind[s] == FIRST && follows) {
            if (lastCopyMatched && lastCopyPkt - r.cons >= 0 && lastCopyPkt - r.parsed < 0) {
                chainChanged(lastCopyPkt & MASK, now);
            }
            chainChanged(p, now);
        } else if (ok && r.kind[s] == FOLLOW && !(follows && lastCopyMatched && lastCopyPkt == r.pkt[s])) {
            chainChanged(p, now);
            if (!follows) {
                r.reports.lost(r.q, Tap.TX, 1); // a head netback began there: a packet of its own
            }
        }
        if (ok && len != Math.min(r.size[s], Math.min(r.pktLen[p], COPY_LEN) - r.pos[s])) {
            otherLength(s, p, dstOff, len, now);
        }
        // Where netback meant the copy to land, whether or not Xen carried it out: the next slot
        // of a packet whose head copy failed is copied on from there.
        lastCopyDom = dstDom;
        lastCopyFrame = dstFrame;
        lastCopyEnd = dstOff + len;
        lastCopyMatched = true;
        lastCopyPkt = r.pkt[s];
    }

    /**
     * A copy of slot {@code s} was not as long as netback copies of the packet as read: the first
     * min(length, 128) bytes, slot after slot, each copy as much of its slot as is left of them.
     * It is of a slot (or packet) netback read otherwise than the tap, a change a map, which names
     * no length, would not show. Of 18 slots or more netback copies the first slot whole (in two
     * copies where its buffer crosses a page, the first ending at the page's end: {@link #findRest}).
     */
    private void otherLength(int s, int p, int dstOff, int len, long now) {
        if (!(r.kind[s] == FIRST && (len == r.size[s] || len < r.size[s] && dstOff + len == PAGE)
                && wholeFirstSlotCopied(p))) {
            chainChanged(p, now);
        }
    }

    /**
     * Netback's copy of slot {@code s} (of packet {@code p}) does not start where the slot as
     * read starts, or is longer: netback sent what the slot says now, a frame the tap did not
     * read. Reported, counted lost once; where the copy landed is kept, since it is still
     * netback's copy of this packet and its next slot's copy goes on from there.
     */
    void ringChanged(int s, int p, int dstDom, long dstFrame, int dstOff, int len, long now) {
        r.reports.anomaly(r.q, Tap.TX, "tx.ring_changed", s, now);
        if (r.pktState[p] == OK) {
            r.reports.lost(r.q, Tap.TX, 1);
        }
        r.pktState[p] = FAILED;
        copyOrder(s, p, false, dstDom, dstFrame, dstOff, len, now);
    }

    /** A copy of the backend from its guest that matched no slot ended at (domid, frame, offset). */
    void copiedElsewhere(int dstDom, long dstFrame, int dstEnd) {
        lastCopyDom = dstDom;
        lastCopyFrame = dstFrame;
        lastCopyEnd = dstEnd;
        lastCopyMatched = false;
    }

    /** Packet {@code p} is not the packet netback took: reported, and never rebuilt (lost when decided). */
    private void chainChanged(int p, long now) {
        // An op of netback not for the slot as the tap read it, as good as one matching no slot:
        // a packet with an empty slot it awaits no op for may have lent netback that op's ref.
        r.unmatched++;
        if (!pktSuspect[p] && (r.pktState[p] == OK || r.pktState[p] == READY)) {
            pktSuspect[p] = true;
            r.reports.anomaly(r.q, Tap.TX, "tx.chain_changed", p, now);
        }
    }

    /** Packet {@code s}, whole, is being decided: see {@link #pktBlind}. */
    void blindChecked(int s, long now) {
        if (pktBlind[s] && r.unmatched != r.pktUnmatched[s] && !pktSuspect[s]) {
            chainChanged(s, now); // an op since it was read matched no slot: maybe netback's for its empty slot
        }
    }

    /** Whether netback copies packet {@code p}'s first slot whole and maps every other (18 slots or more). */
    private boolean wholeFirstSlotCopied(int p) {
        int data = 0;
        for (int k = r.pktEnd[p] - 1; k != r.pkt[p] && r.kind[k & MASK] == FOLLOW; k--) {
            data++;
        }
        return data >= MAX_SLOTS - 1;
    }

    /**
     * An op of the ring's backend in the call being read matched a slot: a packet held to the
     * ring's next such call is decided at its end.
     */
    void opCall() {
        opSeq = r.refreshedSeq;
        r.tap.atCallEnd(r);
    }

    /**
     * Whether packet {@code s}, read whole from copies alone, could still be the head of a packet
     * netback made longer with the requests after it (their slots mapped as its own, in the map
     * call after the copies): its copies took all netback copies (128 bytes; or a packet of 18
     * slots, whose first slot netback copies whole), requests follow it, and netback has not
     * begun the next packet with a copy of its first slot (it would have mapped that slot as
     * this one's). It waits for the next call with an op of the ring, by when netback's maps
     * for its batch are in.
     */
    boolean mayBeJoined(int s) {
        int next = r.pktEnd[s];
        return r.readySeq[s] == opSeq && next != r.parsed && (r.kind[next & MASK] != FIRST || r.copyLen[next & MASK] == 0)
                && (r.pktLen[s] == COPY_LEN || r.parsed - next >= MAX_SLOTS - 1) && copiesOnly(s);
    }

    /**
     * An op of the ring's backend named {@code ref}, a ref of its guest that no slot awaits: a
     * held packet with a slot of that ref already read may have been read from an op netback made
     * for another packet (one whose request the guest rewrote), and is never rebuilt.
     */
    void unmatchedRef(int ref) {
        for (int i = r.cons; i != r.parsed; i++) {
            int s = i & MASK;
            if ((r.kind[s] == FIRST || r.kind[s] == FOLLOW) && r.gref[s] == ref && (r.done[s] || r.copyLen[s] > 0 || r.mapFrame[s] != 0)) {
                int p = r.pkt[s] & MASK;
                if (r.pktState[p] == OK || r.pktState[p] == READY) {
                    pktSuspect[p] = true;
                }
            }
        }
    }

    /** Whether copies alone made packet {@code s0} whole (at most 128 bytes): no slot of it mapped. */
    private boolean copiesOnly(int s0) {
        if (r.pktLen[s0] > COPY_LEN) {
            return false;
        }
        for (int k = r.pkt[s0], end = r.pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (r.kind[s] != EXTRA && r.copyLen[s] != r.size[s]) {
                return false; // a slot mapped: the map call is in, nothing more of it to wait for
            }
        }
        return true;
    }

    /**
     * Keeps the bytes of packet {@code first}, made whole by copies alone, while they are where
     * netback copied them; false when they cannot be read.
     */
    boolean snapshot(int first) {
        int s0 = first & MASK;
        boolean ok = true;
        for (int k = first, end = r.pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (r.kind[s] != EXTRA && r.size[s] > 0) {
                ok &= r.tap.mem.read(r.copyDom[s], r.copyFrame[s], r.copyOff[s], snap, s0 * COPY_LEN + r.pos[s], r.size[s]);
            }
        }
        pktSnap[s0] = ok;
        return ok;
    }

    /**
     * A slot of packet {@code p} was mapped before any copy of it was seen. netback copies every
     * packet's head (at least one copy, of length 0 for an empty first slot) before it maps any
     * of it: this map is of another packet, whose request the guest rewrote to name this one's
     * ref, perhaps in a batch before the one that takes this packet (whose requests the guest may
     * change in between). The packet is not rebuilt from it.
     */
    void mappedUnbegun(int p, long now) {
        chainChanged(p, now);
    }

    /**
     * Slot {@code s} of packet {@code p} was mapped with none of it copied. netback copies a
     * packet's first bytes before it maps any of them: a slot the tap awaits a copy of, mapped
     * without one, is one netback took as part of another packet (a chain the guest joined after
     * the tap read it). Whichever packet held before it netback joined it to is not rebuilt either.
     */
    void mappedUncopied(int s, int p, long now) {
        if (r.kind[s] == FIRST || r.pos[s] < COPY_LEN && !wholeFirstSlotCopied(p)) {
            chainChanged(p, now);
            for (int i = r.cons; i != r.parsed && i != r.pkt[s]; i = r.pktEnd[i & MASK]) {
                if (r.kind[i & MASK] != FIRST) {
                    break;
                }
                chainChanged(i & MASK, now);
            }
        }
    }

    /**
     * The request index of a first slot whose copy stopped short of its end and whose rest a copy
     * from {@code ref} at {@code srcOff} goes on with, or −1. netback copies the whole first slot
     * of a packet of 18 slots or more into a head buffer of its own, which crosses a page when the
     * slot is nearly a page long; no grant copy crosses a page (Linux 6.1.y on), so the slot's
     * copy is split there. Looked for only when no slot awaits the copy: bounded by the ring.
     */
    int findRest(int ref, int srcOff) {
        for (int i = r.cons; i != r.parsed; i++) {
            int s = i & MASK;
            if (r.kind[s] == FIRST && r.gref[s] == ref && r.copyLen[s] > 0 && r.copyLen[s] < r.size[s]
                    && splitAt[s] == 0 && r.mapFrame[s] == 0 && !r.done[s] && r.off[s] + r.copyLen[s] == srcOff
                    && r.pktState[s] != INVALID) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The rest of first slot {@code s}, found by {@link #findRest}, copied to (domid, frame,
     * offset). Unless the first copy ended at its page's end, this one starts a page of the same
     * domain and holds the rest of the slot as the tap read it, in a packet whose first slot
     * netback copies whole, it is not netback's copy of the packet the tap read: not rebuilt.
     */
    void copiedRest(int s, int len, int status, boolean refused, int dstDom, long dstFrame, int dstOff, long now) {
        opCall();
        int rest = r.size[s] - r.copyLen[s];
        boolean ok = status == GNTST_okay;
        if (ok && !(r.copyOff[s] + r.copyLen[s] == PAGE && dstOff == 0 && dstDom == r.copyDom[s] && len == rest
                && wholeFirstSlotCopied(s))) {
            chainChanged(s, now);
        }
        if (!ok) {
            r.failed(s, s, status, refused, now);
        }
        splitAt[s] = r.copyLen[s];
        restFrame[s] = dstFrame;
        restOff[s] = dstOff;
        r.copyLen[s] += Math.min(len, rest);
        lastCopyDom = dstDom;
        lastCopyFrame = dstFrame;
        lastCopyEnd = dstOff + len;
        lastCopyMatched = true;
        lastCopyPkt = r.pkt[s];
        r.tap.atCallEnd(r);
        r.complete(s, now); // the slot's copies are all in, as netback made them
    }

    /** Reads the rest of split first slot {@code s} into {@code buf} after its first copy's bytes. */
    boolean readRest(int s, byte[] buf) {
        int at = splitAt[s];
        return r.tap.mem.read(r.copyDom[s], restFrame[s], restOff[s], buf, r.pos[s] + at, r.copyLen[s] - at);
    }

    /**
     * Where packet {@code s0}'s head went, with the frame's bytes from there, for an RX copy out of
     * it (guest→guest): a first slot copied in two is read out of both of its pages.
     */
    void noteHead(int s0, byte[] buf, int len) {
        r.tap.noteHead(r.copyDom[s0], r.copyFrame[s0], r.copyOff[s0], r.q.front, buf, 0, len);
        int at = splitAt[s0];
        if (at > 0) {
            r.tap.noteHead(r.copyDom[s0], restFrame[s0], restOff[s0], r.q.front, buf, at, len - at);
        }
    }
}
