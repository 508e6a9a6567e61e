package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Netif.Sring;

/**
 * A guest's vif driver, following Linux xen-netfront (6.x): on the backend's InitWait it claims
 * grant refs (256 TX + 256 RX per queue, then the two ring pages: refs 520/521 for the first vif,
 * as on the real host), grants the rings, allocates event channels (split when offered), writes
 * its keys and goes Connected after posting 256 writable RX pages. TX: a frame is laid out in
 * guest pages, one read-only grant per 4 KiB piece, NETTXF_more_data chaining the slots, a GSO
 * extra slot for TCP frames above the MTU ({@link NetfrontTx}); RX buffers are posted and polled
 * by {@link NetfrontRx}. With several queues a frame goes out on the queue
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
    private static final int RING = NetfrontQueue.RING;

    private final XenHost host;
    private final Domain guest;
    private final String path;
    private final String backendPath;
    private final int wantQueues;
    private final MemorySegment args;
    private int state = XenbusStateInitialising;
    private NetfrontQueue[] queues = new NetfrontQueue[0];
    private int numQueues;
    private boolean broken;
    private final FlowHash hash;
    private final NetfrontTx tx;
    private final NetfrontRx rx;
    /** Grants still in use when the ring pages were ended at teardown (TX and RX count their own). */
    private long ringGrantStillInUse;
    private long txPackets, txDropped, badResponses;

    Netfront(XenHost host, Domain guest, int devid, int queues, FrameSink stack) {
        this.host = host;
        this.guest = guest;
        this.path = "/local/domain/" + guest.domid + "/device/vif/" + devid;
        this.backendPath = host.xenstore().read(path + "/backend");
        this.wantQueues = Math.max(1, queues);
        this.args = guest.page(guest.allocFrame());
        this.hash = FlowHash.forBoot(guest.domid); // the guest kernel's own hashrnd
        this.tx = new NetfrontTx(this, guest);
        this.rx = new NetfrontRx(this, guest, stack);
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
        return new long[] {txPackets, txDropped, tx.errors, rx.packets, rx.errors,
                tx.grantStillInUse + rx.grantStillInUse + ringGrantStillInUse, badResponses};
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
            NetfrontQueue q = queues[i];
            closePort(q.txPort);
            if (q.rxPort != q.txPort) {
                closePort(q.rxPort);
            }
            tx.release(q);
            rx.release(q);
            if (!guest.endAccess(q.txRingRef)) {
                ringGrantStillInUse++;
            }
            if (!guest.endAccess(q.rxRingRef)) {
                ringGrantStillInUse++;
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
        int backend = Integer.parseInt(xs.read(path + "/backend-id"));
        String maxq = xs.read(backendPath + "/multi-queue-max-queues");
        boolean split = "1".equals(xs.read(backendPath + "/feature-split-event-channels"));
        int nq = maxq == null ? 1 : Math.min(wantQueues, Integer.parseInt(maxq));
        if ("1".equals(xs.read(backendPath + "/feature-xdp-headroom"))) {
            xs.write(path + "/xdp-headroom", "0");
        }
        if (queues.length < nq) {
            // Grant refs and pages are claimed once per queue; a reconnect reuses them.
            NetfrontQueue[] more = java.util.Arrays.copyOf(queues, nq);
            for (int i = queues.length; i < nq; i++) {
                more[i] = new NetfrontQueue(guest);
            }
            queues = more;
        }
        numQueues = nq;
        broken = false; // a reconnect resets the indicator
        for (int i = 0; i < nq; i++) {
            NetfrontQueue q = queues[i];
            q.backend = backend;
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
            tx.reset(q);
            if (split) {
                guest.onEvent(q.txPort, p -> tx.gc(q));
                guest.onEvent(q.rxPort, p -> rx.poll(q));
            } else {
                guest.onEvent(q.txPort, p -> { tx.gc(q); rx.poll(q); });
            }
        }
        if (maxq != null) {
            xs.write(path + "/multi-queue-num-queues", String.valueOf(nq));
        }
        for (int i = 0; i < nq; i++) {
            String qp = nq == 1 ? path : path + "/queue-" + i;
            NetfrontQueue q = queues[i];
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
            NetfrontQueue q = queues[k];
            for (int i = 0; i < RING; i++) {
                rx.post(q);
            }
            rx.push(q);
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

    /** Notifies the backend on {@code port} (EVTCHNOP_send). */
    void send(int port) {
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
        NetfrontQueue q = queues[numQueues == 1 ? 0 : Integer.remainderUnsigned(hash.hash(frame, off, len), numQueues)];
        if (!tx.put(q, frame, off, len, gsoSize, gsoType)) {
            txDropped++;
            return false;
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
        tx.rawTx(queues[0], slots, ref, size, offset, skew);
    }

    /** As {@link #rawTx(int, int, int)}, the first slot holding {@code firstSize} bytes of its own at {@code offset}. */
    void rawTxFirst(int slots, int ref, int firstSize, int size, int offset) {
        tx.rawTx(queues[0], slots, ref, firstSize, size, offset, 0);
    }

    /** queue->info->broken = true; dev_alert "Disabled for further use". */
    void broke() {
        badResponses++;
        broken = true;
    }
}
