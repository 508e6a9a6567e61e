package org.xenids.tap;

import static org.xenids.tap.Tap.C_SENDS;
import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Evtchn;

/**
 * The event-channel ops the tap follows: the allocations and binds ring discovery pairs with the
 * ring pages, a send that makes a ring be read (the guest's kick: what it just posted is read
 * before the backend can act on it; the backend's notify: the responses it wrote with it), and
 * the backend closing its end, which retires the ring pair.
 */
final class EventChannels {
    private final Tap tap;
    private final Reports reports;
    private final LiveRings live;
    private final Discovery discovery;

    EventChannels(Tap tap, Reports reports, LiveRings live, Discovery discovery) {
        this.tap = tap;
        this.reports = reports;
        this.live = live;
        this.discovery = discovery;
    }

    /** A completed, successful event-channel op {@code cmd} of {@code caller}, its argument at {@code b[at]}. */
    void op(int cmd, byte[] b, int at, int caller, long seq, long now) {
        switch (cmd) {
            case EVTCHNOP_send -> send(caller, Mem.u32(b, at + Evtchn.PortOp.PORT), seq, now);
            case EVTCHNOP_close -> {
                VifQueue q = live.byPort(caller, Mem.u32(b, at + Evtchn.PortOp.PORT));
                if (q != null && q.backend == caller) {
                    tap.retire(q, now);
                }
            }
            case EVTCHNOP_alloc_unbound -> discovery.allocUnbound(caller,
                    Tap.self(Mem.u16(b, at + Evtchn.AllocUnbound.DOM), caller),
                    Tap.self(Mem.u16(b, at + Evtchn.AllocUnbound.REMOTE_DOM), caller),
                    Mem.u32(b, at + Evtchn.AllocUnbound.PORT));
            case EVTCHNOP_bind_interdomain -> discovery.bound(caller,
                    Tap.self(Mem.u16(b, at + Evtchn.BindInterdomain.REMOTE_DOM), caller),
                    Mem.u32(b, at + Evtchn.BindInterdomain.REMOTE_PORT),
                    Mem.u32(b, at + Evtchn.BindInterdomain.LOCAL_PORT), seq, now);
            default -> { }
        }
    }

    /** A successful send by {@code caller} on its {@code port}. */
    void send(int caller, int port, long seq, long now) {
        VifQueue q = live.byPort(caller, port);
        if (q == null) {
            reports.count(caller, C_SENDS);
            return;
        }
        reports.counters(q)[C_SENDS]++;
        if (caller == q.backend) {
            if (port == q.backRxPort || !q.split) {
                q.rx.responses(seq, now, false);
            }
            if (port == q.backTxPort || !q.split) {
                q.tx.refresh(seq, now);
            }
        } else if (caller == q.front) {
            // The guest's kick: what it just posted is read before the backend can act on it.
            if (port == q.frontTxPort || !q.split) {
                q.tx.refresh(seq, now);
            }
            if (port == q.frontRxPort || !q.split) {
                q.rx.refresh(seq, now);
            }
        }
    }
}
