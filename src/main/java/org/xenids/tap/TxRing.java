package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Netif;

/**
 * One TX ring (guest→backend) as the tap follows it: request chains parsed from the ring page
 * the backend mapped (by netback's own rules, see {@link TxChain}), then every copy and map the
 * backend makes is matched to the ring slot whose grant ref it names. A packet is rebuilt when
 * every one of its slots is covered: the copied head read from the backend's destination, the
 * rest from the frames the maps returned. All state is per slot in fixed arrays: memory is
 * bounded by the ring, not by traffic.
 */
final class TxRing {
    static final int SIZE = Netif.Sring.TX_SIZE, MASK = SIZE - 1;
    static final int MAX_SLOTS = XEN_NETIF_NR_SLOTS_MIN, FATAL_SLOTS = 20;
    static final int ENTRY = Netif.TxRequest.SIZE;
    /**
     * netback copies a packet's first bytes (XEN_NETBACK_TX_COPY_LEN) and maps the rest: a copy
     * starts in them (the first slot copied whole, of a packet of 18 slots or more, starts at 0).
     */
    static final int COPY_LEN = 128;
    static final byte NONE = 0, FIRST = 1, EXTRA = 2, FOLLOW = 3;
    /**
     * Packet states: OK (being read), FAILED (an op failed: no frame), READY (read whole, waiting
     * for an older packet of the ring), INVALID (finished: no later op may match it).
     */
    static final byte OK = 0, FAILED = 1, INVALID = 2, READY = 3;

    final VifQueue q;
    final long frame;
    final Tap tap;
    final Reports reports;
    /** The ring page as last read. */
    final byte[] page = new byte[4096];
    boolean broken;
    int reqProd;
    int parsed, cons;
    /** The first packet {@link TxGiveUp#skipped} has not looked at yet, when past {@code cons}. */
    int skipFrom;
    private int rspProd;
    long refreshedSeq = -1;
    /** The last copy call of the backend naming this ring's guest's grants: each netback TX batch starts with one. */
    long copyCallSeq = -1;
    long recheckSeq = -1;
    /**
     * The batch (its copy call) in which a packet was given up as rewritten: netback's ops for
     * what the guest wrote instead may have landed in slots of packets behind it, so while that
     * batch lasts a ready packet waits for the end of the call that made it whole, by when the
     * packet's own ops, naming the same refs, are in (see {@link #unmatchedRef}).
     */
    long holdBatch = Long.MIN_VALUE;
    /** The call in which this ring waits for the end of the call (see {@link GrantOps#waitForCallEnd}). */
    long waitSeq = -1;
    /** The latest {@code freshFrom} a ready packet was held back with in that call. */
    private long waitFresh = Long.MIN_VALUE;
    /** A slot's request as the ring holds it now, to compare with {@link #page}. */
    final byte[] entry = new byte[ENTRY];
    private int copyHint, mapHint;
    /** Where the last copy of this ring's backend from its guest ended, and the packet it was matched to, if any. */
    private long lastCopyFrame = -1;
    private int lastCopyDom = -1, lastCopyEnd = -1, lastCopyPkt;
    private boolean lastCopyMatched;

    // Per slot (request index & MASK); TxChain writes a chain's kinds, refs, offsets and sizes,
    // and of its first slot the packet's end, length, time and checksum flag.
    final byte[] kind = new byte[SIZE];
    final int[] pkt = new int[SIZE];
    final int[] gref = new int[SIZE];
    final int[] off = new int[SIZE];
    final int[] size = new int[SIZE];
    private final int[] pos = new int[SIZE];
    private final int[] copyLen = new int[SIZE];
    private final int[] copyDom = new int[SIZE];
    private final long[] copyFrame = new long[SIZE];
    private final int[] copyOff = new int[SIZE];
    private final long[] mapFrame = new long[SIZE];
    private final boolean[] done = new boolean[SIZE];
    private final boolean[] reported = new boolean[SIZE];
    // Per packet, at its first slot.
    final int[] pktEnd = new int[SIZE];
    final int[] pktLen = new int[SIZE];
    private final int[] pktLeft = new int[SIZE];
    final byte[] pktState = new byte[SIZE];
    final long[] pktTime = new long[SIZE];
    /** Copies and maps by this ring's backend of its guest's refs that matched no slot, so far; at each packet's parse. */
    long unmatched;
    final long[] pktUnmatched = new long[SIZE];
    /** The hypercall in which a READY packet was read whole. */
    private final long[] readySeq = new long[SIZE];
    /** Whether any copy or map of the packet has been seen. */
    final boolean[] pktStarted = new boolean[SIZE];
    /** Whether the packet's TCP/UDP checksum stands as sent: flags neither csum_blank nor data_validated, no GSO. */
    final boolean[] pktChecked = new boolean[SIZE];
    /** Whether an op that matched no slot named a ref of a slot of the packet already read: never rebuilt. */
    private final boolean[] pktSuspect = new boolean[SIZE];
    /**
     * The bytes of a packet read whole from copies alone, taken at the end of the call that made
     * it whole when it waits past that call (see {@link #mayBeJoined}), by when netback may have
     * reused its head buffer.
     */
    private final byte[] snap = new byte[SIZE * COPY_LEN];
    private final boolean[] pktSnap = new boolean[SIZE];
    /** The latest call with an op of this ring's backend matched to one of its slots. */
    private long opSeq = -1;

    TxRing(Tap tap, VifQueue q, long frame) {
        this.tap = tap;
        this.reports = tap.reports;
        this.q = q;
        this.frame = frame;
    }

    /** Reads the ring's indices and any requests published since the last look, parsing them into packets. */
    void refresh(long seq, long now) {
        if (broken || refreshedSeq == seq) {
            return;
        }
        refreshedSeq = seq;
        if (!tap.mem.read(q.front, frame, 0, page, 0, 16)) {
            return;
        }
        reqProd = Mem.u32(page, Netif.Sring.REQ_PROD);
        rspProd = Mem.u32(page, Netif.Sring.RSP_PROD);
        if (reqProd - rspProd > SIZE || reqProd - parsed > SIZE || reqProd - parsed < 0) {
            // netback: "Impossible number of requests" — the vif is disabled.
            reports.anomaly(q, TX_DIR, "tx.req_prod_overrun", reqProd & MASK, now);
            broken = true;
            return;
        }
        if (reqProd - cons > SIZE) {
            TxGiveUp.overtaken(this, reqProd - SIZE, now);
        }
        for (int i = parsed; i != reqProd; i++) {
            int at = Netif.Sring.RING + (i & MASK) * ENTRY;
            if (!tap.mem.read(q.front, frame, at, page, at, ENTRY)) {
                return;
            }
        }
        while (parsed != reqProd && !broken) {
            int end = TxChain.parse(this, parsed, now);
            if (end < 0) {
                return;
            }
            parsed = end;
        }
    }

    static final int TX_DIR = Tap.TX;

    /**
     * Starts following packet {@code i}, which netback takes: each of its slots (the head, then
     * {@code firstData} up to {@code end}) awaits its copy or map.
     */
    void follow(int i, int end, int firstData) {
        int s0 = i & MASK;
        pktState[s0] = OK;
        pktStarted[s0] = false;
        pktUnmatched[s0] = unmatched;
        pktSuspect[s0] = false;
        pktSnap[s0] = false;
        int p = 0;
        int left = 0;
        for (int k = i; k != end; k = k == i ? firstData : k + 1) {
            int s = k & MASK;
            pkt[s] = i;
            pos[s] = p;
            p += size[s];
            copyLen[s] = 0;
            mapFrame[s] = 0;
            done[s] = false;
            reported[s] = false;
            left++;
        }
        pktLeft[s0] = left;
    }

    /** The request index of the data slot awaiting a copy from {@code ref} at {@code srcOff}, or −1. */
    int findCopy(int ref) {
        int n = parsed - cons;
        for (int k = 0, i = copyHint - cons >= 0 && copyHint - parsed < 0 ? copyHint : cons; k < n; k++) {
            int s = i & MASK;
            if (gref[s] == ref && (kind[s] == FIRST || kind[s] == FOLLOW) && copyLen[s] == 0 && mapFrame[s] == 0
                    && !done[s] && pos[s] < COPY_LEN && pktState[pkt[s] & MASK] != INVALID) {
                return i;
            }
            i = i + 1 == parsed ? cons : i + 1;
        }
        return -1;
    }

    /** The request index of the data slot awaiting a map of {@code ref}, or −1. */
    int findMap(int ref) {
        int n = parsed - cons;
        for (int k = 0, i = mapHint - cons >= 0 && mapHint - parsed < 0 ? mapHint : cons; k < n; k++) {
            int s = i & MASK;
            if (gref[s] == ref && (kind[s] == FIRST || kind[s] == FOLLOW) && mapFrame[s] == 0 && !done[s]
                    && pktState[pkt[s] & MASK] != INVALID) {
                return i;
            }
            i = i + 1 == parsed ? cons : i + 1;
        }
        return -1;
    }

    /**
     * A completed copy from slot {@code idx}: {@code srcOff}/{@code len} must be the slot's start,
     * the data now at (domid, frame, offset) in the backend's memory.
     */
    void copied(int idx, int srcOff, int len, int status, boolean refused, int dstDom, long dstFrame, int dstOff,
                long now) {
        int s = idx & MASK;
        copyHint = idx + 1;
        opCall();
        int p = pkt[s] & MASK;
        if (!pktStarted[p]) {
            pktStarted[p] = true;
            TxGiveUp.skipped(this, pkt[s], now);
        }
        if (srcOff != off[s] || len > size[s] || len <= 0) {
            reports.anomaly(q, TX_DIR, "tx.ring_changed", s, now);
            if (pktState[p] == OK) {
                reports.lost(q, Tap.TX, 1); // netback sent what the slot says now: a frame the tap did not read
            }
            pktState[p] = FAILED;
            complete(s, now);
            return;
        }
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
        }
        copyOrder(s, p, status == GNTST_okay, dstDom, dstFrame, dstOff, len, now);
        copyLen[s] = len;
        copyDom[s] = dstDom;
        copyFrame[s] = dstFrame;
        copyOff[s] = dstOff;
        if (len == size[s]) {
            complete(s, now);
        }
    }

    /**
     * A copy of slot {@code s} (of packet {@code p}) landed at (domid, frame, offset): checked
     * against where the ring's previous copy ended. Apart from {@link #copied}, which runs for
     * every copy, to keep that one small enough to be inlined.
     */
    private void copyOrder(int s, int p, boolean ok, int dstDom, long dstFrame, int dstOff, int len, long now) {
        // netback copies a packet's head into a buffer of its own, slot after slot, packet
        // after packet: a first slot copied on from where the ring's previous copy ended, or
        // a later slot copied anywhere else, is a chain the guest changed after the tap read
        // it (netback took two packets as one, or one as two, or another packet's op).
        boolean follows = lastCopyDom == dstDom && lastCopyFrame == dstFrame && lastCopyEnd == dstOff;
        // A copy Xen failed (the packet is a drop) is not judged; where it was meant to land counts.
        if (ok && kind[s] == FIRST && follows) {
            if (lastCopyMatched && lastCopyPkt - cons >= 0 && lastCopyPkt - parsed < 0) {
                chainChanged(lastCopyPkt & MASK, now);
            }
            chainChanged(p, now);
        } else if (ok && kind[s] == FOLLOW && !(follows && lastCopyMatched && lastCopyPkt == pkt[s])) {
            chainChanged(p, now);
            if (!follows) {
                reports.lost(q, Tap.TX, 1); // a head netback began there: a packet of its own
            }
        }
        // Where netback meant the copy to land, whether or not Xen carried it out: the next slot
        // of a packet whose head copy failed is copied on from there.
        lastCopyDom = dstDom;
        lastCopyFrame = dstFrame;
        lastCopyEnd = dstOff + len;
        lastCopyMatched = true;
        lastCopyPkt = pkt[s];
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
        if (!pktSuspect[p] && (pktState[p] == OK || pktState[p] == READY)) {
            pktSuspect[p] = true;
            reports.anomaly(q, TX_DIR, "tx.chain_changed", p, now);
        }
    }

    /** A completed map of slot {@code idx}: the rest of the slot is in {@code frame} (owned by the frontend). */
    void mapped(int idx, int status, boolean refused, long devFrame, long now) {
        int s = idx & MASK;
        mapHint = idx + 1;
        opCall();
        int p = pkt[s] & MASK;
        pktStarted[p] = true;
        if (copyLen[s] == 0 && (kind[s] == FIRST || pos[s] < COPY_LEN && !wholeFirstSlotCopied(p))) {
            // netback copies a packet's first bytes before it maps any of them: a slot the tap
            // awaits a copy of, mapped without one, is one netback took as part of another packet
            // (a chain the guest joined after the tap read it). Whichever packet held before it
            // netback joined it to is not rebuilt either.
            chainChanged(p, now);
            for (int i = cons; i != parsed && i != pkt[s]; i = pktEnd[i & MASK]) {
                if (kind[i & MASK] != FIRST) {
                    break;
                }
                chainChanged(i & MASK, now);
            }
        }
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
            devFrame = -1;
        }
        mapFrame[s] = devFrame;
        complete(s, now);
    }

    /** Whether netback copies packet {@code p}'s first slot whole and maps every other (18 slots or more). */
    private boolean wholeFirstSlotCopied(int p) {
        int data = 0;
        for (int k = pktEnd[p] - 1; k != pkt[p] && kind[k & MASK] == FOLLOW; k--) {
            data++;
        }
        return data >= MAX_SLOTS - 1;
    }

    /** An op of this ring's backend in the call being read matched a slot: a packet held to the ring's next such call is decided at its end. */
    private void opCall() {
        opSeq = refreshedSeq;
        tap.atCallEnd(this);
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
    private boolean mayBeJoined(int s) {
        int next = pktEnd[s];
        return readySeq[s] == opSeq && next != parsed && (kind[next & MASK] != FIRST || copyLen[next & MASK] == 0)
                && (pktLen[s] == COPY_LEN || parsed - next >= MAX_SLOTS - 1) && copiesOnly(s);
    }

    private void failed(int p, int s, int status, boolean refused, long now) {
        if (pktState[p] == OK) {
            pktState[p] = FAILED;
            if (refused) {
                reports.refused(q, 1);
            } else {
                reports.dropped(q, 1);
            }
        }
        if (!refused && !reported[s]) {
            reported[s] = true; // the head copy and the map of one slot fail together: one report
            reports.grantFailure(q, TX_DIR, status, s, now);
        }
    }

    private void complete(int s, long now) {
        if (done[s]) {
            return;
        }
        done[s] = true;
        int first = pkt[s];
        int p = first & MASK;
        if (--pktLeft[p] == 0) {
            // Read whole: emitted in ring order, so behind an older packet still being read (a
            // copied small one behind a mapped one in the same batch) it waits for that one.
            pktState[p] = pktState[p] == OK ? READY : INVALID;
            readySeq[p] = refreshedSeq;
            advance(now);
        }
    }

    /**
     * An op of this ring's backend named {@code ref}, a ref of its guest that no slot awaits: a
     * held packet with a slot of that ref already read may have been read from an op netback made
     * for another packet (one whose request the guest rewrote), and is never rebuilt.
     */
    void unmatchedRef(int ref) {
        for (int i = cons; i != parsed; i++) {
            int s = i & MASK;
            if ((kind[s] == FIRST || kind[s] == FOLLOW) && gref[s] == ref && (done[s] || copyLen[s] > 0 || mapFrame[s] != 0)) {
                int p = pkt[s] & MASK;
                if (pktState[p] == OK || pktState[p] == READY) {
                    pktSuspect[p] = true;
                }
            }
        }
    }

    /** Whether copies alone made packet {@code s0} whole (at most 128 bytes): no slot of it mapped. */
    private boolean copiesOnly(int s0) {
        if (pktLen[s0] > COPY_LEN) {
            return false;
        }
        for (int k = pkt[s0], end = pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (kind[s] != EXTRA && copyLen[s] != size[s]) {
                return false; // a slot mapped: the map call is in, nothing more of it to wait for
            }
        }
        return true;
    }

    /** Keeps the bytes of packet {@code first}, made whole by copies alone, while they are where netback copied them; false when they cannot be read. */
    private boolean snapshot(int first) {
        int s0 = first & MASK;
        boolean ok = true;
        for (int k = first, end = pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (kind[s] != EXTRA && size[s] > 0) {
                ok &= tap.mem.read(copyDom[s], copyFrame[s], copyOff[s], snap, s0 * COPY_LEN + pos[s], size[s]);
            }
        }
        pktSnap[s0] = ok;
        return ok;
    }

    /** The copy or map call this ring waited for has all its ops in: its ready packets are decided. */
    void callEnded(long now) {
        long fresh = holdBatch == copyCallSeq ? Math.max(copyCallSeq, waitFresh) : waitFresh;
        waitFresh = Long.MIN_VALUE;
        advance(now, fresh, true);
    }

    /** Moves {@code cons} past finished and rejected packets, emitting the ready ones in order. */
    void advance(long now) {
        advance(now, Long.MIN_VALUE, false);
    }

    /**
     * The same, but a ready packet made whole before call {@code freshFrom} is counted as lost:
     * it waited behind one given up, and its head is read where netback copied it, a buffer
     * netback may have reused since (rebuilt, it could carry another packet's head). So is one
     * marked by {@link #unmatchedRef}. In the batch of a packet given up as rewritten, a ready
     * packet is decided only {@code atCallEnd} (see {@link #holdBatch}). Within a copy or map
     * call a ready packet waits for its end: a later copy of the call can show that netback's
     * packets are not where the tap read them (see {@link #copied}).
     */
    void advance(long now, long freshFrom, boolean atCallEnd) {
        advance(now, freshFrom, atCallEnd, false);
    }

    /** The same; {@code final_} when the backend let the ring go: no packet waits for a later call. */
    void advance(long now, long freshFrom, boolean atCallEnd, boolean final_) {
        while (cons != parsed) {
            int s = cons & MASK;
            if (kind[s] != FIRST || (pktState[s] != INVALID && pktState[s] != READY)) {
                return;
            }
            if (pktState[s] == READY) {
                if (!atCallEnd) {
                    if (tap.atCallEnd(this)) {
                        waitFresh = Math.max(waitFresh, freshFrom);
                        return;
                    }
                    if (holdBatch == copyCallSeq) {
                        freshFrom = Long.MAX_VALUE; // cannot wait: not rebuilt
                    }
                }
                if (!final_ && !pktSuspect[s] && readySeq[s] >= freshFrom && mayBeJoined(s)
                        && (pktSnap[s] || snapshot(cons))) {
                    return; // until the ring's next op call (see mayBeJoined), its bytes kept
                }
                pktState[s] = INVALID;
                if (pktSuspect[s] || readySeq[s] < freshFrom) {
                    reports.lost(q, Tap.TX, 1);
                } else {
                    emit(cons, now);
                }
            }
            kind[s] = NONE;
            cons = pktEnd[s];
        }
    }

    private void emit(int first, long now) {
        int s0 = first & MASK;
        int len = pktLen[s0];
        byte[] buf = tap.frame;
        boolean ok = true;
        if (pktSnap[s0]) {
            System.arraycopy(snap, s0 * COPY_LEN, buf, 0, len);
        }
        for (int k = first, end = pktSnap[s0] ? first : pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (kind[s] == EXTRA) {
                continue;
            }
            int c = copyLen[s];
            if (c > 0) {
                ok &= tap.mem.read(copyDom[s], copyFrame[s], copyOff[s], buf, pos[s], c);
            }
            if (c < size[s]) {
                ok &= mapFrame[s] > 0 && tap.mem.read(q.front, mapFrame[s], off[s] + c, buf, pos[s] + c, size[s] - c);
            }
        }
        if (!ok) {
            reports.lost(q, Tap.TX, 1);
            return;
        }
        if (copyLen[s0] > 0) {
            // Where the head went, with the frame's first bytes, for an RX copy out of it (guest→guest).
            tap.noteHead(copyDom[s0], copyFrame[s0], copyOff[s0], q.front, buf, 0, len);
        }
        reports.emit(q, Tap.TX, buf, 0, len, -1, pktChecked[s0], now);
    }

    /** Requests parsed but not yet finished (for tests and counters). */
    int pending() {
        return parsed - cons;
    }

    /** Packets parsed and accepted, not yet emitted nor counted as failed. */
    int pendingPackets() {
        int n = 0;
        for (int i = cons; i != parsed; i++) {
            int s = i & MASK;
            if (kind[s] == FIRST && (pktState[s] == OK || pktState[s] == READY)) {
                n++; // a FAILED one was counted when it failed
            }
        }
        return n;
    }
}
