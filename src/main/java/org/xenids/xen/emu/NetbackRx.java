package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.util.ArrayDeque;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.abi.Netif.Sring;

/**
 * Netback's dom0→guest path (Linux rx.c): each packet fills posted guest pages from offset 0 by
 * GNTTABOP_copy (dest = the guest's gref, flags dest_gref), chunks never crossing a source or
 * destination page; sources are dom0 frames (DOMID_SELF gmfn) or, for a fragment mapped from
 * another guest, that guest's gref (flags source_gref too). At most 64 copies per hypercall;
 * responses become visible (and the guest is notified) at each flush.
 */
final class NetbackRx {
    static final int COPY_BATCH = 64;
    /** Packets per xenvif_rx_action; the RX thread runs it again while packets are queued. */
    static final int RX_BATCH = 64;
    private static final int MAX_QUEUE = 1024;
    private static final int PAGE = 4096;
    private static final int RING = Netback.RING;

    private final NetbackQueue nb;
    private final ArrayDeque<Skb> queue = new ArrayDeque<>();
    private boolean scheduled;
    private final Runnable kick = this::action;
    int reqCons, rspProdPvt;
    long packets, dropped;
    private int nc;
    private final int[] copyRsp = new int[COPY_BATCH];
    private final Skb[] completed = new Skb[MAX_QUEUE];
    private int ncompleted;

    NetbackRx(NetbackQueue nb) {
        this.nb = nb;
    }

    /** xenvif_start_xmit: queue for the RX thread; dropped (counted) when not connected or full. */
    void queue(Skb skb) {
        if (!nb.connected() || queue.size() >= MAX_QUEUE) {
            dropped++;
            skb.put();
            return;
        }
        queue.add(skb);
        if (!scheduled) {
            scheduled = true;
            nb.host.defer(kick);
        }
    }

    /**
     * xenvif_rx_action: as many queued packets as posted requests allow, at most {@link #RX_BATCH},
     * then a final flush; more queued packets make the RX thread run it again.
     */
    void action() {
        scheduled = false;
        if (nb.rx == null || nb.disabled) {
            return;
        }
        int work = 0;
        while (!queue.isEmpty()) {
            if (work == RX_BATCH) {
                scheduled = true;
                nb.host.defer(kick);
                break;
            }
            Skb skb = queue.peek();
            int needed = (skb.len() + PAGE - 1) / PAGE + (skb.gsoSize > 0 ? 1 : 0);
            int prod = Sring.reqProd(nb.rx, 0);
            if (prod - reqCons < needed) {
                // xenvif_rx_ring_slots_available: ask to be told when more requests are posted.
                Sring.reqEvent(nb.rx, 0, prod + 1);
                if (Sring.reqProd(nb.rx, 0) == prod) {
                    break;
                }
                continue;
            }
            queue.poll();
            fill(skb);
            work++;
        }
        flush();
    }

    private void fill(Skb skb) {
        int remaining = skb.len();
        int part = -1; // −1 = head, then fragments
        int partPos = 0;
        boolean gso = skb.gsoSize > 0;
        boolean extraPending = gso;
        int slot = 0;
        do {
            long reqAt = Sring.entry(reqCons, RING, Netif.RxRequest.SIZE);
            int id = Netif.RxRequest.id(nb.rx, reqAt);
            int gref = Netif.RxRequest.gref(nb.rx, reqAt);
            long rspAt = reqAt;
            if (slot != 0 && extraPending) {
                Le.u8(nb.rx, rspAt, XEN_NETIF_EXTRA_TYPE_GSO);
                Le.u8(nb.rx, rspAt + 1, 0);
                Le.u16(nb.rx, rspAt + Netif.ExtraInfo.GSO_SIZE, skb.gsoSize);
                Le.u8(nb.rx, rspAt + Netif.ExtraInfo.GSO_TYPE, skb.gsoType);
                Le.u8(nb.rx, rspAt + 5, 0);
                Le.u16(nb.rx, rspAt + Netif.ExtraInfo.GSO_FEATURES, 0);
                extraPending = false;
            } else {
                int offset = 0;
                while (offset < PAGE && remaining > 0) {
                    int partLen = part < 0 ? skb.headLen : skb.fragLen[part];
                    if (partPos == partLen) {
                        part++;
                        partPos = 0;
                        continue;
                    }
                    int srcOff = (part < 0 ? skb.headOff : skb.fragOff[part]) + partPos;
                    long srcFrame = part < 0 ? skb.headFrameAt(srcOff) : skb.fragFrame[part];
                    srcOff &= PAGE - 1; // a two-page head goes on in its second frame
                    int chunk = Math.min(partLen - partPos, PAGE - offset);
                    chunk = Math.min(chunk, PAGE - srcOff);
                    if (nc == COPY_BATCH) {
                        flush(); // xenvif_rx_copy_add: a full batch goes before the next op is added
                    }
                    long at = (long) nc * Gnttab.Copy.SIZE;
                    boolean foreign = part >= 0 && skb.fragGref[part] >= 0;
                    if (foreign) {
                        Gnttab.Copy.set(nb.copyArgs, at, skb.fragGref[part], skb.fragDomid[part], srcOff,
                                gref, nb.front, offset, chunk, GNTCOPY_source_gref | GNTCOPY_dest_gref);
                    } else {
                        Gnttab.Copy.set(nb.copyArgs, at, srcFrame, DOMID_SELF, srcOff, gref, nb.front, offset,
                                chunk, GNTCOPY_dest_gref);
                    }
                    copyRsp[nc++] = reqCons;
                    offset += chunk;
                    partPos += chunk;
                    remaining -= chunk;
                }
                int flags = 0;
                if (slot == 0) {
                    // xenvif_rx_data_slot: the checksum state of the skb, on the first slot only
                    flags = Checksum.rxFlags(skb.ipSummed) | (gso ? NETRXF_extra_info : 0);
                }
                if (remaining > 0) {
                    flags |= NETRXF_more_data;
                }
                Netif.RxResponse.set(nb.rx, rspAt, id, 0, flags, offset);
            }
            reqCons++;
            slot++;
        } while (remaining > 0 || extraPending);
        // xenvif_rx_complete: the packet's responses are ready for the next push.
        rspProdPvt = reqCons;
        packets++;
        completed[ncompleted++] = skb;
    }

    /** xenvif_rx_copy_flush: the copy hypercall, failed copies into their responses, push and notify. */
    private void flush() {
        if (nc > 0) {
            nb.host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, nb.copyArgs, nc);
            for (int i = 0; i < nc; i++) {
                int st = Gnttab.Copy.status(nb.copyArgs, (long) i * Gnttab.Copy.SIZE);
                if (st != GNTST_okay) {
                    long rsp = Sring.entry(copyRsp[i], RING, Netif.RxResponse.SIZE);
                    Le.u16(nb.rx, rsp + Netif.RxResponse.STATUS, st);
                }
            }
            nc = 0;
        }
        int old = Sring.rspProd(nb.rx, 0);
        if (old != rspProdPvt) {
            Sring.rspProd(nb.rx, 0, rspProdPvt);
            if (Sring.needsNotify(old, rspProdPvt, Sring.rspEvent(nb.rx, 0))) {
                nb.notify(nb.rxPort);
            }
        }
        for (int i = 0; i < ncompleted; i++) {
            completed[i].put();
            completed[i] = null;
        }
        ncompleted = 0;
    }
}
