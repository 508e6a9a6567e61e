package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * What the tap is given is enough: from the hypercall stream and DomainMemory alone (no emulator
 * object) the backend's ring maps are found, a TX request is read from the ring page, its grant
 * entry from the guest's grant-table frames, and the frame's bytes from the granted frame.
 */
class TapContractTest {

    @Test
    void streamAndMemoryAloneLeadFromTheRingMapToTheFramesBytes() {
        XenHost host = new XenHost(1 << 14);
        host.createDomain(0, "Domain-0", 4096);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 4096), 4);
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> { });
        DomainMemory mem = host.memory();
        List<long[]> ringMaps = new ArrayList<>(); // (granting domain, frame)
        List<String> binds = new ArrayList<>();
        host.addListener(new HypercallListener() {
            @Override
            public void completed(Hypercall c) {
                if (c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op
                        && c.cmd() == GNTTABOP_map_grant_ref && (Gnttab.Map.flags(c.args(), 0) & GNTMAP_readonly) == 0
                        && Gnttab.Map.status(c.args(), 0) == GNTST_okay) {
                    ringMaps.add(new long[] {Gnttab.Map.dom(c.args(), 0), Gnttab.Map.devBusAddr(c.args(), 0) >>> 12});
                }
                if (c.op() == __HYPERVISOR_event_channel_op && c.cmd() == EVTCHNOP_bind_interdomain && c.result() == 0) {
                    binds.add("d" + c.callerDomid() + ":" + Evtchn.BindInterdomain.localPort(c.args(), 0) + " <-> d"
                            + Evtchn.BindInterdomain.remoteDom(c.args(), 0) + ":"
                            + Evtchn.BindInterdomain.remotePort(c.args(), 0));
                }
            }
        });
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1, (b, n) -> { });
        host.runPending();
        assertEquals(2, ringMaps.size(), "TX and RX ring pages mapped writable by dom0");
        assertEquals(2, binds.size());

        // Hold the TX request on the ring: read it before netback consumes it.
        byte[] frame = new byte[60];
        for (int i = 0; i < frame.length; i++) {
            frame[i] = (byte) (0x40 + i);
        }
        frame[0] = 0x02;
        vif.front().transmit(frame, 0, frame.length, 0, 0);
        long guest = ringMaps.get(0)[0];
        long txFrame = ringMaps.get(0)[1];
        MemorySegment ring = MemorySegment.ofArray(new byte[4096]);
        assertTrue(mem.read((int) guest, txFrame, 0, ring));
        assertEquals(1, Netif.Sring.reqProd(ring, 0));
        long req = Netif.Sring.entry(0, Netif.Sring.TX_SIZE, Netif.TxRequest.SIZE);
        int gref = Netif.TxRequest.gref(ring, req);
        int offset = Netif.TxRequest.offset(ring, req);
        assertEquals(60, Netif.TxRequest.size(ring, req));

        long[] gt = new long[8];
        int n = mem.grantTableFrames((int) guest, gt);
        assertTrue(n * Gnttab.EntryV1.PER_FRAME > gref);
        MemorySegment entry = MemorySegment.ofArray(new byte[8]);
        assertTrue(mem.read((int) guest, gt[gref / Gnttab.EntryV1.PER_FRAME],
                (gref % Gnttab.EntryV1.PER_FRAME) * Gnttab.EntryV1.SIZE, entry));
        assertEquals(GTF_permit_access | GTF_readonly, Gnttab.EntryV1.flags(entry, 0));
        assertEquals(0, Gnttab.EntryV1.domid(entry, 0));
        byte[] got = new byte[60];
        assertTrue(mem.read((int) guest, Integer.toUnsignedLong(Gnttab.EntryV1.frame(entry, 0)), offset,
                MemorySegment.ofArray(got)));
        assertArrayEquals(frame, got);
        host.runPending();
    }
}
