package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;
import static org.xenids.xen.emu.NetfrontQueue.RING;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.abi.Netif.Sring;

/**
 * Netfront's TX path (xennet_start_xmit, xennet_tx_buf_gc): a frame is laid out in guest pages,
 * one read-only grant per 4 KiB piece, NETTXF_more_data chaining the slots, a GSO extra slot
 * for TCP frames above the MTU; completed slots give back their grant and id, and responses the
 * backend should not have written break the device.
 */
final class NetfrontTx {
    private final Netfront nf;
    private final Domain guest;
    private final SkbLayout skb = new SkbLayout();
    private byte[] lastFrame;
    private MemorySegment lastFrameSeg;
    /** TX error responses, and grants the backend still held when given back. */
    long errors, grantStillInUse;

    NetfrontTx(Netfront nf, Domain guest) {
        this.nf = nf;
        this.guest = guest;
    }

    /** A fresh ring: every id free, none pending. */
    void reset(NetfrontQueue q) {
        for (int id = 0; id < RING; id++) {
            q.txFreeIds[id] = RING - 1 - id;
            q.txPending[id] = false;
        }
        q.txFree = RING;
    }

    /**
     * Puts {@code frame[off, off+len)} on queue {@code q}'s ring ({@code gsoSize} &gt; 0: with a
     * GSO extra slot) and notifies the backend when it asked. Returns false when the ring has no
     * room for it.
     */
    boolean put(NetfrontQueue q, byte[] frame, int off, int len, int gsoSize, int gsoType) {
        int slots = skb.layout(frame, off, len);
        boolean gso = gsoSize > 0;
        if ((q.txReqProdPvt - q.txRspCons) + slots + (gso ? 1 : 0) > RING || q.txFree < slots) {
            return false;
        }
        int done = 0;
        if (frame != lastFrame) {
            lastFrame = frame;
            lastFrameSeg = MemorySegment.ofArray(frame);
        }
        for (int s = 0; s < slots; s++) {
            int id = q.txFreeIds[--q.txFree];
            q.txPending[id] = true;
            if (q.txPage[id] == 0) {
                q.txPage[id] = guest.allocFrame();
            }
            int n = skb.slotSize[s];
            MemorySegment.copy(lastFrameSeg, off + done, guest.page(q.txPage[id]), skb.slotOff[s], n);
            guest.grantAccess(q.txRefBase + id, q.backend, q.txPage[id], true);
            int flags = s + 1 < slots ? NETTXF_more_data : 0;
            if (s == 0 && gso) {
                flags |= NETTXF_extra_info | NETTXF_csum_blank | NETTXF_data_validated;
            }
            long at = Sring.entry(q.txReqProdPvt++, RING, Netif.TxRequest.SIZE);
            Netif.TxRequest.set(q.tx, at, q.txRefBase + id, skb.slotOff[s], flags, id, s == 0 ? len : n);
            if (s == 0 && gso) {
                long ex = Sring.entry(q.txReqProdPvt++, RING, Netif.TxRequest.SIZE);
                Netif.ExtraInfo.setGso(q.tx, ex, 0, gsoSize, gsoType);
            }
            done += n;
        }
        push(q, q.txReqProdPvt);
        return true;
    }

    /** See {@link Netfront#rawTx(int, int, int, int, int)}. */
    void rawTx(NetfrontQueue q, int slots, int ref, int size, int offset, int skew) {
        rawTx(q, slots, ref, size, size, offset, skew);
    }

    /** As above, the first slot holding {@code firstSize} bytes of its own. */
    void rawTx(NetfrontQueue q, int slots, int ref, int firstSize, int size, int offset, int skew) {
        for (int s = 0; s < slots; s++) {
            int id = q.txFreeIds[--q.txFree];
            q.txPending[id] = true;
            long at = Sring.entry(q.txReqProdPvt++, RING, Netif.TxRequest.SIZE);
            Netif.TxRequest.set(q.tx, at, ref, offset, s + 1 < slots ? NETTXF_more_data : 0, id,
                    s == 0 ? firstSize + size * (slots - 1) : size);
        }
        push(q, q.txReqProdPvt + skew);
    }

    /** Publishes req_prod {@code prod}; notifies when the private producer passed req_event. */
    private void push(NetfrontQueue q, int prod) {
        int old = Sring.reqProd(q.tx, 0);
        Sring.reqProd(q.tx, 0, prod);
        if (Sring.needsNotify(old, q.txReqProdPvt, Sring.reqEvent(q.tx, 0))) {
            nf.send(q.txPort);
        }
    }

    /**
     * xennet_tx_buf_gc: completed TX slots give back their grant, id and page. The backend is
     * not trusted: more responses than requests outstanding, an id outside the ring, or an id
     * with no request pending ("Response for inactive request") break the device.
     */
    void gc(NetfrontQueue q) {
        if (nf.broken()) {
            return;
        }
        int prod;
        do {
            prod = Sring.rspProd(q.tx, 0);
            if (prod - q.txRspCons > RING || prod - q.txRspCons < 0) {
                nf.broke(); // RING_RESPONSE_PROD_OVERFLOW: "Illegal number of responses"
                return;
            }
            for (; q.txRspCons != prod; q.txRspCons++) {
                long at = Sring.entry(q.txRspCons, RING, Netif.TxRequest.SIZE);
                int status = Netif.TxResponse.status(q.tx, at);
                if (status == NETIF_RSP_NULL) {
                    continue;
                }
                int id = Netif.TxResponse.id(q.tx, at);
                if (id >= RING || !q.txPending[id]) {
                    q.txRspCons++;
                    nf.broke(); // "Response has incorrect id" / "Response for inactive request"
                    return;
                }
                q.txPending[id] = false;
                if (status != NETIF_RSP_OKAY) {
                    errors++;
                }
                if (!guest.endAccess(q.txRefBase + id)) {
                    grantStillInUse++;
                }
                q.txFreeIds[q.txFree++] = id;
            }
            Sring.rspEvent(q.tx, 0, q.txRspCons + 1);
        } while (Sring.rspProd(q.tx, 0) != prod);
    }

    /** xennet_release_tx_bufs: at teardown every TX buffer still granted is ended and its id freed. */
    void release(NetfrontQueue q) {
        for (int id = 0; id < RING; id++) {
            if (q.txPending[id]) {
                q.txPending[id] = false;
                q.txFreeIds[q.txFree++] = id;
                if (!guest.endAccess(q.txRefBase + id)) {
                    grantStillInUse++;
                }
            }
        }
    }
}
