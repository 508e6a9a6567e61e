package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.abi.Netif.Sring;

/**
 * A guest's vif driver, following Linux xen-netfront (6.x): on the backend's InitWait it claims
 * grant refs (256 TX + 256 RX per queue, then the two ring pages: refs 520/521 for the first vif,
 * as on the real host), grants the rings, allocates event channels (split when offered), writes
 * its keys and goes Connected after posting 256 writable RX pages. TX: a frame is laid out in
 * guest pages, one read-only grant per 4 KiB piece, NETTXF_more_data chaining the slots, a GSO
 * extra slot for TCP frames above the MTU. With several queues a frame goes out on the queue
 * {@code xennet_select_queue} picks: the flow hash modulo the queue count.
 *
 * <p>A backend is not trusted (Linux's hardening of 2021): a response naming an id outside the
 * ring or one with no request outstanding, or more responses than the ring holds, marks the
 * device broken (counted); a broken device sends and receives nothing more until it reconnects.
 *
 * <p>Teardown: {@link #close()} goes Closing; when the backend has gone Closing (its rings
 * unmapped), the frontend closes its event channels, ends access to its ring pages, its posted
 * RX buffers and any TX buffer still granted, and goes Closed. {@link #reconnect()} goes
 * Initialising again and connects anew with the same grant refs and pages when the backend is
 * back in InitWait.
 */
public final class Netfront {
    private static final int RING = Sring.TX_SIZE;
    private static final int PAGE = 4096;

    private final XenHost host;
    private final Domain guest;
    private final String path;
    private final String backendPath;
    private final int wantQueues;
    private final FrameSink stack;
    private final MemorySegment args;
    private int state = XenbusStateInitialising;
    private int backend;
    private Queue[] queues = new Queue[0];
    private int numQueues;
    private boolean broken;
    private final FlowHash hash;
    private final byte[] rxBuf = new byte[65536 + 4096];
    private final MemorySegment rxBufSeg = MemorySegment.ofArray(rxBuf);
    private byte[] lastFrame;
    private MemorySegment lastFrameSeg;
    private final SkbLayout skb = new SkbLayout();
    private long txPackets, txDropped, rxPackets, rxErrors, txErrors, grantStillInUse, badResponses;

    /** One queue's rings, ports and buffers. */
    private final class Queue {
        int txRingRef, rxRingRef, txPort, rxPort;
        long txFrame, rxFrame;
        MemorySegment tx, rx;
        int txRefBase, rxRefBase;
        int txReqProdPvt, txRspCons, rxReqProdPvt, rxRspCons;
        final long[] txPage = new long[RING];
        final long[] rxPage = new long[RING];
        final int[] txFreeIds = new int[RING];
        int txFree;
        /** TX_PENDING: an id whose request was published and not yet answered. */
        final boolean[] txPending = new boolean[RING];
        long sent;
    }

    Netfront(XenHost host, Domain guest, int devid, int queues, FrameSink stack) {
        this.host = host;
        this.guest = guest;
        this.path = "/local/domain/" + guest.domid + "/device/vif/" + devid;
        this.backendPath = host.xenstore().read(path + "/backend");
        this.wantQueues = Math.max(1, queues);
        this.stack = stack;
        this.args = guest.page(guest.allocFrame());
        this.hash = FlowHash.forBoot(guest.domid); // the guest kernel's own hashrnd
        host.xenstore().watch(backendPath + "/state", "netfront", (p, t) -> backendChanged());
    }

    public boolean connected() {
        return state == XenbusStateConnected && !broken;
    }

    /** The frontend's xenbus state (XenbusState*). */
    public int state() {
        return state;
    }

    /**
     * TX packets sent, dropped (ring full, not connected or broken), TX error responses, RX
     * packets, RX errors, grants still in use at TX completion or teardown, and responses that
     * broke the device (bad id, answer to no request, too many responses).
     */
    public long[] counters() {
        return new long[] {txPackets, txDropped, txErrors, rxPackets, rxErrors, grantStillInUse, badResponses};
    }

    /** TX packets sent per queue (over every connection). */
    public long[] queueSent() {
        long[] c = new long[queues.length];
        for (int i = 0; i < queues.length; i++) {
            c[i] = queues[i].sent;
        }
        return c;
    }

    /** Whether a backend response broke the device (it stays broken until it reconnects). */
    public boolean broken() {
        return broken;
    }

    /** The guest takes the vif down (xennet_remove → xennet_bus_close): Closing, the rest follows the backend. */
    public void close() {
        if (state == XenbusStateConnected) {
            setState(XenbusStateClosing);
        }
    }

    /** The guest brings a closed vif up again: Initialising; it connects when the backend is back in InitWait. */
    public void reconnect() {
        if (state != XenbusStateClosed) {
            throw new IllegalStateException(path + ": reconnect from state " + state + ", not Closed");
        }
        setState(XenbusStateInitialising);
    }

    private void setState(int s) {
        state = s;
        host.xenstore().write(path + "/state", String.valueOf(s));
    }

    private void backendChanged() {
        String s = host.xenstore().read(backendPath + "/state");
        int be = s == null ? XenbusStateUnknown : Integer.parseInt(s);
        if (be == XenbusStateInitWait && state == XenbusStateInitialising) {
            connect();
        } else if ((be == XenbusStateClosing || be == XenbusStateClosed || be == XenbusStateUnknown)
                && (state == XenbusStateConnected || state == XenbusStateClosing)) {
            // netback_changed → xenbus_frontend_closed, then xennet_disconnect_backend.
            disconnectBackend();
            setState(XenbusStateClosed);
        }
    }

    /**
     * xennet_disconnect_backend: each queue's event channels closed (EVTCHNOP_close), its TX
     * buffers still granted and its posted RX buffers ended (gnttab_end_foreign_access), then
     * its two ring pages. A grant the backend still has mapped stays (counted).
     */
    private void disconnectBackend() {
        for (int i = 0; i < numQueues; i++) {
            Queue q = queues[i];
            closePort(q.txPort);
            if (q.rxPort != q.txPort) {
                closePort(q.rxPort);
            }
            for (int id = 0; id < RING; id++) {
                if (q.txPending[id]) {
                    q.txPending[id] = false;
                    q.txFreeIds[q.txFree++] = id;
                    if (!guest.endAccess(q.txRefBase + id)) {
                        grantStillInUse++;
                    }
                }
            }
            for (int id = 0; id < RING; id++) {
                if ((guest.grantFlags(q.rxRefBase + id) & GTF_type_mask) != GTF_invalid
                        && !guest.endAccess(q.rxRefBase + id)) {
                    grantStillInUse++;
                }
            }
            if (!guest.endAccess(q.txRingRef)) {
                grantStillInUse++;
            }
            if (!guest.endAccess(q.rxRingRef)) {
                grantStillInUse++;
            }
        }
    }

    private void closePort(int port) {
        guest.onEvent(port, null);
        Evtchn.PortOp.set(args, 0, port);
        host.hypercall(guest.domid, __HYPERVISOR_event_channel_op, EVTCHNOP_close, args, 1);
    }

    private void connect() {
        XenStore xs = host.xenstore();
        backend = Integer.parseInt(xs.read(path + "/backend-id"));
        String maxq = xs.read(backendPath + "/multi-queue-max-queues");
        boolean split = "1".equals(xs.read(backendPath + "/feature-split-event-channels"));
        int nq = maxq == null ? 1 : Math.min(wantQueues, Integer.parseInt(maxq));
        if ("1".equals(xs.read(backendPath + "/feature-xdp-headroom"))) {
            xs.write(path + "/xdp-headroom", "0");
        }
        if (queues.length < nq) {
            // Grant refs and pages are claimed once per queue; a reconnect reuses them.
            Queue[] more = java.util.Arrays.copyOf(queues, nq);
            for (int i = queues.length; i < nq; i++) {
                Queue q = new Queue();
                more[i] = q;
                q.txRefBase = guest.claimGrantRefs(RING);
                q.rxRefBase = guest.claimGrantRefs(RING);
                q.txFrame = guest.allocFrame();
                q.rxFrame = guest.allocFrame();
                q.tx = guest.page(q.txFrame);
                q.rx = guest.page(q.rxFrame);
                q.txRingRef = guest.claimGrantRefs(1);
                q.rxRingRef = guest.claimGrantRefs(1);
            }
            queues = more;
        }
        numQueues = nq;
        broken = false; // a reconnect resets the indicator
        for (int i = 0; i < nq; i++) {
            Queue q = queues[i];
            // SHARED_RING_INIT / FRONT_RING_INIT: a fresh ring, indices from 0.
            q.tx.fill((byte) 0);
            q.rx.fill((byte) 0);
            q.txReqProdPvt = q.txRspCons = q.rxReqProdPvt = q.rxRspCons = 0;
            Sring.reqEvent(q.tx, 0, 1);
            Sring.rspEvent(q.tx, 0, 1);
            Sring.reqEvent(q.rx, 0, 1);
            Sring.rspEvent(q.rx, 0, 1);
            guest.grantAccess(q.txRingRef, backend, q.txFrame, false);
            guest.grantAccess(q.rxRingRef, backend, q.rxFrame, false);
            q.txPort = allocUnbound(backend);
            q.rxPort = split ? allocUnbound(backend) : q.txPort;
            for (int id = 0; id < RING; id++) {
                q.txFreeIds[id] = RING - 1 - id;
                q.txPending[id] = false;
            }
            q.txFree = RING;
            if (split) {
                guest.onEvent(q.txPort, p -> txGc(q));
                guest.onEvent(q.rxPort, p -> rxPoll(q));
            } else {
                guest.onEvent(q.txPort, p -> { txGc(q); rxPoll(q); });
            }
        }
        if (maxq != null) {
            xs.write(path + "/multi-queue-num-queues", String.valueOf(nq));
        }
        for (int i = 0; i < nq; i++) {
            String qp = nq == 1 ? path : path + "/queue-" + i;
            Queue q = queues[i];
            xs.write(qp + "/tx-ring-ref", String.valueOf(q.txRingRef));
            xs.write(qp + "/rx-ring-ref", String.valueOf(q.rxRingRef));
            if (q.rxPort != q.txPort) {
                xs.write(qp + "/event-channel-tx", String.valueOf(q.txPort));
                xs.write(qp + "/event-channel-rx", String.valueOf(q.rxPort));
            } else {
                xs.write(qp + "/event-channel", String.valueOf(q.txPort));
            }
        }
        xs.write(path + "/request-rx-copy", "1");
        xs.write(path + "/feature-rx-notify", "1");
        xs.write(path + "/feature-sg", "1");
        xs.write(path + "/feature-gso-tcpv4", "1");
        xs.write(path + "/feature-gso-tcpv6", "1");
        xs.write(path + "/feature-ipv6-csum-offload", "1");
        for (int k = 0; k < nq; k++) {
            Queue q = queues[k];
            for (int i = 0; i < RING; i++) {
                postRx(q, backend);
            }
            pushRx(q);
            // xennet_connect kicks both channels; the backend has not bound them yet, so Xen drops these.
            send(q.txPort);
            if (q.rxPort != q.txPort) {
                send(q.rxPort);
            }
        }
        state = XenbusStateConnected;
        xs.write(path + "/state", String.valueOf(XenbusStateConnected));
    }

    private int allocUnbound(int remote) {
        Evtchn.AllocUnbound.set(args, 0, DOMID_SELF, remote);
        long r = host.hypercall(guest.domid, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, args, 1);
        if (r != 0) {
            throw new IllegalStateException(path + ": alloc_unbound failed: " + r);
        }
        return Evtchn.AllocUnbound.port(args, 0);
    }

    private void send(int port) {
        Evtchn.PortOp.set(args, 0, port);
        host.hypercall(guest.domid, __HYPERVISOR_event_channel_op, EVTCHNOP_send, args, 1);
    }

    /**
     * The guest stack transmits {@code frame[off, off+len)}; {@code gsoSize} &gt; 0 with
     * {@code gsoType} (XEN_NETIF_GSO_TYPE_TCPV4/6) marks a TCP super-frame the backend segments.
     * Returns false (counted) when not connected or the ring has no room.
     */
    public boolean transmit(byte[] frame, int off, int len, int gsoSize, int gsoType) {
        if (len < 14 || len > XEN_NETIF_MAX_TX_SIZE) {
            throw new IllegalArgumentException("frame length " + len + " outside 14.." + XEN_NETIF_MAX_TX_SIZE);
        }
        if (!connected()) {
            txDropped++;
            return false;
        }
        // xennet_select_queue: skb_get_hash(skb) % num_queues when there is more than one.
        Queue q = queues[numQueues == 1 ? 0 : Integer.remainderUnsigned(hash.hash(frame, off, len), numQueues)];
        int slots = skb.layout(frame, off, len);
        boolean gso = gsoSize > 0;
        if ((q.txReqProdPvt - q.txRspCons) + slots + (gso ? 1 : 0) > RING || q.txFree < slots) {
            txDropped++;
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
            guest.grantAccess(q.txRefBase + id, backend, q.txPage[id], true);
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
        int old = Sring.reqProd(q.tx, 0);
        Sring.reqProd(q.tx, 0, q.txReqProdPvt);
        if (Sring.needsNotify(old, q.txReqProdPvt, Sring.reqEvent(q.tx, 0))) {
            send(q.txPort);
        }
        txPackets++;
        q.sent++;
        return true;
    }

    /**
     * Writes one packet of {@code slots} raw TX requests all naming grant {@code ref} with
     * {@code size} bytes each, as a broken or hostile frontend could (for tests of netback's
     * limits); ids come from the free list so the answers are accounted.
     */
    void rawTx(int slots, int ref, int size) {
        rawTx(slots, ref, size, 0, 0);
    }

    /** As {@link #rawTx(int, int, int)}, slots at {@code offset}, req_prod pushed {@code skew} further. */
    void rawTx(int slots, int ref, int size, int offset, int skew) {
        Queue q = queues[0];
        for (int s = 0; s < slots; s++) {
            int id = q.txFreeIds[--q.txFree];
            q.txPending[id] = true;
            long at = Sring.entry(q.txReqProdPvt++, RING, Netif.TxRequest.SIZE);
            Netif.TxRequest.set(q.tx, at, ref, offset, s + 1 < slots ? NETTXF_more_data : 0, id,
                    s == 0 ? size * slots : size);
        }
        int old = Sring.reqProd(q.tx, 0);
        Sring.reqProd(q.tx, 0, q.txReqProdPvt + skew);
        if (Sring.needsNotify(old, q.txReqProdPvt, Sring.reqEvent(q.tx, 0))) {
            send(q.txPort);
        }
    }

    /**
     * xennet_tx_buf_gc: completed TX slots give back their grant, id and page. The backend is
     * not trusted: more responses than requests outstanding, an id outside the ring, or an id
     * with no request pending ("Response for inactive request") break the device.
     */
    private void txGc(Queue q) {
        if (broken) {
            return;
        }
        int prod;
        do {
            prod = Sring.rspProd(q.tx, 0);
            if (prod - q.txRspCons > RING || prod - q.txRspCons < 0) {
                broke(); // RING_RESPONSE_PROD_OVERFLOW: "Illegal number of responses"
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
                    broke(); // "Response has incorrect id" / "Response for inactive request"
                    return;
                }
                q.txPending[id] = false;
                if (status != NETIF_RSP_OKAY) {
                    txErrors++;
                }
                if (!guest.endAccess(q.txRefBase + id)) {
                    grantStillInUse++;
                }
                q.txFreeIds[q.txFree++] = id;
            }
            Sring.rspEvent(q.tx, 0, q.txRspCons + 1);
        } while (Sring.rspProd(q.tx, 0) != prod);
    }

    private void postRx(Queue q, int backend) {
        int id = q.rxReqProdPvt & (RING - 1);
        if (q.rxPage[id] == 0) {
            q.rxPage[id] = guest.allocFrame();
        }
        guest.grantAccess(q.rxRefBase + id, backend, q.rxPage[id], false);
        Netif.RxRequest.set(q.rx, Sring.entry(q.rxReqProdPvt++, RING, Netif.RxRequest.SIZE), id, q.rxRefBase + id);
    }

    private void pushRx(Queue q) {
        int old = Sring.reqProd(q.rx, 0);
        Sring.reqProd(q.rx, 0, q.rxReqProdPvt);
        if (Sring.needsNotify(old, q.rxReqProdPvt, Sring.reqEvent(q.rx, 0))) {
            send(q.rxPort);
        }
    }

    /** queue->info->broken = true; dev_alert "Disabled for further use". */
    private void broke() {
        badResponses++;
        broken = true;
    }

    /**
     * xennet_poll: whole packets out of the RX responses, then the used buffers posted again.
     * More responses than the ring holds break the device.
     */
    private void rxPoll(Queue q) {
        if (broken) {
            return;
        }
        int consumed = 0;
        int prod;
        do {
            prod = Sring.rspProd(q.rx, 0);
            if (prod - q.rxRspCons > RING || prod - q.rxRspCons < 0) {
                broke(); // RING_RESPONSE_PROD_OVERFLOW
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
                    rxErrors++;
                } else {
                    rxPackets++;
                    stack.frame(rxBuf, len);
                }
            }
            Sring.rspEvent(q.rx, 0, q.rxRspCons + 1);
        } while (Sring.rspProd(q.rx, 0) != prod);
        for (int i = 0; i < consumed; i++) {
            postRx(q, backend);
        }
        if (consumed > 0) {
            pushRx(q);
        }
    }
}
