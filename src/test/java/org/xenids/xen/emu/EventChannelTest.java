package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/** Event-channel hypercalls: ports, pending and mask bits, and Xen's return codes. */
class EventChannelTest {
    XenHost host;
    Domain dom0, guest;
    MemorySegment a0, a1;
    final List<String> upcalls = new ArrayList<>();

    @BeforeEach
    void setUp() {
        host = new XenHost(1024);
        dom0 = host.createDomain(0, "Domain-0", 64);
        guest = host.createDomain(1, "guest", 64);
        a0 = dom0.page(dom0.allocFrame());
        a1 = guest.page(guest.allocFrame());
        dom0.onEvent(p -> upcalls.add("d0:" + p));
        guest.onEvent(p -> upcalls.add("d1:" + p));
    }

    long evtchn(int caller, int cmd) {
        return host.hypercall(caller, __HYPERVISOR_event_channel_op, cmd, caller == 0 ? a0 : a1, 1);
    }

    int allocUnbound(int remote) {
        Evtchn.AllocUnbound.set(a1, 0, DOMID_SELF, remote);
        assertEquals(0, evtchn(1, EVTCHNOP_alloc_unbound));
        return Evtchn.AllocUnbound.port(a1, 0);
    }

    long bind(int remoteDom, int remotePort) {
        Evtchn.BindInterdomain.set(a0, 0, remoteDom, remotePort);
        return evtchn(0, EVTCHNOP_bind_interdomain);
    }

    long port(int caller, int cmd, int port) {
        Evtchn.PortOp.set(caller == 0 ? a0 : a1, 0, port);
        return evtchn(caller, cmd);
    }

    @Test
    void bindingConnectsBothEndsAndSendsNotifyTheOtherEnd() {
        int gport = allocUnbound(0);
        assertEquals(1, gport, "port 0 is reserved");
        assertEquals(0, bind(1, gport));
        int dport = Evtchn.BindInterdomain.localPort(a0, 0);
        host.runPending();
        assertEquals(List.of("d0:" + dport), upcalls, "Xen sets the new local port pending");
        upcalls.clear();
        assertEquals(0, port(1, EVTCHNOP_send, gport));
        assertEquals(0, port(0, EVTCHNOP_send, dport));
        host.runPending();
        assertEquals(List.of("d0:" + dport, "d1:" + gport), upcalls);
    }

    @Test
    void repeatedSendsWhilePendingRaiseOneUpcall() {
        int gport = allocUnbound(0);
        bind(1, gport);
        host.runPending();
        upcalls.clear();
        port(0, EVTCHNOP_send, Evtchn.BindInterdomain.localPort(a0, 0));
        port(0, EVTCHNOP_send, Evtchn.BindInterdomain.localPort(a0, 0));
        host.runPending();
        assertEquals(List.of("d1:" + gport), upcalls);
    }

    @Test
    void sendOnUnboundPortIsSilentlyDroppedAndOnFreePortEinval() {
        int gport = allocUnbound(0);
        assertEquals(0, port(1, EVTCHNOP_send, gport));
        assertEquals(-XEN_EINVAL, port(1, EVTCHNOP_send, gport + 1));
        assertEquals(-XEN_EINVAL, port(1, EVTCHNOP_send, 0));
        assertEquals(-XEN_EINVAL, port(1, EVTCHNOP_send, 1 << 20));
        host.runPending();
        assertTrue(upcalls.isEmpty());
    }

    @Test
    void bindingToAPortOfferedToAnotherDomainIsEinval() {
        host.createDomain(2, "other", 16);
        int gport = allocUnbound(2);
        assertEquals(-XEN_EINVAL, bind(1, gport));
        assertEquals(-XEN_EINVAL, bind(1, gport + 5));
        assertEquals(-XEN_ESRCH, bind(7, gport));
    }

    @Test
    void domUMayNotAllocateForAnotherDomain() {
        Evtchn.AllocUnbound.set(a1, 0, 0, 1);
        assertEquals(-XEN_EPERM, evtchn(1, EVTCHNOP_alloc_unbound));
        Evtchn.AllocUnbound.set(a1, 0, 9, 1);
        assertEquals(-XEN_ESRCH, evtchn(1, EVTCHNOP_alloc_unbound));
    }

    @Test
    void closeReturnsTheRemoteEndToUnbound() {
        int gport = allocUnbound(0);
        bind(1, gport);
        int dport = Evtchn.BindInterdomain.localPort(a0, 0);
        host.runPending();
        upcalls.clear();
        assertEquals(0, port(0, EVTCHNOP_close, dport));
        assertEquals(-XEN_EINVAL, port(0, EVTCHNOP_close, dport));
        assertEquals(0, port(1, EVTCHNOP_send, gport), "now unbound: dropped silently");
        assertEquals(-XEN_EINVAL, port(0, EVTCHNOP_send, dport));
        host.runPending();
        assertTrue(upcalls.isEmpty());
        assertEquals(0, bind(1, gport), "the frontend's port can be bound again");
    }

    @Test
    void maskedPortStaysPendingUntilUnmask() {
        int gport = allocUnbound(0);
        bind(1, gport);
        int dport = Evtchn.BindInterdomain.localPort(a0, 0);
        host.runPending();
        upcalls.clear();
        guest.mask(gport);
        port(0, EVTCHNOP_send, dport);
        host.runPending();
        assertTrue(upcalls.isEmpty());
        assertTrue(guest.pending(gport));
        assertEquals(0, port(1, EVTCHNOP_unmask, gport));
        host.runPending();
        assertEquals(List.of("d1:" + gport), upcalls);
        assertFalse(guest.pending(gport));
    }

    @Test
    void refusedSendReturnsEpermAndNotifiesNobody() {
        int gport = allocUnbound(0);
        bind(1, gport);
        int dport = Evtchn.BindInterdomain.localPort(a0, 0);
        host.runPending();
        upcalls.clear();
        List<Long> results = new ArrayList<>();
        host.addListener(new HypercallListener() {
            @Override
            public boolean allow(Hypercall c, int i) {
                return c.cmd() != EVTCHNOP_send;
            }

            @Override
            public void completed(Hypercall c) {
                results.add(c.result());
            }
        });
        assertEquals(-XEN_EPERM, port(0, EVTCHNOP_send, dport));
        host.runPending();
        assertTrue(upcalls.isEmpty());
        assertEquals(List.of((long) -XEN_EPERM), results);
    }

    @Test
    void listenerSeesPortsAllocatedAndBound() {
        List<String> seen = new ArrayList<>();
        host.addListener(c -> {
            if (c.cmd() == EVTCHNOP_alloc_unbound) {
                seen.add("alloc d" + c.callerDomid() + " remote " + Evtchn.AllocUnbound.remoteDom(c.args(), 0)
                        + " port " + Evtchn.AllocUnbound.port(c.args(), 0));
            } else if (c.cmd() == EVTCHNOP_bind_interdomain) {
                seen.add("bind d" + c.callerDomid() + " to d" + Evtchn.BindInterdomain.remoteDom(c.args(), 0)
                        + ":" + Evtchn.BindInterdomain.remotePort(c.args(), 0)
                        + " local " + Evtchn.BindInterdomain.localPort(c.args(), 0));
            }
        });
        int gport = allocUnbound(0);
        bind(1, gport);
        assertEquals(List.of("alloc d1 remote 0 port 1", "bind d0 to d1:1 local 1"), seen);
    }
}
