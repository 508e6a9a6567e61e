package org.xenids.tap;

import static org.xenids.tap.Tap.C_COPIES;
import static org.xenids.tap.Tap.C_MAPS;
import static org.xenids.tap.Tap.RX;
import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Gnttab;

/**
 * The tap's classification of grant copies and maps: each op of a call is decoded from the op
 * array's bytes and matched to the ring slot whose grant ref it names (TX: the source ref of a
 * copy or the ref of a map; RX: the destination ref of a copy), or counted as unclassified.
 */
final class GrantOps {
    private final Tap tap;
    private final Reports reports;
    private final LiveRings live;
    private final Discovery discovery;
    /** RX rings a copy call filled, to take the responses the backend wrote with it. */
    private final RxRing[] touched = new RxRing[64];
    private int nTouched;

    GrantOps(Tap tap, Reports reports, LiveRings live, Discovery discovery) {
        this.tap = tap;
        this.reports = reports;
        this.live = live;
        this.discovery = discovery;
    }

    void copyCallStarts() {
        nTouched = 0;
    }

    /** TX rings whose ready packets wait for the end of the copy or map call being read. */
    private final TxRing[] waiting = new TxRing[64];
    private int nWaiting;
    /** The copy or map call being read, or −1. */
    private long txCallSeq = -1;

    void txCallStarts(long seq) {
        txCallSeq = seq;
        nWaiting = 0;
    }

    /** Registers {@code r} to have its ready packets decided at the end of this call; false when it cannot wait. */
    boolean waitForCallEnd(TxRing r) {
        if (txCallSeq < 0) {
            return false;
        }
        if (r.waitSeq == txCallSeq) {
            return true;
        }
        if (nWaiting == waiting.length) {
            return false;
        }
        r.waitSeq = txCallSeq;
        waiting[nWaiting++] = r;
        return true;
    }

    /** After a copy or map call: the TX rings whose ready packets waited for its last op decide them. */
    void txCallEnds(long now) {
        for (int i = 0; i < nWaiting; i++) {
            waiting[i].callEnded(now);
            waiting[i] = null;
        }
        nWaiting = 0;
        txCallSeq = -1;
    }

    /** After a copy call: the RX rings it filled take the responses written with it. */
    void copyCallEnds(long seq, long now) {
        for (int i = 0; i < nTouched; i++) {
            touched[i].responses(seq, now, true);
        }
    }

    void copy(byte[] a, int at, int caller, long seq, long now, boolean refused) {
        int flags = Mem.u16(a, at + Gnttab.Copy.FLAGS);
        int status = Mem.s16(a, at + Gnttab.Copy.STATUS);
        int len = Mem.u16(a, at + Gnttab.Copy.LEN);
        int srcDom = Tap.self(Mem.u16(a, at + Gnttab.Copy.SRC_DOMID), caller);
        int srcOff = Mem.u16(a, at + Gnttab.Copy.SRC_OFFSET);
        long srcU = Mem.u64(a, at + Gnttab.Copy.SRC_U);
        if ((flags & GNTCOPY_dest_gref) != 0) {
            int d = Tap.self(Mem.u16(a, at + Gnttab.Copy.DST_DOMID), caller);
            int ref = (int) Mem.u64(a, at + Gnttab.Copy.DST_U);
            VifQueue[] qs = live.of(d);
            boolean backend = qs == null;
            for (int i = 0; qs != null && i < qs.length; i++) {
                if (qs[i].backend != caller) {
                    continue; // another guest naming d's buffers: Xen refuses it, and it is not netback's
                }
                backend = true;
                RxRing r = qs[i].rx;
                r.refresh(seq, now);
                int idx = r.find(ref);
                if (idx >= 0) {
                    reports.counters(qs[i])[C_COPIES]++;
                    long srcFrame;
                    int peer;
                    if ((flags & GNTCOPY_source_gref) != 0) {
                        srcFrame = status == GNTST_okay ? tap.mem.grantFrame(srcDom, (int) srcU) : -1;
                        peer = srcDom != caller && srcDom != d ? srcDom : -1;
                    } else {
                        srcFrame = srcU;
                        peer = RxRing.HEAD_OWNER; // known once the copied bytes are read
                    }
                    if (r.touchedSeq != seq && nTouched < touched.length) {
                        r.touchedSeq = seq;
                        touched[nTouched++] = r;
                    }
                    if (status != GNTST_okay && !refused && (status == GNTST_bad_gntref || status == GNTST_general_error
                            || status == GNTST_bad_page) && (flags & GNTCOPY_source_gref) == 0) {
                        reports.grantFailure(qs[i], RX, status, idx, now);
                    }
                    r.copied(ref, Mem.u16(a, at + Gnttab.Copy.DST_OFFSET), len, status, refused, srcDom, srcFrame, srcOff, peer, now);
                    return;
                }
            }
            reports.unclassified(backend ? d : caller);
        } else if ((flags & GNTCOPY_source_gref) != 0) {
            VifQueue[] qs = live.of(srcDom);
            boolean backend = qs == null;
            for (int i = 0; qs != null && i < qs.length; i++) {
                if (qs[i].backend != caller) {
                    continue;
                }
                backend = true;
                TxRing t = qs[i].tx;
                t.refresh(seq, now);
                t.copyCallSeq = seq;
                int idx = t.findCopy((int) srcU);
                if (idx >= 0) {
                    reports.counters(qs[i])[C_COPIES]++;
                    t.copied(idx, srcOff, len, status, refused, Tap.self(Mem.u16(a, at + Gnttab.Copy.DST_DOMID), caller),
                            Mem.u64(a, at + Gnttab.Copy.DST_U), Mem.u16(a, at + Gnttab.Copy.DST_OFFSET), now);
                    return;
                }
                idx = t.bounds.findRest((int) srcU, srcOff);
                if (idx >= 0) {
                    reports.counters(qs[i])[C_COPIES]++;
                    t.bounds.copiedRest(idx & TxRing.MASK, len, status, refused,
                            Tap.self(Mem.u16(a, at + Gnttab.Copy.DST_DOMID), caller), Mem.u64(a, at + Gnttab.Copy.DST_U),
                            Mem.u16(a, at + Gnttab.Copy.DST_OFFSET), now);
                    return;
                }
            }
            unmatchedCopy(qs, a, at, caller, status, len, (int) srcU, seq, now);
            reports.unclassified(backend ? srcDom : caller);
        } else {
            reports.unclassified(caller);
        }
    }

    void map(byte[] a, int at, int n, int caller, long seq, long now, boolean refused) {
        int front = Tap.self(Mem.u16(a, at + Gnttab.Map.DOM), caller);
        int ref = Mem.u32(a, at + Gnttab.Map.REF);
        int status = Mem.s16(a, at + Gnttab.Map.STATUS);
        int flags = Mem.u32(a, at + Gnttab.Map.FLAGS);
        VifQueue[] qs = live.of(front);
        for (int i = 0; qs != null && i < qs.length; i++) {
            TxRing t = qs[i].tx;
            if (t.q.backend != caller) {
                continue;
            }
            t.refresh(seq, now);
            int idx = t.findMap(ref);
            if (idx >= 0) {
                reports.counters(qs[i])[C_MAPS]++;
                t.mapped(idx, status, refused, Mem.u64(a, at + Gnttab.Map.DEV_BUS_ADDR) >>> 12, now);
                return;
            }
        }
        if (status == GNTST_okay && (flags & GNTMAP_host_map) != 0 && (flags & GNTMAP_readonly) == 0 && front != caller) {
            discovery.ringCandidate(caller, front, ref, Mem.u64(a, at + Gnttab.Map.DEV_BUS_ADDR) >>> 12, seq,
                    Mem.u32(a, at + Gnttab.Map.HANDLE), n);
            return;
        }
        unmatchedTx(qs, caller, ref, seq, now);
        reports.unclassified(front);
    }

    /** A TX copy by {@code caller} from its guest's {@code ref} that no slot names: where it landed noted, then as {@link #unmatchedTx}. */
    private static void unmatchedCopy(VifQueue[] qs, byte[] a, int at, int caller, int status, int len, int ref, long seq,
                                      long now) {
        for (int i = 0; qs != null && i < qs.length; i++) {
            if (qs[i].backend == caller && status == GNTST_okay) {
                qs[i].tx.bounds.copiedElsewhere(Tap.self(Mem.u16(a, at + Gnttab.Copy.DST_DOMID), caller),
                        Mem.u64(a, at + Gnttab.Copy.DST_U), Mem.u16(a, at + Gnttab.Copy.DST_OFFSET) + len);
            }
        }
        unmatchedTx(qs, caller, ref, seq, now);
    }

    /**
     * A TX copy or map by {@code backend} of its guest's ref that no slot of the guest's rings
     * names: counted, a held packet already read from a slot of that ref marked (what it was read
     * from may have been another packet's op), and the rings' held packets checked for a request
     * the guest rewrote.
     */
    private static void unmatchedTx(VifQueue[] qs, int backend, int ref, long seq, long now) {
        for (int i = 0; qs != null && i < qs.length; i++) {
            if (qs[i].backend == backend) {
                qs[i].tx.unmatched++;
                qs[i].tx.bounds.unmatchedRef(ref);
                TxGiveUp.recheck(qs[i].tx, seq, now);
            }
        }
    }
}
