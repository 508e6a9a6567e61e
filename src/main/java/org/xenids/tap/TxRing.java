package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Netif;

/**
 * One TX ring (guest→backend) as the tap follows it: request chains parsed from the ring page
 * the backend mapped, then every copy and map the backend makes is matched to the ring slot whose
 * grant ref it names. A packet is rebuilt when every one of its slots is covered: the copied head
 * read from the backend's destination, the rest from the frames the maps returned. Validation
 * follows Linux netback's own rules, so a garbage chain is reported where netback rejects it.
 * All state is per slot in fixed arrays: memory is bounded by the ring, not by traffic.
 */
final class TxRing {
    static final int SIZE = Netif.Sring.TX_SIZE, MASK = SIZE - 1;
    static final int MAX_SLOTS = XEN_NETIF_NR_SLOTS_MIN, FATAL_SLOTS = 20;
    private static final int ENTRY = Netif.TxRequest.SIZE;
    private static final byte NONE = 0, FIRST = 1, EXTRA = 2, FOLLOW = 3;
    /**
     * Packet states: OK (being read), FAILED (an op failed: no frame), READY (read whole, waiting
     * for an older packet of the ring), INVALID (finished: no later op may match it).
     */
    private static final byte OK = 0, FAILED = 1, INVALID = 2, READY = 3;

    final VifQueue q;
    final long frame;
    private final Tap tap;
    private final Reports reports;
    /** The ring page as last read. */
    private final byte[] page = new byte[4096];
    boolean broken;
    private int parsed, cons, reqProd, rspProd;
    private long refreshedSeq = -1;
    private int copyHint, mapHint;

    // Per slot (request index & MASK).
    private final byte[] kind = new byte[SIZE];
    private final int[] pkt = new int[SIZE];
    private final int[] gref = new int[SIZE];
    private final int[] off = new int[SIZE];
    private final int[] size = new int[SIZE];
    private final int[] pos = new int[SIZE];
    private final int[] copyLen = new int[SIZE];
    private final int[] copyDom = new int[SIZE];
    private final long[] copyFrame = new long[SIZE];
    private final int[] copyOff = new int[SIZE];
    private final long[] mapFrame = new long[SIZE];
    private final boolean[] done = new boolean[SIZE];
    private final boolean[] reported = new boolean[SIZE];
    // Per packet, at its first slot.
    private final int[] pktEnd = new int[SIZE];
    private final int[] pktLen = new int[SIZE];
    private final int[] pktLeft = new int[SIZE];
    private final byte[] pktState = new byte[SIZE];
    private final long[] pktTime = new long[SIZE];
    /** Whether any copy or map of the packet has been seen. */
    private final boolean[] pktStarted = new boolean[SIZE];
    /** Whether the packet's TCP/UDP checksum stands as sent: flags neither csum_blank nor data_validated, no GSO. */
    private final boolean[] pktChecked = new boolean[SIZE];

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
        if (reqProd - rspProd > SIZE || reqProd - cons > SIZE || reqProd - parsed < 0) {
            // netback: "Impossible number of requests" — the vif is disabled.
            reports.anomaly(q, TX_DIR, "tx.req_prod_overrun", reqProd & MASK, now);
            broken = true;
            return;
        }
        for (int i = parsed; i != reqProd; i++) {
            int at = Netif.Sring.RING + (i & MASK) * ENTRY;
            if (!tap.mem.read(q.front, frame, at, page, at, ENTRY)) {
                return;
            }
        }
        while (parsed != reqProd && !broken) {
            int end = parse(parsed, now);
            if (end < 0) {
                return;
            }
            parsed = end;
        }
    }

    static final int TX_DIR = Tap.TX;

    private int u16(int idx, int field) {
        return Mem.u16(page, Netif.Sring.RING + (idx & MASK) * ENTRY + field);
    }

    private int u32(int idx, int field) {
        return Mem.u32(page, Netif.Sring.RING + (idx & MASK) * ENTRY + field);
    }

    /** One packet from request {@code i}: its end index, or −1 when the chain is not (yet) whole. */
    private int parse(int i, long now) {
        int flags0 = u16(i, Netif.TxRequest.FLAGS);
        int size0 = u16(i, Netif.TxRequest.SIZE_FIELD);
        int j = i + 1;
        boolean mcast = false;
        boolean gso = false;
        int badGso = -1;
        if ((flags0 & NETTXF_extra_info) != 0) {
            int extras = 0;
            int exFlags;
            do {
                if (j == reqProd) {
                    return fatal("tx.chain_past_req_prod", i, now);
                }
                int type = Mem.u8(page, Netif.Sring.RING + (j & MASK) * ENTRY + Netif.ExtraInfo.TYPE);
                if (++extras > XEN_NETIF_EXTRA_TYPE_MAX || type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX) {
                    return fatal("tx.bad_extra_info", j, now);
                }
                mcast |= type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
                if (type == XEN_NETIF_EXTRA_TYPE_GSO) {
                    gso = true;
                    int at = Netif.Sring.RING + (j & MASK) * ENTRY;
                    int gsoType = Mem.u8(page, at + Netif.ExtraInfo.GSO_TYPE);
                    if (Mem.u16(page, at + Netif.ExtraInfo.GSO_SIZE) == 0
                            || gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6) {
                        badGso = j;
                    }
                }
                kind[j & MASK] = EXTRA;
                exFlags = Mem.u8(page, Netif.Sring.RING + (j & MASK) * ENTRY + Netif.ExtraInfo.FLAGS);
                j++;
            } while ((exFlags & XEN_NETIF_EXTRA_FLAG_MORE) != 0);
        }
        if (mcast) {
            // A multicast-filter command (feature-multicast-control), not a packet: netback answers
            // it at once, reads none of its slot and does not follow its NETTXF_more_data. Nothing
            // will copy or map it: finished now, or it would hold back every request after it.
            int s0 = i & MASK;
            kind[s0] = FIRST;
            pkt[s0] = i; // its own, finished: no copy may match its slot
            pktEnd[s0] = j;
            pktState[s0] = INVALID;
            reports.multicastCommand();
            return j;
        }
        int firstData = j;
        boolean drop = false;
        String why = null;
        int whySlot = i;
        int remaining = size0;
        boolean more = (flags0 & NETTXF_more_data) != 0;
        int slots = 0;
        while (more) {
            if (j == reqProd) {
                return fatal("tx.chain_past_req_prod", i, now);
            }
            if (slots >= FATAL_SLOTS) {
                return fatal("tx.too_many_slots", i, now);
            }
            if (slots >= MAX_SLOTS && !drop) {
                drop = true;
                why = "tx.too_many_slots";
            }
            int sz = u16(j, Netif.TxRequest.SIZE_FIELD);
            int o = u16(j, Netif.TxRequest.OFFSET);
            if (sz > remaining && !drop) {
                drop = true;
                why = "tx.slot_size_exceeds_packet";
                whySlot = j;
            }
            remaining -= sz;
            if (o + sz > 4096) {
                return fatal("tx.offset_size_past_page", j, now);
            }
            int s = j & MASK;
            kind[s] = FOLLOW;
            gref[s] = u32(j, Netif.TxRequest.GREF);
            off[s] = o;
            size[s] = sz;
            more = (u16(j, Netif.TxRequest.FLAGS) & NETTXF_more_data) != 0;
            slots++;
            j++;
        }
        if (!drop && size0 < 14) {
            drop = true;
            why = "tx.size_too_small";
        }
        int o0 = u16(i, Netif.TxRequest.OFFSET);
        if (!drop && o0 + remaining > 4096) {
            return fatal("tx.offset_size_past_page", i, now);
        }
        if (!drop && badGso >= 0) {
            return fatal("tx.bad_gso", badGso, now); // xenvif_set_skb_gso: size 0 or not TCPv4/v6
        }
        int s0 = i & MASK;
        kind[s0] = FIRST;
        gref[s0] = u32(i, Netif.TxRequest.GREF);
        off[s0] = o0;
        size[s0] = Math.max(remaining, 0);
        pktEnd[s0] = j;
        pktLen[s0] = size0;
        pktTime[s0] = now;
        // netback makes a GSO packet CHECKSUM_PARTIAL whatever its flags (checksum_setup): its
        // checksums are filled in when it is segmented, so only a plain one's stand as sent.
        pktChecked[s0] = !gso && (flags0 & (NETTXF_csum_blank | NETTXF_data_validated)) == 0;
        if (drop) {
            // netback answers every slot with an error and reads nothing.
            for (int k = i; k != j; k++) {
                pkt[k & MASK] = i; // finished: no copy or map may match its slots
            }
            pktState[s0] = INVALID;
            reports.anomaly(q, TX_DIR, why, whySlot & MASK, now);
            reports.dropped(q, 1);
        } else {
            pktState[s0] = OK;
            pktStarted[s0] = false;
            int p = 0;
            int left = 0;
            for (int k = i; k != j; k = k == i ? firstData : k + 1) {
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
        return j;
    }

    private int fatal(String event, int idx, long now) {
        // netback's xenvif_fatal_tx_err: the vif stops, nothing after this is read.
        reports.anomaly(q, TX_DIR, event, idx & MASK, now);
        broken = true;
        return -1;
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
            advance(now);
        }
    }

    /**
     * The head copy of packet {@code first} was seen: netback reads packets in ring order and
     * copies every packet's head first, so an older packet of which nothing was copied or mapped
     * it consumed without reading (a multicast command is passed over at parse; this is an skb it
     * could not allocate, or a packet it refused in a way the tap does not model). Finished as
     * dropped, it would otherwise hold back every later packet.
     */
    private void skipped(int first, long now) {
        for (int i = cons; i != first && i != parsed; i = pktEnd[i & MASK]) {
            int s = i & MASK;
            if (kind[s] != FIRST) {
                return; // not a packet's start: the chain is not where it was parsed
            }
            if (pktState[s] == OK && !pktStarted[s]) {
                pktState[s] = INVALID;
                reports.dropped(q, 1);
            }
        }
        advance(now);
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
                tap.noteHead(copyDom[s], copyFrame[s], copyOff[s], q.front);
            }
            if (c < size[s]) {
                ok &= mapFrame[s] > 0 && tap.mem.read(q.front, mapFrame[s], off[s] + c, buf, pos[s] + c, size[s] - c);
            }
        }
        if (!ok) {
            reports.lost(q, 1);
            return;
        }
        reports.emit(q, Tap.TX, buf, 0, len, -1, pktChecked[s0], now);
    }

    /** Requests parsed but not yet finished (for tests and counters). */
    int pending() {
        return parsed - cons;
    }

    /** Packets parsed and accepted whose copies and maps have not all been seen. */
    int pendingPackets() {
        int n = 0;
        for (int i = cons; i != parsed; i++) {
            int s = i & MASK;
            if (kind[s] == FIRST && pktState[s] != INVALID) {
                n++;
            }
        }
        return n;
    }
}
