package org.xenids.tap;

import static org.xenids.xen.abi.Xen.GNTCOPY_dest_gref;
import static org.xenids.xen.abi.Xen.GNTCOPY_source_gref;
import static org.xenids.xen.abi.Xen.GNTTABOP_copy;
import static org.xenids.xen.abi.Xen.GNTTABOP_map_grant_ref;
import static org.xenids.xen.abi.Xen.__HYPERVISOR_grant_table_op;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.Hypercall;

/**
 * The tap's inline prevention: before Xen applies a copy or map, the ring slot whose grant ref it
 * names is looked up and the {@link Tap.Verdict} asked, when the caller is that ring's backend
 * (another domain's op naming the slot is refused by Xen and carries no frame of the ring). A
 * refused element is remembered (by call and index) so that the completed call's failed op is
 * counted as refused, not as a drop.
 */
final class Prevention {
    private static final int MAX_REFUSE_TRACK = 4096;

    private final LiveRings live;
    Tap.Verdict verdict;
    private final long[] refusedBits = new long[MAX_REFUSE_TRACK / 64];
    private long refusedSeq = -1;

    Prevention(LiveRings live) {
        this.live = live;
    }

    /** Xen asks before applying element {@code index} of {@code c}: false refuses it. */
    boolean allow(Hypercall c, int index) {
        Tap.Verdict v = verdict;
        if (v == null || c.op() != __HYPERVISOR_grant_table_op || c.structSize() == 0) {
            return true;
        }
        MemorySegment a = c.args();
        long seq = c.sequence();
        long now = c.timestampNanos();
        int caller = c.callerDomid();
        boolean ok = true;
        if (c.cmd() == GNTTABOP_copy) {
            long at = (long) index * Gnttab.Copy.SIZE;
            int flags = Gnttab.Copy.flags(a, at);
            if ((flags & GNTCOPY_dest_gref) != 0) {
                int d = Tap.self(Gnttab.Copy.dstDomid(a, at), caller);
                VifQueue[] qs = live.of(d);
                for (int i = 0; qs != null && i < qs.length && ok; i++) {
                    if (qs[i].backend != caller) {
                        continue; // not its backend's copy: Xen refuses it on its own (as GrantOps counts it)
                    }
                    qs[i].rx.refresh(seq, now);
                    int idx = qs[i].rx.find((int) Gnttab.Copy.dstU(a, at));
                    if (idx >= 0) {
                        ok = v.allow(d, qs[i].vif, qs[i].queue, Tap.RX, idx);
                        break;
                    }
                }
            } else if ((flags & GNTCOPY_source_gref) != 0) {
                ok = allowTx(v, caller, Tap.self(Gnttab.Copy.srcDomid(a, at), caller), (int) Gnttab.Copy.srcU(a, at), true, seq, now);
            }
        } else if (c.cmd() == GNTTABOP_map_grant_ref) {
            long at = (long) index * Gnttab.Map.SIZE;
            ok = allowTx(v, caller, Tap.self(Gnttab.Map.dom(a, at), caller), Gnttab.Map.ref(a, at), false, seq, now);
        }
        if (!ok && index < MAX_REFUSE_TRACK) {
            if (refusedSeq != seq) {
                java.util.Arrays.fill(refusedBits, 0);
                refusedSeq = seq;
            }
            refusedBits[index >>> 6] |= 1L << index;
        }
        return ok;
    }

    private boolean allowTx(Tap.Verdict v, int caller, int front, int ref, boolean copy, long seq, long now) {
        VifQueue[] qs = live.of(front);
        for (int i = 0; qs != null && i < qs.length; i++) {
            if (qs[i].backend != caller) {
                continue;
            }
            TxRing t = qs[i].tx;
            t.refresh(seq, now);
            // Both copies of a first slot netback copies in two (TxBounds.findRest) are put to the
            // verdict as the slot's: they are judged before either applies, so both find it here.
            int idx = copy ? t.findCopy(ref) : t.findMap(ref);
            if (idx >= 0) {
                return v.allow(front, qs[i].vif, qs[i].queue, Tap.TX, idx & TxRing.MASK);
            }
        }
        return true;
    }

    /** Whether the verdict refused element {@code index} of call {@code seq}. */
    boolean refused(long seq, int index) {
        return refusedSeq == seq && index < MAX_REFUSE_TRACK && (refusedBits[index >>> 6] & (1L << index)) != 0;
    }
}
