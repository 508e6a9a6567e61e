package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Le;

/**
 * EVTCHNOP_alloc_unbound, bind_interdomain, send, close and unmask with Xen 4.17's checks and
 * return codes (common/event_channel.c), 2-level pending and mask bits.
 */
final class EventOps {
    private final XenHost host;

    EventOps(XenHost host) {
        this.host = host;
    }

    long apply(Call call, Domain ld, MemorySegment a) {
        if (!host.allowed(call, 0)) {
            return -XEN_EPERM;
        }
        return switch (call.cmd) {
            case EVTCHNOP_alloc_unbound -> allocUnbound(ld, a);
            case EVTCHNOP_bind_interdomain -> bindInterdomain(ld, a);
            case EVTCHNOP_send -> send(ld, Evtchn.PortOp.port(a, 0));
            case EVTCHNOP_close -> close(ld, Evtchn.PortOp.port(a, 0));
            case EVTCHNOP_unmask -> unmask(ld, Evtchn.PortOp.port(a, 0));
            default -> throw new IllegalStateException("unhandled event-channel op " + call.cmd);
        };
    }

    private long allocUnbound(Domain ld, MemorySegment a) {
        Domain d = host.byAnyId(Evtchn.AllocUnbound.dom(a, 0), ld);
        if (d == null) {
            return -XEN_ESRCH;
        }
        if (d != ld && !ld.privileged) {
            return -XEN_EPERM;
        }
        int port = d.freePort();
        if (port < 0) {
            return -XEN_ENOSPC;
        }
        int remote = Evtchn.AllocUnbound.remoteDom(a, 0);
        d.evState[port] = Domain.ECS_UNBOUND;
        d.evRemoteDom[port] = (short) (remote == DOMID_SELF ? ld.domid : remote);
        Le.u32(a, Evtchn.AllocUnbound.PORT, port);
        return 0;
    }

    private long bindInterdomain(Domain ld, MemorySegment a) {
        int rdom = Evtchn.BindInterdomain.remoteDom(a, 0);
        Domain rd = host.byId(rdom == DOMID_SELF ? ld.domid : rdom);
        if (rd == null) {
            return -XEN_ESRCH;
        }
        int lport = ld.freePort();
        if (lport < 0) {
            return -XEN_ENOSPC;
        }
        int rport = Evtchn.BindInterdomain.remotePort(a, 0);
        if (Integer.compareUnsigned(rport, Domain.MAX_PORTS) >= 0
                || rd.evState[rport] != Domain.ECS_UNBOUND
                || (rd.evRemoteDom[rport] & 0xffff) != ld.domid) {
            return -XEN_EINVAL;
        }
        ld.evState[lport] = Domain.ECS_INTERDOMAIN;
        ld.evRemoteDom[lport] = (short) rd.domid;
        ld.evRemotePort[lport] = rport;
        rd.evState[rport] = Domain.ECS_INTERDOMAIN;
        rd.evRemoteDom[rport] = (short) ld.domid;
        rd.evRemotePort[rport] = lport;
        Le.u32(a, Evtchn.BindInterdomain.LOCAL_PORT, lport);
        // Xen sets the new local port pending: notifications sent to the unbound port were lost.
        host.setPending(ld, lport);
        return 0;
    }

    private long send(Domain ld, int port) {
        if (Integer.compareUnsigned(port, Domain.MAX_PORTS) >= 0) {
            return -XEN_EINVAL;
        }
        switch (ld.evState[port]) {
            case Domain.ECS_INTERDOMAIN -> {
                Domain rd = host.byId(ld.evRemoteDom[port] & 0xffff);
                if (rd != null) {
                    host.setPending(rd, ld.evRemotePort[port]);
                }
                return 0;
            }
            case Domain.ECS_UNBOUND -> {
                return 0; // Xen silently drops the notification
            }
            default -> {
                return -XEN_EINVAL;
            }
        }
    }

    private long close(Domain ld, int port) {
        if (Integer.compareUnsigned(port, Domain.MAX_PORTS) >= 0) {
            return -XEN_EINVAL;
        }
        switch (ld.evState[port]) {
            case Domain.ECS_UNBOUND -> { }
            case Domain.ECS_INTERDOMAIN -> {
                Domain rd = host.byId(ld.evRemoteDom[port] & 0xffff);
                if (rd != null) {
                    int rport = ld.evRemotePort[port];
                    rd.evState[rport] = Domain.ECS_UNBOUND;
                    rd.evRemoteDom[rport] = (short) ld.domid;
                }
            }
            default -> {
                return -XEN_EINVAL;
            }
        }
        ld.evState[port] = Domain.ECS_FREE;
        ld.evPending[port] = false;
        return 0;
    }

    private long unmask(Domain ld, int port) {
        if (Integer.compareUnsigned(port, Domain.MAX_PORTS) >= 0) {
            return -XEN_EINVAL;
        }
        ld.evMasked[port] = false;
        if (ld.evPending[port]) {
            host.queueUpcall(ld, port);
        }
        return 0;
    }
}
