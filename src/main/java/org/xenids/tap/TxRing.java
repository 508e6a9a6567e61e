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
    static final byte NONE = 0, FIRST = 1, EXTRA = 2, FOLLOW = 3;
    /**
     * Packet states: OK (being read), FAILED (an op failed: no frame), READY (read whole, waiting
     * for an older packet of the ring), INVALID (finished: no later op may match it).
     */
    static final byte OK = 0, FAILED = 1, INVALID = 2, READY = 3;

    final VifQueue q;
    final long frame;
    private final Tap tap;
    final Reports reports;
    /** The ring page as last read. */
    final byte[] page = new byte[4096];
    boolean broken;
    int reqProd;
    private int parsed, cons, rspProd;
    private long refreshedSeq = -1;
    private int copyHint, mapHint;

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
    private final long[] pktUnmatched = new long[SIZE];
    /** The hypercall in which a READY packet was read whole. */
    private final long[] readySeq = new long[SIZE];
    /** Whether any copy or map of the packet has been seen. */
    private final boolean[] pktStarted = new boolean[SIZE];
    /** Whether the packet's TCP/UDP checksum stands as sent: flags neither csum_blank nor data_validated, no GSO. */
    final boolean[] pktChecked = new boolean[SIZE];

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
            overtaken(reqProd - SIZE, now);
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
                    && !done[s] && pktState[pkt[s] & MASK] != INVALID) {
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
        int p = pkt[s] & MASK;
        if (!pktStarted[p]) {
            pktStarted[p] = true;
            skipped(pkt[s], now);
        }
        if (srcOff != off[s] || len > size[s] || len <= 0) {
            reports.anomaly(q, TX_DIR, "tx.ring_changed", s, now);
            if (pktState[p] == OK) {
                reports.lost(q, 1); // netback sent what the slot says now: a frame the tap did not read
            }
            pktState[p] = FAILED;
            complete(s, now);
            return;
        }
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
        }
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
        int p = pkt[s] & MASK;
        pktStarted[p] = true;
        if (status != GNTST_okay) {
            failed(p, s, status, refused, now);
            devFrame = -1;
        }
        mapFrame[s] = devFrame;
        complete(s, now);
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
     * The head copy of packet {@code first} was seen: netback reads packets in ring order and
     * copies every packet's head first, so an older packet of which nothing was copied or mapped
     * it consumed without reading (a multicast command is passed over at parse; this is an skb it
     * could not allocate, a packet it refused in a way the tap does not model, or one whose slot
     * the guest changed under the tap). Reported and counted as lost: held, it would hold back
     * every later packet.
     */
    private void skipped(int first, long now) {
        for (int i = cons; i != first && i != parsed; i = pktEnd[i & MASK]) {
            int s = i & MASK;
            if (kind[s] != FIRST) {
                return; // not a packet's start: the chain is not where it was parsed
            }
            if (pktState[s] == OK && !pktStarted[s]) {
                // Lost, not dropped: netback may have sent what a slot the guest changed says now
                // (its ops then match no slot, or another packet's), and the tap cannot tell that
                // from an skb netback could not allocate, which is rare.
                pktState[s] = INVALID;
                reports.anomaly(q, TX_DIR, "tx.passed_over", s, now);
                reports.lost(q, 1);
            }
        }
        advance(now);
    }

    /**
     * The guest posted a request in the slot of a packet the tap still holds. An honest guest
     * reuses a slot only once netback has answered it, by which time netback has made every copy
     * and map of the packet: one the tap still holds was not read whole and never will be (a slot
     * the guest rewrote after the tap read it, then mapped under another ref). A guest that reuses
     * a slot early can get the packet netback is about to send past the tap. Either way each
     * packet before {@code limit} not already counted is given up as lost, with a
     * {@code tx.slot_reused} anomaly naming its slot; the ready packets held behind it are emitted.
     * Without this, one such packet held back every later packet of the ring until the ring was
     * given up.
     */
    private void overtaken(int limit, long now) {
        while (cons != parsed && cons - limit < 0) {
            int s = cons & MASK;
            if (kind[s] != FIRST) {
                return; // not a packet's start: the chain is not where it was parsed
            }
            if (pktState[s] == OK) {
                reports.anomaly(q, TX_DIR, "tx.slot_reused", s, now);
                reports.lost(q, 1);
            } else if (pktState[s] == READY) {
                reports.lost(q, 1); // see below
            }
            pktState[s] = INVALID;
            kind[s] = NONE;
            cons = pktEnd[s];
        }
        // The packets read whole while they waited behind it: a head is read where netback copied
        // it, and netback has long sent those packets and may have reused their buffers, so rebuilt
        // now they could carry another packet's head. Lost, not guessed; only those made whole in
        // this very call are still where they were copied.
        while (cons != parsed && kind[cons & MASK] == FIRST && pktState[cons & MASK] == READY
                && readySeq[cons & MASK] != refreshedSeq) {
            int s = cons & MASK;
            reports.lost(q, 1);
            pktState[s] = INVALID;
            kind[s] = NONE;
            cons = pktEnd[s];
        }
        advance(now);
    }

    /**
     * The backend let go of the ring: packets netback never took are its drops; those it took
     * in part (one the guest changed under the tap) are a {@code tx.unfinished} anomaly and lost,
     * and so are whole ones still waiting behind them (their heads' buffers are gone).
     */
    void teardown(long now) {
        for (int i = cons; i != parsed; i = pktEnd[i & MASK]) {
            int s = i & MASK;
            if (kind[s] != FIRST) {
                return;
            }
            if (pktState[s] == OK && !pktStarted[s] && unmatched == pktUnmatched[s]) {
                reports.dropped(q, 1); // never taken: netback drops what it has not read when it disconnects
            } else if (pktState[s] == OK && !pktStarted[s]) {
                // An op of the ring named no slot since it was read: the guest changed the slot.
                reports.anomaly(q, TX_DIR, "tx.passed_over", s, now);
                reports.lost(q, 1);
            } else if (pktState[s] == OK) {
                reports.anomaly(q, TX_DIR, "tx.unfinished", s, now);
                reports.lost(q, 1);
            } else if (pktState[s] == READY) {
                reports.lost(q, 1);
            }
            pktState[s] = INVALID;
        }
    }

    /** Moves {@code cons} past finished and rejected packets, emitting the ready ones in order. */
    private void advance(long now) {
        while (cons != parsed) {
            int s = cons & MASK;
            if (kind[s] != FIRST || (pktState[s] != INVALID && pktState[s] != READY)) {
                return;
            }
            if (pktState[s] == READY) {
                pktState[s] = INVALID;
                emit(cons, now);
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
        for (int k = first, end = pktEnd[s0]; k != end; k++) {
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
            reports.lost(q, 1);
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
