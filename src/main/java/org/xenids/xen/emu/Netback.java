package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Netif.Sring;

/**
 * dom0's backend of one vif, following Linux xen-netback (6.x): probe writes the features and
 * goes InitWait; when the frontend is Connected it maps the two ring pages
 * (GNTTABOP_map_grant_ref), binds the event channels (bind_interdomain) and goes Connected. TX and
 * RX are {@link NetbackTx} and {@link NetbackRx}; data uses queue 0, further queues are connected
 * but idle. A frontend breaking the protocol disables the vif (counted), as xenvif_fatal_tx_err.
 */
public final class Netback {
    static final int RING = Sring.TX_SIZE;
    /** Start of the kernel virtual addresses used as host_addr for ring mappings (vmalloc area). */
    private static final long RING_VADDR = 0xffffc90000400000L;

    final XenHost host;
    final Domain dom0;
    final int front;
    final Bridge bridge;
    final String path;
    private final String frontendPath;
    private int state = XenbusStateInitialising;
    final MemorySegment evArgs, mapArgs, copyArgs, unmapArgs;
    MemorySegment tx, rx;
    int txPort, rxPort;
    private int ringMaps;
    boolean disabled;
    final NetbackTx txPath;
    final NetbackRx rxPath;
    final Bridge.Port port;

    Netback(XenHost host, Domain dom0, int front, int devid, Bridge bridge) {
        this.host = host;
        this.dom0 = dom0;
        this.front = front;
        this.bridge = bridge;
        this.path = "/local/domain/0/backend/vif/" + front + "/" + devid;
        this.frontendPath = host.xenstore().read(path + "/frontend");
        this.evArgs = dom0.page(dom0.allocFrame());
        this.mapArgs = dom0.page(dom0.allocFrame());
        this.copyArgs = dom0.page(dom0.allocFrame());
        this.unmapArgs = dom0.page(dom0.allocFrame());
        this.txPath = new NetbackTx(this);
        this.rxPath = new NetbackRx(this);
        this.port = rxPath::queue;
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

    private void frontendChanged() {
        String s = host.xenstore().read(frontendPath + "/state");
        if (s != null && Integer.parseInt(s) == XenbusStateConnected && state == XenbusStateInitWait) {
            connect();
        }
    }

    private void connect() {
        XenStore xs = host.xenstore();
        String nqs = xs.read(frontendPath + "/multi-queue-num-queues");
        int nq = nqs == null ? 1 : Integer.parseInt(nqs);
        for (int i = 0; i < nq; i++) {
            String qp = nq == 1 ? frontendPath : frontendPath + "/queue-" + i;
            MemorySegment t = mapRing(Integer.parseInt(xs.read(qp + "/tx-ring-ref")));
            MemorySegment r = mapRing(Integer.parseInt(xs.read(qp + "/rx-ring-ref")));
            String split = xs.read(qp + "/event-channel-tx");
            int tp = bind(Integer.parseInt(split != null ? split : xs.read(qp + "/event-channel")));
            int rp = split != null ? bind(Integer.parseInt(xs.read(qp + "/event-channel-rx"))) : tp;
            if (t == null || r == null || tp < 0 || rp < 0) {
                disabled = true;
                setState(XenbusStateClosing);
                return;
            }
            if (i == 0) {
                tx = t;
                rx = r;
                txPort = tp;
                rxPort = rp;
                if (tp != rp) {
                    dom0.onEvent(tp, p -> txPath.action());
                    dom0.onEvent(rp, p -> rxPath.action());
                } else {
                    dom0.onEvent(tp, p -> { txPath.action(); rxPath.action(); });
                }
            }
        }
        setState(XenbusStateConnected);
    }

    /** xenbus_map_ring_valloc: one writable host mapping per ring page; null on failure. */
    private MemorySegment mapRing(int ref) {
        Gnttab.Map.set(mapArgs, 0, RING_VADDR + 4096L * ringMaps++, GNTMAP_host_map, ref, front);
        host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, mapArgs, 1);
        if (Gnttab.Map.status(mapArgs, 0) != GNTST_okay) {
            return null;
        }
        return host.frames.page(Gnttab.Map.devBusAddr(mapArgs, 0) >>> 12);
    }

    private int bind(int remotePort) {
        Evtchn.BindInterdomain.set(evArgs, 0, front, remotePort);
        long r = host.hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, evArgs, 1);
        return r == 0 ? Evtchn.BindInterdomain.localPort(evArgs, 0) : -1;
    }

    void notify(int port) {
        Evtchn.PortOp.set(evArgs, 0, port);
        host.hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, evArgs, 1);
    }

    /** xenvif_fatal_tx_err: the frontend broke the protocol; the vif stops. */
    void fatal() {
        disabled = true;
    }

    /**
     * TX packets forwarded, TX dropped (too many slots, bad size), TX copy/map failures, RX
     * packets delivered, RX dropped (not connected or queue full), and 1 when the vif was disabled.
     */
    public long[] counters() {
        return new long[] {txPath.packets, txPath.dropped, txPath.failed, rxPath.packets, rxPath.dropped,
            disabled ? 1 : 0};
    }
}
