package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;
import static org.xenids.xen.emu.NetfrontQueue.RING;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.abi.Netif.Sring;

/**
 * Netfront's RX path (xennet_alloc_rx_buffers, xennet_poll): writable pages posted for the
 * backend to copy into, whole packets read out of the responses and handed to the guest stack,
 * the used buffers posted again.
 */
final class NetfrontRx {
    private static final int PAGE = 4096;

    private final Netfront nf;
    private final Domain guest;
    private final FrameSink stack;
    private final byte[] rxBuf = new byte[65536 + 4096];
    private final MemorySegment rxBufSeg = MemorySegment.ofArray(rxBuf);
    /** RX packets, RX errors, and posted buffers the backend still held at teardown. */
    long packets, errors, grantStillInUse;

    NetfrontRx(Netfront nf, Domain guest, FrameSink stack) {
        this.nf = nf;
        this.guest = guest;
        this.stack = stack;
    }

    /** Grants the next request's page to the backend, writable, and writes the request (not yet pushed). */
    void post(NetfrontQueue q) {
        int id = q.rxReqProdPvt & (RING - 1);
        if (q.rxPage[id] == 0) {
            q.rxPage[id] = guest.allocFrame();
        }
        guest.grantAccess(q.rxRefBase + id, q.backend, q.rxPage[id], false);
        Netif.RxRequest.set(q.rx, Sring.entry(q.rxReqProdPvt++, RING, Netif.RxRequest.SIZE), id, q.rxRefBase + id);
    }

    /** Publishes the posted requests; notifies when the backend asked. */
    void push(NetfrontQueue q) {
        int old = Sring.reqProd(q.rx, 0);
        Sring.reqProd(q.rx, 0, q.rxReqProdPvt);
        if (Sring.needsNotify(old, q.rxReqProdPvt, Sring.reqEvent(q.rx, 0))) {
            nf.send(q.rxPort);
        }
    }

    /**
     * xennet_poll: whole packets out of the RX responses, then the used buffers posted again.
     * More responses than the ring holds break the device.
     */
    void poll(NetfrontQueue q) {
        if (nf.broken()) {
            return;
        }
        int consumed = 0;
        int prod;
        do {
            prod = Sring.rspProd(q.rx, 0);
            if (prod - q.rxRspCons > RING || prod - q.rxRspCons < 0) {
                nf.broke(); // RING_RESPONSE_PROD_OVERFLOW
                return;
            }
            while (q.rxRspCons != prod) {
                int len = 0;
                boolean bad = false;
                boolean more;
                boolean first = true;
                do {
                    long at = Sring.entry(q.rxRspCons, RING, Netif.RxResponse.SIZE);
                    int id = Netif.RxResponse.id(q.rx, at);
                    int offset = Netif.RxResponse.offset(q.rx, at);
                    int flags = Netif.RxResponse.flags(q.rx, at);
                    int status = Netif.RxResponse.status(q.rx, at);
                    consumed++;
                    q.rxRspCons++;
                    if (id >= RING || status < 0 || offset + status > PAGE || len + status > rxBuf.length) {
                        bad = true;
                    } else {
                        guest.endAccess(q.rxRefBase + id);
                        MemorySegment.copy(guest.page(q.rxPage[id]), offset, rxBufSeg, len, status);
                        len += status;
                    }
                    if (first && (flags & NETRXF_extra_info) != 0) {
                        int type;
                        do {  // extra slots: their request buffers are reused as they are
                            long ex = Sring.entry(q.rxRspCons++, RING, Netif.RxResponse.SIZE);
                            consumed++;
                            type = Netif.ExtraInfo.flags(q.rx, ex);
                        } while ((type & XEN_NETIF_EXTRA_FLAG_MORE) != 0 && q.rxRspCons != prod);
                    }
                    first = false;
                    more = (flags & NETRXF_more_data) != 0 && q.rxRspCons != prod;
                } while (more);
                if (bad) {
                    errors++;
                } else {
                    packets++;
                    stack.frame(rxBuf, len);
                }
            }
            Sring.rspEvent(q.rx, 0, q.rxRspCons + 1);
        } while (Sring.rspProd(q.rx, 0) != prod);
        for (int i = 0; i < consumed; i++) {
            post(q);
        }
        if (consumed > 0) {
            push(q);
        }
    }

    /** xennet_release_rx_bufs: at teardown every posted buffer still granted is ended. */
    void release(NetfrontQueue q) {
        for (int id = 0; id < RING; id++) {
            if ((guest.grantFlags(q.rxRefBase + id) & GTF_type_mask) != GTF_invalid
                    && !guest.endAccess(q.rxRefBase + id)) {
                grantStillInUse++;
            }
        }
    }
}
