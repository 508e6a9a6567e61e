package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Gnttab;

/**
 * What xl and the guest kernels do around the drivers: a guest's boot-time grant-table set-up
 * (GNTTABOP_setup_table, so the table frames appear in the hypercall stream), and creating a vif
 * (the xenstore keys libxl writes for both ends, the hotplug script's status) with its netfront in
 * the guest and netback in dom0.
 */
public final class Toolstack {
    private Toolstack() {}

    /** A connected-or-connecting vif: the two drivers. */
    public record Vif(Netfront front, Netback back) {}

    /** The guest kernel's gnttab_init: asks Xen for {@code frames} grant-table frames. */
    public static void bootGrantTable(XenHost host, Domain d, int frames) {
        long page = d.allocFrame();
        MemorySegment args = d.page(page);
        Gnttab.SetupTable.set(args, 0, DOMID_SELF, frames, (page << 12) + 64);
        long r = host.hypercall(d.domid, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, args, 1);
        int st = Gnttab.SetupTable.status(args, 0);
        if (r != 0 || st != GNTST_okay) {
            throw new IllegalStateException("d" + d.domid + ": setup_table of " + frames + " frames failed: "
                    + r + "/" + st);
        }
    }

    /**
     * Creates vif {@code devid} of domain {@code front} with backend in dom0 on {@code bridge}:
     * writes the toolstack's keys of both ends (state Initialising), then probes netback (which
     * goes to InitWait) and netfront. The handshake completes as {@link XenHost#runPending()}
     * delivers the watches. {@code queues} &gt; 1 asks for multi-queue; {@code split} for separate
     * TX and RX event channels (what Linux does when the backend offers it).
     */
    public static Vif addVif(XenHost host, int front, int devid, String mac, Bridge bridge, int queues,
                             FrameSink guestStack) {
        XenStore xs = host.xenstore();
        String fe = "/local/domain/" + front + "/device/vif/" + devid;
        String be = "/local/domain/0/backend/vif/" + front + "/" + devid;
        xs.write(fe + "/backend", be);
        xs.write(fe + "/backend-id", "0");
        xs.write(fe + "/state", String.valueOf(XenbusStateInitialising));
        xs.write(fe + "/handle", String.valueOf(devid));
        xs.write(fe + "/mac", mac);
        xs.write(fe + "/trusted", "1");
        xs.write(fe + "/mtu", "1500");
        xs.write(be + "/frontend", fe);
        xs.write(be + "/frontend-id", String.valueOf(front));
        xs.write(be + "/online", "1");
        xs.write(be + "/state", String.valueOf(XenbusStateInitialising));
        xs.write(be + "/script", "/etc/xen/scripts/vif-simple");
        xs.write(be + "/mac", mac);
        xs.write(be + "/bridge", "xenbr0");
        xs.write(be + "/handle", String.valueOf(devid));
        xs.write(be + "/type", "vif");
        xs.write(be + "/hotplug-status", "connected");
        Netback back = new Netback(host, host.domain(0), front, devid, bridge);
        Netfront nf = new Netfront(host, host.domain(front), devid, queues, guestStack);
        return new Vif(nf, back);
    }

    /**
     * Takes a connected vif down as a guest does when its interface goes (xenbus Closing →
     * Closed on both ends): netback closes its event channels and unmaps the ring pages, netfront
     * closes its channels and ends access to its rings and buffers. Runs the handshake to the end.
     */
    public static void detachVif(XenHost host, Vif vif) {
        vif.front().close();
        host.runPending();
        if (vif.front().state() != XenbusStateClosed || vif.back().state() != XenbusStateClosed) {
            throw new IllegalStateException("vif did not close: frontend state " + vif.front().state()
                    + ", backend state " + vif.back().state());
        }
    }

    /** Brings a detached vif up again: the frontend reconnects and both ends are Connected. */
    public static void reattachVif(XenHost host, Vif vif) {
        vif.front().reconnect();
        host.runPending();
        if (!vif.front().connected() || !vif.back().connected()) {
            throw new IllegalStateException("vif did not reconnect: frontend state " + vif.front().state()
                    + ", backend state " + vif.back().state());
        }
    }
}
