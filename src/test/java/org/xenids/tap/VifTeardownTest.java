package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.emu.Domain;
import org.xenids.xen.emu.Toolstack;
import org.xenids.xen.emu.TrafficDriver;

/**
 * A vif torn down and brought back, followed by the tap from the hypercall stream alone: the
 * backend's unmap of the ring pages and close of its channels retire the ring pair, later ops
 * on its refs are unclassified, a reconnect is a new ring pair, and nothing sent while the vif
 * was down is lost silently.
 */
class VifTeardownTest {
    static final byte[] GW = TapFramesTest.GW;
    static final byte[] M1 = Bench.mac(TapFramesTest.MAC1), M2 = Bench.mac(TapFramesTest.MAC2);

    /** The gref the guest posted in RX ring slot 0, read the way the tap could (ring page via the grant table). */
    static int postedRxRef(Bench b, int domid) {
        int ringRef = Integer.parseInt(b.host.xenstore().read("/local/domain/" + domid + "/device/vif/0/rx-ring-ref"));
        long[] gt = new long[64];
        b.host.memory().grantTableFrames(domid, gt);
        MemorySegment e = MemorySegment.ofArray(new byte[8]);
        b.host.memory().read(domid, gt[ringRef / 512], (ringRef % 512) * 8, e);
        long ring = Integer.toUnsignedLong(Le.u32(e, 4));
        MemorySegment req = MemorySegment.ofArray(new byte[8]);
        b.host.memory().read(domid, ring, Netif.Sring.RING, req);
        return Le.u32(req, Netif.RxRequest.GREF);
    }

    @Test
    void retiredRingsRefsAreUnclassifiedAndAReconnectIsANewRingPairUnderTheSameVifNumber() {
        Bench b = new Bench();
        Toolstack.Vif v1 = b.guestOrdered(1, TapFramesTest.MAC1, 1);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        assertEquals(2, b.tap.liveRings());
        int oldRxRef = postedRxRef(b, 1);
        b.send(1, Bench.frame(GW, M1, 700, 1), 0, 0);
        b.fromOutside(Bench.frame(M1, GW, 900, 2), 0);

        Toolstack.detachVif(b.host, v1);
        assertEquals(1, b.tap.liveRings(), "dom1's ring pair retired");
        assertEquals(1, b.tap.retiredRings());
        assertEquals(List.of("dom2/vif0/tx"), b.tap.rings().stream().map(Tap.Ring::txName).toList());
        long framesBefore = b.tapped.size();
        Tap.Counters before = counters(b, 1);

        // dom0 copies into the buffer dom1 had posted: the ring is gone, so the op is unclassified.
        Domain d0 = b.host.domain(0);
        long src = d0.allocFrame();
        MemorySegment args = d0.page(d0.allocFrame());
        Gnttab.Copy.set(args, 0, src, DOMID_SELF, 0, oldRxRef, 1, 0, 100, GNTCOPY_dest_gref);
        b.host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, args, 1);
        assertTrue(Gnttab.Copy.status(args, 0) != GNTST_okay, "dom1 ended access to its buffers");
        assertEquals(1, b.tap.unclassified());
        assertEquals(before.unclassified() + 1, counters(b, 1).unclassified());
        assertEquals(before.frames(), counters(b, 1).frames(), "counters of the retired ring are kept");
        assertEquals(framesBefore, b.tapped.size(), "no frame made up");
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);

        // Frames to dom1 while it is down are netback's drops; dom1 cannot send.
        b.fromOutside(Bench.frame(M1, GW, 300, 3), 0);
        assertEquals(1, v1.back().counters()[4], "RX dropped while not connected");
        assertTrue(!b.send(1, Bench.frame(GW, M1, 300, 4), 0, 0));
        assertEquals(1, v1.front().counters()[1], "TX refused while not connected");

        Toolstack.reattachVif(b.host, v1);
        assertEquals(2, b.tap.liveRings());
        assertTrue(b.tap.rings().stream().anyMatch(r -> r.txName().equals("dom1/vif0/tx") && r.front() == 1),
                () -> "rings: " + b.tap.rings());
        int from = b.delivered.size(), fromTap = b.tapped.size();
        for (int n : new int[] {60, 129, 1514, 4097, 9000}) {
            assertTrue(b.send(1, Bench.frame(GW, M1, n, n), 0, 0));
            b.fromOutside(Bench.frame(M1, GW, n, n + 1), 0);
        }
        TapFramesTest.assertSame(b.delivered.subList(from, b.delivered.size()), b.tapped.subList(fromTap, b.tapped.size()));
        assertEquals(1, b.tap.unclassified(), "nothing after the reconnect is unclassified");
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    @Test
    void aRecordedTraceFollowsTheTeardownAndReconnectAsTheLiveTapDid() throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Bench b = new Bench(out);
        b.host.domain(0).vcpus(2);
        Toolstack.Vif v1 = b.guestOrdered(1, TapFramesTest.MAC1, 2);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        for (int round = 0; round < 3; round++) {
            for (int n : new int[] {60, 1514, 9000}) {
                b.send(1, Bench.frame(GW, M1, n, n + round), 0, 0);
                b.fromOutside(Bench.frame(M1, GW, n, n + round + 1), 0);
                b.send(2, Bench.frame(M1, M2, n, n + round + 2), 0, 0);
            }
            Toolstack.detachVif(b.host, v1);
            b.send(2, Bench.frame(M1, M2, 100, round), 0, 0); // dropped by dom1's netback
            Toolstack.reattachVif(b.host, v1);
        }
        b.recorder.close();
        TapFramesTest.assertSame(b.delivered, b.tapped);
        List<Bench.Seen> replayed = new ArrayList<>();
        Tap[] tap = new Tap[1];
        Trace.replay(new java.io.ByteArrayInputStream(out.toByteArray()), "t.trace",
                mem -> tap[0] = new Tap(mem, Bench.collector(replayed), a -> { }));
        assertEquals(b.tapped.size(), replayed.size());
        for (int i = 0; i < replayed.size(); i++) {
            assertTrue(java.util.Arrays.equals(b.tapped.get(i).bytes(), replayed.get(i).bytes()), "frame " + i);
        }
        assertEquals(b.tap.liveRings(), tap[0].liveRings());
        assertEquals(3, b.tap.liveRings());
        assertEquals(6, tap[0].retiredRings(), "three teardowns of a two-queue vif");
        assertEquals(b.tap.unclassified(), tap[0].unclassified());
    }

    /**
     * Another guest's copies naming dom1's posted RX buffer: Xen refuses them (dom1 granted the
     * buffer to its backend), and the tap must not take them for the backend's, which would
     * let one guest spoil what the tap rebuilds of another's traffic.
     */
    @Test
    void copiesByAnotherGuestIntoAGuestsRingBuffersAreNotTakenForItsBackends() {
        Bench b = twoGuests();
        Tap.Counters before1 = counters(b, 1), before2 = counters(b, 2);
        MemorySegment args = dom2CopiesIntoDom1sBuffer(b, 4);
        for (int i = 0; i < 4; i++) {
            assertEquals(GNTST_general_error, Gnttab.Copy.status(args, (long) i * Gnttab.Copy.SIZE), "Xen: not granted to dom2");
        }

        assertEquals(before1.copies(), counters(b, 1).copies(), "not dom1's backend's copies");
        assertEquals(before1.anomalies(), counters(b, 1).anomalies(), "nothing dom1 did");
        assertEquals(before2.unclassified() + 4, counters(b, 2).unclassified(), "counted against the caller");
        int from = b.delivered.size(), fromTap = b.tapped.size();
        for (int n : new int[] {60, 1514, 9000}) {
            b.fromOutside(Bench.frame(M1, GW, n, n), 0);
            assertTrue(b.send(1, Bench.frame(GW, M1, n, n + 1), 0, 0));
        }
        TapFramesTest.assertSame(b.delivered.subList(from, b.delivered.size()), b.tapped.subList(fromTap, b.tapped.size()));
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    /** The same copies with a verdict in place: not the backend's, they are not put to it. */
    @Test
    void copiesByAnotherGuestIntoAGuestsRingBuffersAreNotPutToTheVerdict() {
        Bench b = twoGuests();
        java.util.List<String> asked = new java.util.ArrayList<>();
        b.tap.verdict((domid, vif, queue, dir, slot) -> asked.add(domid + "/" + dir) && false);
        MemorySegment args = dom2CopiesIntoDom1sBuffer(b, 1);
        assertEquals(GNTST_general_error, Gnttab.Copy.status(args, 0), "Xen: not granted to dom2, and not refused by the tap");
        assertEquals(java.util.List.of(), asked);
        b.fromOutside(Bench.frame(M1, GW, 60, 1), 0);
        // The bridge has not learnt dom1's MAC yet: the frame is flooded to both guests.
        assertEquals(java.util.List.of("1/" + Tap.RX, "2/" + Tap.RX), asked, "the backends' copies into the buffers are judged");
    }

    static Bench twoGuests() {
        Bench b = new Bench();
        b.guestOrdered(1, TapFramesTest.MAC1, 1);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        return b;
    }

    /** dom2 copies 1,000 bytes into a buffer dom1 posted, {@code n} times in one call (Xen refuses them); returns the op array. */
    static MemorySegment dom2CopiesIntoDom1sBuffer(Bench b, int n) {
        int rxRef = postedRxRef(b, 1);
        Domain d2 = b.host.domain(2);
        MemorySegment args = d2.page(d2.allocFrame());
        for (int i = 0; i < n; i++) {
            Gnttab.Copy.set(args, (long) i * Gnttab.Copy.SIZE, d2.allocFrame(), DOMID_SELF, 0, rxRef, 1, 0, 1000, GNTCOPY_dest_gref);
        }
        b.host.hypercall(2, __HYPERVISOR_grant_table_op, GNTTABOP_copy, args, n);
        return args;
    }

    static Tap.Counters counters(Bench b, int domid) {
        return b.tap.counters().stream().filter(c -> c.domid() == domid).findFirst().orElseThrow();
    }

    @Test
    void ringStateStaysBoundedOverManyReconnectsOfAMultiQueueVif() {
        Bench b = new Bench();
        b.host.domain(0).vcpus(4);
        Toolstack.Vif v1 = b.guestOrdered(1, TapFramesTest.MAC1, 3);
        assertEquals(3, b.tap.liveRings());
        for (int i = 0; i < 40; i++) {
            Toolstack.detachVif(b.host, v1);
            assertEquals(0, b.tap.liveRings());
            Toolstack.reattachVif(b.host, v1);
            assertEquals(3, b.tap.liveRings());
            int from = b.delivered.size(), fromTap = b.tapped.size();
            assertTrue(b.send(1, Bench.frame(GW, M1, 200 + i, i), 0, 0));
            b.fromOutside(Bench.frame(M1, GW, 300 + i, i), 0);
            TapFramesTest.assertSame(b.delivered.subList(from, b.delivered.size()),
                    b.tapped.subList(fromTap, b.tapped.size()));
        }
        assertEquals(120, b.tap.retiredRings());
        assertEquals(8, b.tap.slotCapacity(), "the table of live rings did not grow with reconnects");
        assertEquals(List.of("dom1/vif0/tx", "dom1/vif0/q1/tx", "dom1/vif0/q2/tx"),
                b.tap.rings().stream().map(Tap.Ring::txName).toList());
        assertEquals(0, b.tap.unclassified());
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    @Test
    void aGuestClosingItsOwnChannelsDoesNotBlindTheTapToWhatTheBackendStillWrites() {
        Bench b = new Bench();
        b.guestOrdered(1, TapFramesTest.MAC1, 1);
        Domain g = b.host.domain(1);
        MemorySegment args = g.page(g.allocFrame());
        for (String key : new String[] {"event-channel-tx", "event-channel-rx"}) {
            int port = Integer.parseInt(b.host.xenstore().read("/local/domain/1/device/vif/0/" + key));
            Evtchn.PortOp.set(args, 0, port);
            assertEquals(0, b.host.hypercall(1, __HYPERVISOR_event_channel_op, EVTCHNOP_close, args, 1));
        }
        assertEquals(1, b.tap.liveRings(), "the backend still has the rings mapped");
        int fromTap = b.tapped.size();
        b.fromOutside(Bench.frame(M1, GW, 800, 1), 0);
        b.fromOutside(Bench.frame(M1, GW, 5000, 2), 0);
        List<Bench.Seen> seen = b.tapped.subList(fromTap, b.tapped.size());
        assertEquals(2, seen.stream().filter(s -> s.domid() == 1 && s.direction() == Tap.RX).count(),
                () -> "frames netback wrote into the guest's ring: " + seen);
        assertEquals(0, b.tap.retiredRings());
    }

    /**
     * A real capture replayed over two-queue vifs; a third of the way in the target server's vif
     * is detached, two thirds in re-attached. Everything sent while it was up is rebuilt exactly;
     * what it sent while down its netfront refused and what was sent to it its netback dropped,
     * both counted; the tap's live rings go down by its two queues and come back.
     */
    @Test
    void detachAndReattachInTheMiddleOfARealCaptureLosesNothingSilently() throws IOException {
        int victim = 1; // 10.0.0.12, the lowest guest address of the capture: the first domid
        int[] live = new int[3];
        long[] victimTap = new long[4];
        DevCapturesTest.Hook hook = new DevCapturesTest.Hook() {
            @Override
            public void before(TrafficDriver d, Tap tap, Ledger ledger) {
                d.beforeFrame(i -> {
                    if (i == 2000) {
                        live[0] = tap.liveRings();
                        victimTap[0] = ledger.tapTx.getOrDefault(victim, List.of()).size();
                        victimTap[1] = ledger.tapRx.getOrDefault(victim, List.of()).size();
                        d.detachVif(victim, 0);
                        ledger.detached = victim;
                        live[1] = tap.liveRings();
                    } else if (i == 4000) {
                        ledger.detached = -1;
                        d.attachVif(victim, 0);
                        live[2] = tap.liveRings();
                        victimTap[2] = ledger.tapTx.getOrDefault(victim, List.of()).size();
                        victimTap[3] = ledger.tapRx.getOrDefault(victim, List.of()).size();
                    }
                });
            }

            @Override
            public void after(TrafficDriver d, Tap tap, Ledger ledger, TrafficDriver.Stats s, List<Object> anomalies) {
                String what = "sqlmap with a detach";
                assertEquals(0, s.skipped());
                assertEquals(s.frames(), ledger.entered, "every capture frame entered");
                assertEquals(0, tap.unclassified(), what + ": ops the tap could not classify");
                assertEquals(0, tap.failedReads());
                assertTrue(anomalies.isEmpty(), () -> what + ": " + anomalies);
                for (Tap.Counters c : tap.counters()) {
                    assertEquals(0, c.drops() + c.lost() + c.refused(), what + ": " + c);
                }
                assertTrue(ledger.refusedFromDetached > 0 && ledger.enteredForDetached > 0,
                        "traffic both ways while detached: " + ledger.refusedFromDetached + " / "
                                + ledger.enteredForDetached);
                assertEquals(ledger.refusedFromDetached, s.notAccepted(), "refused frames are the victim's");
                for (TrafficDriver.VifCounters c : d.vifCounters()) {
                    if (c.domid() == victim) {
                        assertEquals(ledger.refusedFromDetached, c.frontTxDropped(), "netfront counted its refusals");
                        assertEquals(ledger.enteredForDetached + ledger.groupWhileDetached, c.backRxDropped(),
                                "netback counted every frame for the detached guest");
                        assertEquals(0, c.frontTxErrors() + c.frontRxErrors() + c.backTxDropped() + c.backTxFailed());
                    } else {
                        assertEquals(0, c.frontTxDropped() + c.frontTxErrors() + c.frontRxErrors()
                                + c.backTxDropped() + c.backTxFailed() + c.backRxDropped(), what + ": " + c);
                    }
                }
                ledger.check(what);
                int vifs = d.vifCounters().size();
                assertEquals(2 * vifs, live[0], "two rings pairs per vif before");
                assertEquals(2 * vifs - 2, live[1], "the victim's two queues retired");
                assertEquals(2 * vifs, live[2], "and back after the re-attach");
                assertEquals(2 * vifs, tap.liveRings());
                assertEquals(2, tap.retiredRings());
                long tx = ledger.tapTx.get(victim).size(), rx = ledger.tapRx.get(victim).size();
                assertEquals(victimTap[0] + 1, victimTap[2], "while down the victim's only frame was its announcement");
                assertEquals(victimTap[1], victimTap[3], "nothing reached the victim while down");
                assertTrue(tx > victimTap[2] + 100 && rx > victimTap[3] + 100,
                        "traffic both ways after the re-attach: tx " + tx + " rx " + rx);
            }
        };
        DevCapturesTest.run(0, 2, hook, List.of("test/scenarios/attack_sqlmap_sqli.pcap.xz"), "203.0.113.160/27");
    }
}
