package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;

/** A host whose dom0 has no event channel left cannot connect a vif, and says why. */
class Dom0PortsTest {

    @Test
    void aVifThatCannotConnectForWantOfDom0EventChannelsSaysSo() {
        Topology t = new Topology("fe:ff:ff:ff:ff:ff", List.of(
                new Topology.Guest(1, "web", "web", List.of(new Topology.Vif("00:16:3e:00:00:01", List.of("10.0.0.1"), 1)))));
        TrafficDriver d = new TrafficDriver(t);
        // Take every port of dom0 as a real dom0 would, by alloc_unbound, until Xen answers ENOSPC
        // (about 2,000 vif queues do the same to a real host's dom0).
        Domain dom0 = d.host().domain(0);
        MemorySegment a = dom0.page(dom0.allocFrame());
        int taken = 0;
        for (long rc = 0; rc == 0 && taken <= Domain.MAX_PORTS; taken++) {
            Evtchn.AllocUnbound.set(a, 0, DOMID_SELF, 0);
            rc = d.host().hypercall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, a, 1);
            assertTrue(rc == 0 || rc == -XEN_ENOSPC, "alloc_unbound: " + rc);
        }
        assertEquals(Domain.MAX_PORTS, taken, "ports 1..4095 taken, then ENOSPC");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.start(0));
        assertEquals("vif 0 of web did not connect: dom0 has no free event channel (Xen's 2-level ABI gives a domain"
                + " 4095 ports; each vif queue takes two)", e.getMessage());
    }

    @Test
    void aTopologyWithMoreVifQueuesThanDom0HasEventChannelsIsRefusedBeforeAnyGuestBoots() {
        List<Topology.Guest> guests = new java.util.ArrayList<>();
        for (int i = 1; i <= 256; i++) {
            String mac = String.format("00:16:3e:00:%02x:%02x", i >> 8, i & 0xff);
            guests.add(new Topology.Guest(i, "g" + i, "img", List.of(new Topology.Vif(mac, List.of("10.0." + (i >> 8) + "." + (i & 0xff)), 8))));
        }
        TrafficDriver d = new TrafficDriver(new Topology("fe:ff:ff:ff:ff:ff", guests));
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.start(0));
        assertEquals("the topology's 256 guests have 2048 vif queues, which need two of dom0's event channels each;"
                + " Xen's 2-level ABI gives a domain 4095 (at most 2047 vif queues on one host)", e.getMessage());
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "before any guest boots");
        assertEquals(null, d.host().domain(1), "no guest was created");
    }
}
