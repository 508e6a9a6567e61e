package org.xenids.tap;

import static org.xenids.tap.TxRing.*;

import org.xenids.xen.abi.Netif;

/**
 * When the tap gives up a TX packet it holds. Packets are rebuilt in ring order, so one that can
 * never be read whole would hold back every later packet of its ring: these are the signs that
 * it never will be (netback passed it over, the guest reused or rewrote its slot, the backend let
 * the ring go), each reported as a {@code xen.ring} anomaly naming the slot and counted (lost, or
 * dropped where netback dropped it). Apart from {@link TxRing}, which follows the packets that
 * go well, because these rules are about a hostile guest.
 */
final class TxGiveUp {
    private TxGiveUp() {}

    /**
     * The head copy of packet {@code first} was seen: netback reads packets in ring order and
     * copies every packet's head first, so an older packet of which nothing was copied or mapped
     * it consumed without reading (a multicast command is passed over at parse; this is an skb it
     * could not allocate, a packet it refused in a way the tap does not model, or one whose slot
     * the guest changed under the tap). Reported and counted as lost: held, it would hold back
     * every later packet.
     */
    static void skipped(TxRing r, int first, long now) {
        // The packets before the last one seen starting were looked at then: netback takes
        // packets in ring order, so each is passed once, not once per later packet of the batch
        // (they wait for the call's end, and cons with them).
        int from = r.skipFrom - r.cons > 0 && r.skipFrom - first <= 0 ? r.skipFrom : r.cons;
        if (first - r.cons >= 0 && first - r.parsed < 0) {
            r.skipFrom = first;
        }
        for (int i = from; i != first && i != r.parsed; i = r.pktEnd[i & MASK]) {
            int s = i & MASK;
            if (r.kind[s] != FIRST) {
                return; // not a packet's start: the chain is not where it was parsed
            }
            if (r.pktState[s] == OK && !r.pktStarted[s]) {
                // Lost, not dropped: netback may have sent what a slot the guest changed says now
                // (its ops then match no slot, or another packet's), and the tap cannot tell that
                // from an skb netback could not allocate, which is rare.
                r.pktState[s] = INVALID;
                r.reports.anomaly(r.q, Tap.TX, "tx.passed_over", s, now);
                r.reports.lost(r.q, Tap.TX, 1);
            }
        }
        r.advance(now);
    }

    /**
     * A map of packet {@code first} was seen: netback makes its maps in ring order, packet after
     * packet, in the batch that copied their heads, so an older packet it began that still awaits
     * an op never gets it (its op named a ref no slot holds: a request the guest rewrote, and
     * perhaps put back before the tap read it again). Reported ({@code tx.unfinished}, naming its
     * first slot) and counted as lost; the packets made whole behind it in this batch go on, as
     * after {@link #recheck}. Held, it would hold back every later packet until its slot's reuse.
     */
    static void unfinished(TxRing r, int first, long now) {
        int from = r.mapFrom - r.cons > 0 && r.mapFrom - first <= 0 ? r.mapFrom : r.cons;
        if (first - r.cons >= 0 && first - r.parsed < 0) {
            r.mapFrom = first;
        }
        boolean gaveUp = false;
        for (int i = from; i != first && i != r.parsed; i = r.pktEnd[i & MASK]) {
            int s = i & MASK;
            if (r.kind[s] != FIRST) {
                break; // not a packet's start: the chain is not where it was parsed
            }
            if (r.pktState[s] == OK && r.pktStarted[s]) {
                gaveUp = lost(r, s, "tx.unfinished", now);
            }
        }
        if (gaveUp) {
            batchGoesOn(r, now);
        }
    }

    /** Packet {@code s} will never be rebuilt: reported ({@code event}, naming its first slot) and counted lost. */
    private static boolean lost(TxRing r, int s, String event, long now) {
        r.reports.anomaly(r.q, Tap.TX, event, s, now);
        r.reports.lost(r.q, Tap.TX, 1);
        r.pktState[s] = INVALID;
        return true;
    }

    /**
     * Packets were given up for an op netback made elsewhere: those made whole behind them in
     * netback's current batch go on, once the call that made them whole is in (see {@link #recheck}).
     */
    private static void batchGoesOn(TxRing r, long now) {
        r.holdBatch = r.copyCallSeq;
        r.advance(now, r.copyCallSeq, false);
    }

    /**
     * The guest posted a request in the slot of a packet the tap still holds. An honest guest
     * reuses a slot only once netback has answered it, by which time netback has made every copy
     * and map of the packet: one the tap still holds was not read whole and never will be (a slot
     * the guest rewrote after the tap read it, then mapped under another ref). A guest that reuses
     * a slot early can get the packet netback is about to send past the tap. Either way each
     * packet before {@code limit} not already counted is given up as lost, with a
     * {@code tx.slot_reused} anomaly naming its slot; of the ready packets held behind it, those
     * made whole in this very call are emitted, older ones counted as lost.
     * Without this, one such packet held back every later packet of the ring until the ring was
     * given up.
     */
    static void overtaken(TxRing r, int limit, long now) {
        while (r.cons != r.parsed && r.cons - limit < 0) {
            int s = r.cons & MASK;
            if (r.kind[s] != FIRST) {
                return; // not a packet's start: the chain is not where it was parsed
            }
            if (r.pktState[s] == OK) {
                r.reports.anomaly(r.q, Tap.TX, "tx.slot_reused", s, now);
                r.reports.lost(r.q, Tap.TX, 1);
            } else if (r.pktState[s] == READY) {
                r.reports.lost(r.q, Tap.TX, 1); // see below
            }
            r.pktState[s] = INVALID;
            r.kind[s] = NONE;
            r.cons = r.pktEnd[s];
        }
        // The packets read whole while they waited behind it: netback has long sent them. Only
        // those made whole in this very call are surely still where they were copied.
        r.advance(now, r.refreshedSeq, false);
    }

    /**
     * An op of this ring's backend named a grant of its guest that no slot awaits: netback took a
     * request other than the one the tap read. Once per call, the requests of the packets the tap
     * holds are read again; a packet whose requests the guest changed since (an honest guest
     * never touches a request netback has not answered) cannot be rebuilt as netback sends it. It
     * is reported now ({@code tx.slot_rewritten}, naming its first slot) and counted as lost, so
     * that the packets behind it go on: held, it would hold back every later packet until the
     * guest reused its slot. Those made whole behind it in netback's current batch (since its
     * last copy call) are still where netback copied them and are rebuilt, once the call that
     * made them whole has all its ops in: netback's ops for what the guest wrote instead may have
     * landed in their slots, and their own ops, naming the same refs, then match no slot
     * ({@link TxRing#unmatchedRef}: lost). Older ones are lost.
     * A guest that puts the request back before this read is caught at netback's next map of a
     * later packet ({@link #unfinished}), or else at slot reuse or teardown.
     */
    static void recheck(TxRing r, long seq, long now) {
        if (r.broken || r.recheckSeq == seq) {
            return;
        }
        r.recheckSeq = seq;
        boolean gaveUp = false;
        for (int i = r.cons; i != r.parsed; i = r.pktEnd[i & MASK]) {
            int s = i & MASK;
            if (r.kind[s] != FIRST) {
                break; // not a packet's start: the chain is not where it was parsed
            }
            if (r.pktState[s] == OK && rewritten(r, i, r.pktEnd[s])) {
                gaveUp = lost(r, s, "tx.slot_rewritten", now);
            }
        }
        if (gaveUp) {
            batchGoesOn(r, now);
        }
    }

    /**
     * The backend let go of the ring: packets netback never took are its drops; those it took
     * in part (one the guest changed under the tap) are a {@code tx.unfinished} anomaly and lost,
     * and so are whole ones still waiting behind them (their heads' buffers are gone).
     */
    static void teardown(TxRing r, long now) {
        // Whole ones that waited for the ring's next op are settled: netback has made its last.
        r.advance(now, Long.MIN_VALUE, true, true);
        for (int i = r.cons; i != r.parsed; i = r.pktEnd[i & MASK]) {
            int s = i & MASK;
            if (r.kind[s] != FIRST) {
                return;
            }
            if (r.pktState[s] == OK && !r.pktStarted[s] && r.unmatched == r.pktUnmatched[s]) {
                r.reports.dropped(r.q, 1); // never taken: netback drops what it has not read when it disconnects
            } else if (r.pktState[s] == OK && !r.pktStarted[s]) {
                // An op of the ring named no slot since it was read: the guest changed the slot.
                r.reports.anomaly(r.q, Tap.TX, "tx.passed_over", s, now);
                r.reports.lost(r.q, Tap.TX, 1);
            } else if (r.pktState[s] == OK) {
                r.reports.anomaly(r.q, Tap.TX, "tx.unfinished", s, now);
                r.reports.lost(r.q, Tap.TX, 1);
            } else if (r.pktState[s] == READY) {
                r.reports.lost(r.q, Tap.TX, 1);
            }
            r.pktState[s] = INVALID;
        }
    }

    /**
     * Whether the guest changed any request of the packet at {@code [from, end)} since the tap
     * read it (false when the ring cannot be read: a failed read is counted where it failed).
     */
    static boolean rewritten(TxRing r, int from, int end) {
        for (int k = from; k != end; k++) {
            int at = Netif.Sring.RING + (k & MASK) * ENTRY;
            if (!r.tap.mem.read(r.q.front, r.frame, at, r.entry, 0, ENTRY)) {
                return false;
            }
            if (!java.util.Arrays.equals(r.entry, 0, ENTRY, r.page, at, at + ENTRY)) {
                return true;
            }
        }
        return false;
    }
}
