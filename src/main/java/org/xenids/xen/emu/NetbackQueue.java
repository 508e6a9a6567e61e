package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Netif.Sring;

/**
 * One queue of a vif's backend (Linux's {@code struct xenvif_queue}): its two mapped ring pages,
 * its event channels, its own hypercall argument pages, and its TX and RX paths. A queue object
 * lives as long as its vif; each connection maps fresh rings into it (indices start again at 0,
 * counters go on).
 */
final class NetbackQueue {
    /** Start of the kernel virtual addresses used as host_addr for ring mappings (vmalloc area). */
    private static final long RING_VADDR = 0xffffc90000400000L;

    final Netback vif;
    final int index;
    final XenHost host;
    final Domain dom0;
    final int front;
    final Bridge bridge;
    final Bridge.Port port;
    final MemorySegment evArgs, mapArgs, copyArgs, unmapArgs;
    MemorySegment tx, rx;
    int txPort, rxPort;
    private int txHandle = -1, rxHandle = -1;
    private long txAddr, rxAddr;
    boolean disabled;
    final NetbackTx txPath;
    final NetbackRx rxPath;

    NetbackQueue(Netback vif, int index) {
        this.vif = vif;
        this.index = index;
        this.host = vif.host;
        this.dom0 = vif.dom0;
        this.front = vif.front;
        this.bridge = vif.bridge;
        this.port = vif.port;
        this.evArgs = dom0.page(dom0.allocFrame());
        this.mapArgs = dom0.page(dom0.allocFrame());
        this.copyArgs = dom0.page(dom0.allocFrame());
        this.unmapArgs = dom0.page(dom0.allocFrame());
        this.txPath = new NetbackTx(this);
        this.rxPath = new NetbackRx(this);
    }

    boolean connected() {
        return vif.connected();
    }

    /** xenvif_fatal_tx_err: the whole vif stops. */
    void fatal() {
        vif.fatal();
    }

    /**
     * xenvif_connect_data: maps the TX then the RX ring page, binds the event channel(s) and hooks
     * the handlers; false when a map or bind failed.
     */
    boolean connect(int txRef, int rxRef, int remoteTx, int remoteRx) {
        txAddr = RING_VADDR + 4096L * (2 * vif.ringMapSeq++);
        tx = mapRing(txRef, txAddr);
        txHandle = lastHandle;
        rxAddr = txAddr + 4096;
        rx = mapRing(rxRef, rxAddr);
        rxHandle = lastHandle;
        int tp = bind(remoteTx);
        int rp = remoteRx != remoteTx ? bind(remoteRx) : tp;
        if (tx == null || rx == null || tp < 0 || rp < 0) {
            return false;
        }
        txPort = tp;
        rxPort = rp;
        // A fresh connection: the shared rings start at index 0 on both sides.
        txPath.reqCons = txPath.rspProdPvt = 0;
        rxPath.reqCons = rxPath.rspProdPvt = 0;
        disabled = false;
        if (tp != rp) {
            dom0.onEvent(tp, p -> txPath.action());
            dom0.onEvent(rp, p -> rxPath.action());
        } else {
            dom0.onEvent(tp, p -> { txPath.action(); rxPath.action(); });
        }
        return true;
    }

    /**
     * xenvif_disconnect_data for this queue: the event channels are unbound (EVTCHNOP_close),
     * then both ring pages unmapped (GNTTABOP_unmap_grant_ref with the handles of the maps).
     */
    void disconnect() {
        if (txPort > 0) {
            close(txPort);
            if (rxPort != txPort) {
                close(rxPort);
            }
        }
        txPort = rxPort = 0;
        tx = null;
        rx = null;
        int n = 0;
        if (txHandle >= 0) {
            Gnttab.Unmap.set(unmapArgs, 0, txAddr, 0, txHandle);
            n++;
        }
        if (rxHandle >= 0) {
            Gnttab.Unmap.set(unmapArgs, (long) n * Gnttab.Unmap.SIZE, rxAddr, 0, rxHandle);
            n++;
        }
        if (n > 0) {
            host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, unmapArgs, n);
            for (int i = 0; i < n; i++) {
                if (Gnttab.Unmap.status(unmapArgs, (long) i * Gnttab.Unmap.SIZE) != GNTST_okay) {
                    vif.unmapFailures++;
                }
            }
        }
        txHandle = rxHandle = -1;
    }

    private int lastHandle;

    /** xenbus_map_ring_valloc: one writable host mapping per ring page; null on failure. */
    private MemorySegment mapRing(int ref, long addr) {
        Gnttab.Map.set(mapArgs, 0, addr, GNTMAP_host_map, ref, front);
        host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, mapArgs, 1);
        if (Gnttab.Map.status(mapArgs, 0) != GNTST_okay) {
            lastHandle = -1;
            return null;
        }
        lastHandle = Gnttab.Map.handle(mapArgs, 0);
        return host.frames.page(Gnttab.Map.devBusAddr(mapArgs, 0) >>> 12);
    }

    private int bind(int remotePort) {
        Evtchn.BindInterdomain.set(evArgs, 0, front, remotePort);
        long r = host.hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, evArgs, 1);
        return r == 0 ? Evtchn.BindInterdomain.localPort(evArgs, 0) : -1;
    }

    private void close(int port) {
        dom0.onEvent(port, null);
        Evtchn.PortOp.set(evArgs, 0, port);
        host.hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_close, evArgs, 1);
    }

    void notify(int port) {
        Evtchn.PortOp.set(evArgs, 0, port);
        host.hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, evArgs, 1);
    }

    static final int RING = Sring.TX_SIZE;
}
