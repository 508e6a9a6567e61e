package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Netif.Sring;

/**
 * dom0's backend of one vif, following Linux xen-netback (6.x): probe writes the features and
 * goes InitWait; when the frontend is Connected it maps each queue's two ring pages
 * (GNTTABOP_map_grant_ref), binds its event channels (bind_interdomain) and goes Connected. Each
 * queue ({@link NetbackQueue}) has its own TX path ({@link NetbackTx}) and RX path
 * ({@link NetbackRx}); a packet for the guest takes the queue {@code xenvif_select_queue} picks.
 * A frontend breaking the protocol disables the vif (counted), as xenvif_fatal_tx_err.
 *
 * <p>Teardown (xenbus Closing → Closed): when the frontend goes Closing, each queue's event
 * channels are closed and its ring pages unmapped (xenvif_disconnect_data) and the backend goes
 * Closing, then Closed when the frontend is Closed. A frontend that comes back (Initialising
 * again) finds the backend in InitWait ("prepare for reconnect") and connects anew. Packets for
 * the guest while it is not connected are dropped and counted.
 */
public final class Netback {
    static final int RING = Sring.TX_SIZE;

    final XenHost host;
    final Domain dom0;
    final int front;
    final Bridge bridge;
    final String path;
    private final String frontendPath;
    private int state = XenbusStateInitialising;
    private NetbackQueue[] queues = new NetbackQueue[0];
    private int numQueues;
    int ringMapSeq;
    boolean disabled;
    long unmapFailures;
    private int skbAllocFailures;
    private long rxNotConnected;
    private final FlowHash hash;
    private final byte[] header = new byte[FlowHash.HEADER];
    final Bridge.Port port;
    /** The frontend's multicast filter (xenvif fe_mcast_addr): at most XEN_NETBK_MCAST_MAX addresses. */
    static final int MCAST_MAX = 64;
    private final long[] mcast = new long[MCAST_MAX];
    private int mcastCount;

    Netback(XenHost host, Domain dom0, int front, int devid, Bridge bridge) {
        this.host = host;
        this.dom0 = dom0;
        this.front = front;
        this.bridge = bridge;
        this.path = "/local/domain/0/backend/vif/" + front + "/" + devid;
        this.frontendPath = host.xenstore().read(path + "/frontend");
        this.hash = FlowHash.forBoot(0); // dom0's kernel: one key for all its vifs
        this.port = this::startXmit;
        bridge.addPort(port);
        probe();
    }

    private void probe() {
        XenStore xs = host.xenstore();
        for (String f : new String[] {"feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
            "feature-ipv6-csum-offload", "feature-rx-copy", "feature-xdp-headroom"}) {
            xs.write(path + "/" + f, "1");
        }
        xs.write(path + "/feature-rx-flip", "0");
        xs.write(path + "/feature-multicast-control", "1");
        xs.write(path + "/feature-dynamic-multicast-control", "1");
        xs.write(path + "/feature-split-event-channels", "1");
        xs.write(path + "/multi-queue-max-queues", String.valueOf(dom0.vcpus()));
        xs.write(path + "/feature-ctrl-ring", "1");
        setState(XenbusStateInitWait);
        xs.watch(frontendPath + "/state", "netback", (p, t) -> frontendChanged());
    }

    private void setState(int s) {
        state = s;
        host.xenstore().write(path + "/state", String.valueOf(s));
    }

    public boolean connected() {
        return state == XenbusStateConnected && !disabled;
    }

    /** The backend's xenbus state (XenbusState*). */
    public int state() {
        return state;
    }

    /** Number of queues of the current (or last) connection. */
    public int queues() {
        return numQueues;
    }

    private void frontendChanged() {
        String s = host.xenstore().read(frontendPath + "/state");
        int fe = s == null ? XenbusStateUnknown : Integer.parseInt(s);
        if (fe == XenbusStateConnected && state == XenbusStateInitWait) {
            connect();
        } else if (fe == XenbusStateClosing && state == XenbusStateConnected) {
            disconnect();
            setState(XenbusStateClosing);
        } else if ((fe == XenbusStateClosed || fe == XenbusStateUnknown) && state != XenbusStateClosed) {
            if (state == XenbusStateConnected) {
                disconnect(); // missed the frontend's Closing
            }
            setState(XenbusStateClosed);
        } else if (fe == XenbusStateInitialising && state == XenbusStateClosed) {
            setState(XenbusStateInitWait); // xenvif: prepare for reconnect
        }
    }

    private void connect() {
        XenStore xs = host.xenstore();
        String nqs = xs.read(frontendPath + "/multi-queue-num-queues");
        int nq = nqs == null ? 1 : Integer.parseInt(nqs);
        if (nq < 1 || nq > dom0.vcpus()) {
            disabled = true; // "guest requested %u queues, exceeding the maximum of %u."
            setState(XenbusStateClosing);
            return;
        }
        if (queues.length < nq) {
            NetbackQueue[] more = java.util.Arrays.copyOf(queues, nq);
            for (int i = queues.length; i < nq; i++) {
                more[i] = new NetbackQueue(this, i);
            }
            queues = more;
        }
        numQueues = nq;
        disabled = false;
        for (int i = 0; i < nq; i++) {
            String qp = nq == 1 ? frontendPath : frontendPath + "/queue-" + i;
            String split = xs.read(qp + "/event-channel-tx");
            int remoteTx = Integer.parseInt(split != null ? split : xs.read(qp + "/event-channel"));
            int remoteRx = split != null ? Integer.parseInt(xs.read(qp + "/event-channel-rx")) : remoteTx;
            if (!queues[i].connect(Integer.parseInt(xs.read(qp + "/tx-ring-ref")),
                    Integer.parseInt(xs.read(qp + "/rx-ring-ref")), remoteTx, remoteRx)) {
                disabled = true;
                setState(XenbusStateClosing);
                return;
            }
        }
        setState(XenbusStateConnected);
    }

    /**
     * xenvif_disconnect_data: every queue's channels closed and rings unmapped. It runs from the
     * frontend's state watch, queued after any dealloc batch already scheduled, so the zero-copy
     * TX slots of delivered packets are unmapped and answered before the rings go.
     */
    private void disconnect() {
        for (int i = 0; i < numQueues; i++) {
            queues[i].disconnect();
        }
    }

    /**
     * xenvif_start_xmit after xenvif_select_queue: with more than one queue and no hash
     * configured by the frontend, netdev_pick_tx's skb_tx_hash — the flow hash scaled into the
     * queue count — then {@code % real_num_tx_queues}; one queue takes everything.
     */
    private void startXmit(Skb skb) {
        if (state != XenbusStateConnected || numQueues == 0) {
            rxNotConnected++;
            skb.put();
            return;
        }
        int q = 0;
        if (numQueues > 1) {
            int n = Math.min(skb.len(), FlowHash.HEADER);
            for (int i = 0; i < n; i++) {
                header[i] = skb.byteAt(i);
            }
            q = FlowHash.reciprocalScale(hash.hash(header, 0, n), numQueues) % numQueues;
        }
        queues[q].rxPath.queue(skb);
    }

    /**
     * dom0 under memory pressure: the next {@code n} skbs netback's TX path allocates fail, as a
     * GFP_ATOMIC allocation can in Linux, and those packets are answered with errors (counted as
     * dropped). netback consumes them without a copy or map, which a tap must live with.
     */
    public void failSkbAllocations(int n) {
        skbAllocFailures = n;
    }

    /** Whether this skb allocation fails (see {@link #failSkbAllocations}). */
    boolean skbAllocFails() {
        if (skbAllocFailures > 0) {
            skbAllocFailures--;
            return true;
        }
        return false;
    }

    /** xenvif_fatal_tx_err: the frontend broke the protocol; the vif stops. */
    void fatal() {
        disabled = true;
        for (NetbackQueue q : queues) {
            q.disabled = true;
        }
    }

    /**
     * TX packets forwarded, TX dropped (too many slots, bad size, no skb), TX copy/map failures, RX
     * packets delivered, RX dropped (not connected or queue full), and 1 when the vif was disabled;
     * summed over the queues of every connection so far.
     */
    public long[] counters() {
        long[] c = new long[] {0, 0, 0, 0, rxNotConnected, disabled ? 1 : 0};
        for (NetbackQueue q : queues) {
            c[0] += q.txPath.packets;
            c[1] += q.txPath.dropped;
            c[2] += q.txPath.failed;
            c[3] += q.rxPath.packets;
            c[4] += q.rxPath.dropped;
        }
        return c;
    }

    /** Per queue: TX packets forwarded and RX packets delivered (both summed over connections). */
    public long[][] queueCounters() {
        long[][] c = new long[queues.length][];
        for (int i = 0; i < queues.length; i++) {
            c[i] = new long[] {queues[i].txPath.packets, queues[i].rxPath.packets};
        }
        return c;
    }

    /** xenvif_mcast_add: false (an error answer) when the filter is full. */
    boolean mcastAdd(long addr) {
        if (mcastCount == MCAST_MAX) {
            return false;
        }
        mcast[mcastCount++] = addr;
        return true;
    }

    /** xenvif_mcast_del: the first entry of {@code addr}, if any, is removed. */
    void mcastDel(long addr) {
        for (int i = 0; i < mcastCount; i++) {
            if (mcast[i] == addr) {
                System.arraycopy(mcast, i + 1, mcast, i, --mcastCount - i);
                return;
            }
        }
    }
}
