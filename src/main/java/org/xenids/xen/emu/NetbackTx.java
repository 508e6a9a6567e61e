package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.abi.Netif.Sring;
import org.xenids.xen.emu.TxSkbs.TxSkb;

/**
 * Netback's guest→dom0 path (Linux netback.c xenvif_tx_build_gops / tx_action / dealloc): per
 * packet the first min(len, 128) bytes (the whole first slot when 17 or more follow it) are
 * copied into a dom0 buffer ({@link TxSkbs}; GNTTABOP_copy, source = the guest's gref, no copy
 * crossing a dom0 page), every other byte of every slot is mapped read-only (GNTTABOP_map_grant_ref,
 * GNTMAP_host_map|GNTMAP_readonly) and becomes a fragment; all copies of a batch go in one
 * hypercall, then all maps in one. Fully copied slots are answered at once, mapped ones when
 * the packet is released (after delivery) and the batch of unmaps is done.
 */
final class NetbackTx {
    static final int COPY_LEN = 128;
    static final int LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN;
    static final int FATAL_SKB_SLOTS = 20;
    private static final int MAX_PENDING = 256;
    private static final int BUDGET = 64;
    private static final int MAX_COPY = 4096 / Gnttab.Copy.SIZE;
    private static final int MAX_MAP = 4096 / Gnttab.Map.SIZE;
    private static final int MAX_UNMAP = 4096 / Gnttab.Unmap.SIZE;
    private static final long KADDR = 0xffff888030000000L;

    private final NetbackQueue nb;
    int reqCons, rspProdPvt;
    long packets, dropped, failed;

    // Pending slots (pending_tx_info): request id, extra slots to answer NULL, mapping.
    private final int[] pendFree = new int[MAX_PENDING];
    private int pendFreeCount = MAX_PENDING;
    private final int[] pendId = new int[MAX_PENDING];
    private final int[] pendExtra = new int[MAX_PENDING];
    private final int[] pendHandle = new int[MAX_PENDING];
    private final int[] pendStatus = new int[MAX_PENDING];

    // Batch being built.
    private final int[] copyPend = new int[MAX_COPY];
    private final int[] copyPkt = new int[MAX_COPY];
    private final int[] mapPend = new int[MAX_MAP];
    private final int[] mapPkt = new int[MAX_MAP];
    private final int[] mapOff = new int[MAX_MAP];
    private final int[] mapLen = new int[MAX_MAP];
    private final int[] mapGref = new int[MAX_MAP];
    private final TxSkb[] pkt = new TxSkb[BUDGET];
    private final boolean[] pktOk = new boolean[BUDGET];

    // Slots of the packet being read.
    private final int[] sGref = new int[FATAL_SKB_SLOTS + 1];
    private final int[] sOff = new int[FATAL_SKB_SLOTS + 1];
    private final int[] sId = new int[FATAL_SKB_SLOTS + 1];
    private final int[] sSize = new int[FATAL_SKB_SLOTS + 1];

    private final TxSkbs skbs;
    private final int[] dealloc = new int[MAX_PENDING];
    private int deallocCount;
    private boolean deallocScheduled;
    private final Runnable deallocRun = this::deallocAction;

    NetbackTx(NetbackQueue nb) {
        this.nb = nb;
        for (int i = 0; i < MAX_PENDING; i++) {
            pendFree[i] = MAX_PENDING - 1 - i;
        }
        this.skbs = new TxSkbs(nb.dom0, nb.host.frames, MAX_PENDING, this::done);
    }

    /** xenvif_tx_action after a TX event: batches until the ring is empty, then re-arms req_event. */
    void action() {
        if (nb.tx == null) {
            return;
        }
        while (!nb.disabled) {
            int np = build();
            if (np > 0) {
                submit(np);
                continue;
            }
            pushResponses(); // answers of dropped packets
            Sring.reqEvent(nb.tx, 0, reqCons + 1);
            if (Sring.reqProd(nb.tx, 0) == reqCons) {
                return;
            }
        }
    }

    private int nc, nm;

    /**
     * Reads whole packets off the ring into copy and map ops; returns how many. A fatal request
     * disables the vif and ends the batch, whose packets before it are still carried out, as
     * xenvif_tx_action runs whatever xenvif_tx_build_gops built before it broke off.
     */
    private int build() {
        int np = 0;
        nc = 0;
        nm = 0;
        int prod = Sring.reqProd(nb.tx, 0);
        while (reqCons != prod && np < BUDGET && pendFreeCount > FATAL_SKB_SLOTS && skbs.available()
                && nc + FATAL_SKB_SLOTS <= MAX_COPY && nm + FATAL_SKB_SLOTS <= MAX_MAP) {
            if (prod - reqCons > RING_SLOTS) {
                nb.fatal(); // "Impossible number of requests"
                return np;
            }
            int idx = reqCons;
            long at = Sring.entry(idx++, RING_SLOTS, Netif.TxRequest.SIZE);
            sGref[0] = Netif.TxRequest.gref(nb.tx, at);
            sOff[0] = Netif.TxRequest.offset(nb.tx, at);
            int flags = Netif.TxRequest.flags(nb.tx, at);
            sId[0] = Netif.TxRequest.id(nb.tx, at);
            int size = Netif.TxRequest.size(nb.tx, at);
            int extra = 0, gsoSize = 0, gsoType = 0;
            long mcastAdd = -1, mcastDel = -1;
            boolean gso = false;
            if ((flags & NETTXF_extra_info) != 0) {
                int exFlags;
                do {
                    if (idx == prod || ++extra > XEN_NETIF_EXTRA_TYPE_MAX) {
                        nb.fatal();
                        return np;
                    }
                    long ex = Sring.entry(idx++, RING_SLOTS, Netif.TxRequest.SIZE);
                    exFlags = Netif.ExtraInfo.flags(nb.tx, ex);
                    int type = Netif.ExtraInfo.type(nb.tx, ex);
                    if (type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX) {
                        nb.fatal(); // xenvif_get_extras: "Invalid extra type"
                        return np;
                    }
                    if (type == XEN_NETIF_EXTRA_TYPE_GSO) {
                        gso = true;
                        gsoSize = Netif.ExtraInfo.gsoSize(nb.tx, ex);
                        gsoType = Netif.ExtraInfo.gsoType(nb.tx, ex);
                    } else if (type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD) {
                        mcastAdd = Netif.ExtraInfo.mcastAddr(nb.tx, ex);
                    } else if (type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
                        mcastDel = Netif.ExtraInfo.mcastAddr(nb.tx, ex);
                    }
                } while ((exFlags & XEN_NETIF_EXTRA_FLAG_MORE) != 0);
            }
            if (mcastAdd >= 0 || mcastDel >= 0) {
                // A multicast-filter request, not a packet: answered at once, no slot read; its
                // NETTXF_more_data is not followed (the next request is read as a packet's first).
                reqCons = idx;
                int status = NETIF_RSP_OKAY;
                if (mcastAdd >= 0) {
                    status = nb.vif.mcastAdd(mcastAdd) ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
                } else {
                    nb.vif.mcastDel(mcastDel);
                }
                respond(sId[0], extra, status);
                continue;
            }
            // xenvif_count_requests
            int slots = 0;
            int firstSize = size;
            boolean drop = false;
            boolean more = (flags & NETTXF_more_data) != 0;
            while (more) {
                if (idx == prod || slots >= FATAL_SKB_SLOTS) {
                    nb.fatal(); // "Asked for more slots than available" / "Malicious frontend"
                    return np;
                }
                if (slots >= LEGACY_SLOTS_MAX) {
                    drop = true;
                }
                long s = Sring.entry(idx++, RING_SLOTS, Netif.TxRequest.SIZE);
                int k = drop ? FATAL_SKB_SLOTS : slots + 1;
                sGref[k] = Netif.TxRequest.gref(nb.tx, s);
                sOff[k] = Netif.TxRequest.offset(nb.tx, s);
                sId[k] = Netif.TxRequest.id(nb.tx, s);
                sSize[k] = Netif.TxRequest.size(nb.tx, s);
                if (sSize[k] > firstSize) {
                    drop = true;
                }
                firstSize -= sSize[k];
                if (sOff[k] + sSize[k] > 4096) {
                    nb.fatal();
                    return np;
                }
                more = (Netif.TxRequest.flags(nb.tx, s) & NETTXF_more_data) != 0;
                slots++;
            }
            sSize[0] = firstSize;
            reqCons = idx;
            // The runt check is on the first slot's own bytes: xenvif_count_requests has taken the
            // other slots' sizes off txreq.size by then.
            if (drop || firstSize < 14) {
                // Too many slots or a runt: every slot is answered with an error, nothing is read,
                // and the batch ends there (xenvif_tx_build_gops breaks off; the next round goes
                // on). xenvif_tx_err re-reads each slot's id from the ring.
                dropAll(sId[0], extra, idx, slots);
                return np;
            }
            if (sOff[0] + sSize[0] > 4096) {
                nb.fatal(); // "Cross page boundary"
                return np;
            }
            // xenvif_tx_build_gops: the first min(length, 128) bytes are copied, or the whole first
            // slot when 17 slots or more follow it (so that the rest fits the skb's frags).
            int dataLen = Math.min(size, COPY_LEN);
            if (slots >= LEGACY_SLOTS_MAX - 1 && dataLen < firstSize) {
                dataLen = firstSize;
            }
            TxSkb skb = nb.vif.skbAllocFails() ? null : skbs.take(dataLen);
            if (skb == null) {
                dropAll(sId[0], extra, idx, slots); // "Can't allocate a skb in start_xmit."
                return np;
            }
            if (gso && (gsoSize == 0 || gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6)) {
                skbs.give(skb);
                nb.fatal(); // xenvif_set_skb_gso: "GSO size must not be zero" / "Bad GSO type"
                return np;
            }
            skb.gsoSize = gsoSize;
            skb.gsoType = gsoType;
            skb.ipSummed = Checksum.ofTxFlags(flags, gsoSize > 0);
            int[] pend = sId; // reuse: sId[i] becomes the pending index after this loop
            int i = 0;
            for (int s = 0; s <= slots; s++) {
                int p = pendFree[--pendFreeCount];
                pendId[p] = sId[s];
                pendExtra[p] = s == 0 ? extra : 0;
                pend[s] = p;
            }
            while (dataLen > 0) {
                int amount = Math.min(sSize[i], dataLen);
                int dst = skb.headOff + skb.headLen;
                long dstFrame = skb.headFrameAt(dst);
                dst &= 4095;
                // xenvif_get_requests: no copy crosses a dom0 page; the slot's rest is the next copy.
                amount = Math.min(amount, 4096 - dst);
                Gnttab.Copy.set(nb.copyArgs, (long) nc * Gnttab.Copy.SIZE, sGref[i], nb.front, sOff[i],
                        dstFrame, DOMID_SELF, dst, amount, GNTCOPY_source_gref);
                skb.headLen += amount;
                dataLen -= amount;
                copyPkt[nc] = np;
                if (amount == sSize[i]) {
                    copyPend[nc++] = pend[i++];
                } else {
                    copyPend[nc++] = -1;
                    sOff[i] += amount;
                    sSize[i] -= amount;
                }
            }
            for (; i <= slots; i++) {
                if (sSize[i] == 0) {
                    // xenvif_get_requests (since XSA-448): an empty slot is answered at once, never mapped.
                    release(pend[i], NETIF_RSP_OKAY);
                    continue;
                }
                Gnttab.Map.set(nb.mapArgs, (long) nm * Gnttab.Map.SIZE, KADDR + 4096L * pend[i],
                        GNTMAP_host_map | GNTMAP_readonly, sGref[i], nb.front);
                mapPend[nm] = pend[i];
                mapPkt[nm] = np;
                mapOff[nm] = sOff[i];
                mapLen[nm] = sSize[i];
                mapGref[nm++] = sGref[i];
            }
            pkt[np] = skb;
            pktOk[np++] = true;
        }
        return np;
    }

    private static final int RING_SLOTS = Netback.RING;

    /** xenvif_tx_err: the packet's first slot and the {@code slots} before {@code idx} are answered with errors. */
    private void dropAll(int firstId, int extra, int idx, int slots) {
        respond(firstId, extra, NETIF_RSP_ERROR);
        for (int j = idx - slots; j != idx; j++) {
            respond(Netif.TxRequest.id(nb.tx, Sring.entry(j, RING_SLOTS, Netif.TxRequest.SIZE)), 0, NETIF_RSP_ERROR);
        }
        dropped++;
    }

    /** The copy and map hypercalls of a batch, their results, the answers, then delivery. */
    private void submit(int np) {
        if (nc > 0) {
            nb.host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, nb.copyArgs, nc);
        }
        if (nm > 0) {
            nb.host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, nb.mapArgs, nm);
        }
        for (int c = 0; c < nc; c++) {
            if (Gnttab.Copy.status(nb.copyArgs, (long) c * Gnttab.Copy.SIZE) != GNTST_okay) {
                pktOk[copyPkt[c]] = false;
            }
        }
        for (int m = 0; m < nm; m++) {
            long at = (long) m * Gnttab.Map.SIZE;
            if (Gnttab.Map.status(nb.mapArgs, at) != GNTST_okay) {
                pktOk[mapPkt[m]] = false;
                pendHandle[mapPend[m]] = -1;
            } else {
                pendHandle[mapPend[m]] = Gnttab.Map.handle(nb.mapArgs, at);
            }
        }
        for (int c = 0; c < nc; c++) {
            if (copyPend[c] >= 0) {
                release(copyPend[c], pktOk[copyPkt[c]] ? NETIF_RSP_OKAY : NETIF_RSP_ERROR);
            }
        }
        for (int m = 0; m < nm; m++) {
            long at = (long) m * Gnttab.Map.SIZE;
            TxSkb skb = pkt[mapPkt[m]];
            if (pendHandle[mapPend[m]] < 0) {
                release(mapPend[m], NETIF_RSP_ERROR);
            } else {
                skb.mapped[skb.nmapped++] = mapPend[m];
                pendStatus[mapPend[m]] = pktOk[mapPkt[m]] ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
                if (pktOk[mapPkt[m]]) {
                    skb.addFrag(nb.front, mapGref[m], Gnttab.Map.devBusAddr(nb.mapArgs, at) >>> 12, mapOff[m], mapLen[m]);
                }
            }
        }
        pushResponses();
        for (int p = 0; p < np; p++) {
            if (pktOk[p]) {
                packets++;
                nb.bridge.forward(pkt[p], nb.port);
            } else {
                failed++;
                pkt[p].put(); // unmaps what was mapped, answers with errors
            }
        }
    }

    /** The skb was consumed (zero-copy callback): its mapped slots go to the dealloc batch. */
    private void done(TxSkb skb) {
        for (int i = 0; i < skb.nmapped; i++) {
            dealloc[deallocCount++] = skb.mapped[i];
        }
        skbs.give(skb);
        if (deallocCount > 0 && !deallocScheduled) {
            deallocScheduled = true;
            nb.host.defer(deallocRun);
        }
    }

    /** xenvif_tx_dealloc_action: one unmap hypercall per batch, then the answers. */
    private void deallocAction() {
        deallocScheduled = false;
        while (deallocCount > 0) {
            int n = Math.min(deallocCount, MAX_UNMAP);
            for (int i = 0; i < n; i++) {
                int p = dealloc[deallocCount - n + i];
                Gnttab.Unmap.set(nb.unmapArgs, (long) i * Gnttab.Unmap.SIZE, KADDR + 4096L * p, 0, pendHandle[p]);
            }
            nb.host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, nb.unmapArgs, n);
            for (int i = 0; i < n; i++) {
                int p = dealloc[deallocCount - n + i];
                int st = Gnttab.Unmap.status(nb.unmapArgs, (long) i * Gnttab.Unmap.SIZE);
                if (st != GNTST_okay) {
                    failed++;
                }
                release(p, pendStatus[p]);
            }
            deallocCount -= n;
        }
        pushResponses();
    }

    private void release(int p, int status) {
        respond(pendId[p], pendExtra[p], status);
        pendFree[pendFreeCount++] = p;
    }

    /** make_tx_response: the slot's answer, then NULL answers for its extra-info slots. */
    private void respond(int id, int extra, int status) {
        // TX ring entries are the request/response union: 12 bytes.
        Netif.TxResponse.set(nb.tx, Sring.entry(rspProdPvt++, RING_SLOTS, Netif.TxRequest.SIZE), id, status);
        for (int e = 0; e < extra; e++) {
            long at = Sring.entry(rspProdPvt++, RING_SLOTS, Netif.TxRequest.SIZE);
            Netif.TxResponse.set(nb.tx, at, 0, NETIF_RSP_NULL);
        }
    }

    /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY on the TX ring. */
    private void pushResponses() {
        int old = Sring.rspProd(nb.tx, 0);
        if (old == rspProdPvt) {
            return;
        }
        Sring.rspProd(nb.tx, 0, rspProdPvt);
        if (Sring.needsNotify(old, rspProdPvt, Sring.rspEvent(nb.tx, 0))) {
            nb.notify(nb.txPort);
        }
    }
}
