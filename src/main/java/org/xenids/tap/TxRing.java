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
    /** The last packet a map was seen for, when past {@code cons} (see {@link TxGiveUp#unfinished}). */
    int mapFrom;
    private int rspProd;
    long refreshedSeq = -1;
    /** The last copy call of the backend naming this ring's guest's grants: each netback TX batch starts with one. */
    long copyCallSeq = -1;
    long recheckSeq = -1;
    /**
     * The batch (its copy call) in which a packet was given up as rewritten: netback's ops for
     * what the guest wrote instead may have landed in slots of packets behind it, so while that
     * batch lasts a ready packet waits for the end of the call that made it whole, by when the
     * packet's own ops, naming the same refs, are in (see {@link TxBounds#unmatchedRef}).
     */
    long holdBatch = Long.MIN_VALUE;
    /** The call in which this ring waits for the end of the call (see {@link GrantOps#waitForCallEnd}). */
    long waitSeq = -1;
    /** The latest {@code freshFrom} a ready packet was held back with in that call. */
    private long waitFresh = Long.MIN_VALUE;
    /** A slot's request as the ring holds it now, to compare with {@link #page}. */
    final byte[] entry = new byte[ENTRY];
    private int copyHint, mapHint;

    // Per slot (request index & MASK); TxChain writes a chain's kinds, refs, offsets and sizes,
    // and of its first slot the packet's end, length, time and checksum flag.
    final byte[] kind = new byte[SIZE];
    final int[] pkt = new int[SIZE];
    final int[] gref = new int[SIZE];
    final int[] off = new int[SIZE];
    final int[] size = new int[SIZE];
    final int[] pos = new int[SIZE];
    final int[] copyLen = new int[SIZE];
    final int[] copyDom = new int[SIZE];
    final long[] copyFrame = new long[SIZE];
    final int[] copyOff = new int[SIZE];
    final long[] mapFrame = new long[SIZE];
    final boolean[] done = new boolean[SIZE];
    private final boolean[] reported = new boolean[SIZE];
    // Per packet, at its first slot.
    final int[] pktEnd = new int[SIZE];
    final int[] pktLen = new int[SIZE];
    private final int[] pktLeft = new int[SIZE];
    final byte[] pktState = new byte[SIZE];
    final long[] pktTime = new long[SIZE];
    /** Ops of this ring's backend on its guest's refs that matched no slot (or one netback read otherwise), so far; at each packet's parse. */
    long unmatched;
    final long[] pktUnmatched = new long[SIZE];
    /** The hypercall in which a READY packet was read whole. */
    final long[] readySeq = new long[SIZE];
    /** Whether any copy or map of the packet has been seen. */
    final boolean[] pktStarted = new boolean[SIZE];
    /** Whether the packet's TCP/UDP checksum stands as sent: flags neither csum_blank nor data_validated, no GSO. */
    final boolean[] pktChecked = new boolean[SIZE];
    /** What netback's ops say of where its packets begin and end. */
    final TxBounds bounds = new TxBounds(this);

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
        bounds.pktSuspect[s0] = false;
        bounds.pktSnap[s0] = false;
        bounds.splitAt[s0] = 0;
        int p = 0;
        int left = 0;
        int copied = Math.min(pktLen[s0], COPY_LEN);
        boolean blind = false;
        for (int k = i; k != end; k = k == i ? firstData : k + 1) {
            int s = k & MASK;
            pkt[s] = i;
            pos[s] = p;
            p += size[s];
            copyLen[s] = 0;
            mapFrame[s] = 0;
            reported[s] = false;
            // An empty slot past the bytes netback copies is answered with no op (XSA-448); one
            // its copy loop reaches gets a copy of length 0.
            done[s] = size[s] == 0 && pos[s] >= copied;
            left += done[s] ? 0 : 1;
            blind |= done[s];
        }
        pktLeft[s0] = left;
        bounds.pktBlind[s0] = blind;
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
        bounds.opCall();
        int p = pkt[s] & MASK;
        if (!pktStarted[p]) {
            pktStarted[p] = true;
            TxGiveUp.skipped(this, pkt[s], now);
        }
        if (srcOff != off[s] || len > size[s] || len <= 0 && (len < 0 || size[s] != 0)) {
            bounds.ringChanged(s, p, dstDom, dstFrame, dstOff, len, now);
            complete(s, now);
            return;
        }
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
        }
        bounds.copyOrder(s, p, status == GNTST_okay, dstDom, dstFrame, dstOff, len, now);
        copyLen[s] = len;
        copyDom[s] = dstDom;
        copyFrame[s] = dstFrame;
        copyOff[s] = dstOff;
        if (len == size[s]) {
            complete(s, now);
        }
    }

    /** A completed map of slot {@code idx}: the rest of the slot is in {@code frame} (owned by the frontend). */
    void mapped(int idx, int status, boolean refused, long devFrame, long now) {
        int s = idx & MASK;
        mapHint = idx + 1;
        bounds.opCall();
        int p = pkt[s] & MASK;
        boolean begun = pktStarted[p];
        pktStarted[p] = true;
        if (!begun) {
            bounds.mappedUnbegun(p, now); // not this packet's map: no sign of where netback is
        } else if (pkt[s] != mapFrom) {
            TxGiveUp.unfinished(this, pkt[s], now);
        }
        if (copyLen[s] == 0) {
            bounds.mappedUncopied(s, p, now);
        }
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
            devFrame = -1;
        }
        mapFrame[s] = devFrame;
        complete(s, now);
    }

    void failed(int p, int s, int status, boolean refused, long now) {
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

    void complete(int s, long now) {
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
     * marked by {@link TxBounds#unmatchedRef}. In the batch of a packet given up as rewritten,
     * a ready packet is decided only {@code atCallEnd} (see {@link #holdBatch}). Within a copy
     * or map call a ready packet waits for its end: a later copy of the call can show that
     * netback's packets are not where the tap read them (see {@link TxBounds#copyOrder}).
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
                if (!final_ && !bounds.pktSuspect[s] && readySeq[s] >= freshFrom && bounds.mayBeJoined(s)
                        && (bounds.pktSnap[s] || bounds.snapshot(cons))) {
                    return; // until the ring's next op call (see mayBeJoined), its bytes kept
                }
                bounds.blindChecked(s, now);
                pktState[s] = INVALID;
                if (bounds.pktSuspect[s] || readySeq[s] < freshFrom) {
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
        if (bounds.pktSnap[s0]) {
            System.arraycopy(bounds.snap, s0 * COPY_LEN, buf, 0, len);
        }
        for (int k = first, end = bounds.pktSnap[s0] ? first : pktEnd[s0]; k != end; k++) {
            int s = k & MASK;
            if (kind[s] == EXTRA) {
                continue;
            }
            int c = copyLen[s];
            if (c > 0) {
                int split = bounds.splitAt[s];
                ok &= tap.mem.read(copyDom[s], copyFrame[s], copyOff[s], buf, pos[s], split > 0 ? split : c)
                        && (split == 0 || bounds.readRest(s, buf));
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
            bounds.noteHead(s0, buf, len); // where the head went, for an RX copy out of it (guest→guest)
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
