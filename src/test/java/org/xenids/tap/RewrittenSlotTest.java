package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;

/**
 * A guest that rewrites a TX slot after the tap read it (and perhaps puts it back before netback
 * acts): netback's op for it goes elsewhere, and the packet is given up, reported and counted
 * lost, while the packets behind it are rebuilt with their own bytes, never from another's.
 */
class RewrittenSlotTest {
    static final byte[] GW = HostileGuest.GW;

    /**
     * The guest rewrites the ref of a packet's second slot after the tap read it: netback copies
     * the head and takes the new ref, which no slot holds. The tap reads the packet's requests
     * again, finds one changed, and gives the packet up there and then: a slot_rewritten anomaly
     * naming its slot, counted as lost. Every later packet is rebuilt with its own bytes. It once
     * held every later packet of the ring back until the ring was reported overrun, which netback
     * never saw, and given up.
     */
    @Test
    void aPacketWhoseSlotWasRewrittenUnderTheTapIsLostAndTheRingGoesOn() {
        HostileGuest s = new HostileGuest();
        int prod = secondSlotRewrittenAfterTheKick(s, false);
        assertEquals(new Tap.Unfinished(0, 0), s.b.tap.unfinished(), "given up at netback's op");
        int normal = 300; // more than the ring holds
        List<Bench.Seen> rebuilt = sendNormal(s, normal, 200);
        Tap.Counters c = s.counters(1);
        assertEquals(normal, rebuilt.size(), c.toString());
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        assertEquals(List.of("dom1/vif0/tx tx.slot_rewritten " + (prod & 255)), s.events());
        assertEquals(List.of(new Tap.RingLoss(1, 0, 0, Tap.TX, 1, 0)), s.b.tap.ringLosses(), "the loss is its ring's");
        s.othersGoOn();
    }

    /**
     * The same, but the guest puts the request back before netback's first op of the batch (on
     * another vCPU): read again, the ring shows what the tap read, and the packet is held, in
     * part. netback's map of the next packet shows that P's map went elsewhere: P is reported
     * there (tx.unfinished) and counted as lost, and every later packet is rebuilt.
     */
    @Test
    void aRewrittenSlotPutBackBeforeNetbackActsIsGivenUpAtNetbacksNextMap() {
        HostileGuest s = new HostileGuest();
        int prod = secondSlotRewrittenAfterTheKick(s, true);
        assertEquals(new Tap.Unfinished(1, 0), s.b.tap.unfinished(), "held in part");
        assertEquals(List.of(new Tap.RingLoss(1, 0, 0, Tap.TX, 0, 1)), s.b.tap.ringLosses(), "in flight on its ring");
        int normal = 300;
        List<Bench.Seen> rebuilt = sendNormal(s, normal, 200);
        Tap.Counters c = s.counters(1);
        assertEquals(normal, rebuilt.size(), c.toString());
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        assertEquals(new Tap.Unfinished(0, 0), s.b.tap.unfinished());
        assertEquals(List.of("dom1/vif0/tx tx.unfinished " + (prod & 255)), s.events());
        s.othersGoOn();
    }

    /**
     * The same, with packets netback only copies after it (no map to show P's went elsewhere):
     * once the guest posts into P's slot again it is reported (slot_reused) and counted as lost;
     * so are the packets that waited behind it (netback reused their head buffers long ago:
     * rebuilt, they would carry other packets' heads); every later one is rebuilt with its own
     * bytes.
     */
    @Test
    void aRewrittenSlotPutBackFollowedByCopiesAloneIsReportedWhenTheGuestReusesIt() {
        HostileGuest s = new HostileGuest();
        int prod = secondSlotRewrittenAfterTheKick(s, true);
        int normal = 300;
        List<Bench.Seen> rebuilt = sendNormal(s, normal, 100);
        Tap.Counters c = s.counters(1);
        assertEquals(normal + 1, rebuilt.size() + c.lost(), "each packet rebuilt or counted lost: " + c);
        assertTrue(rebuilt.size() >= normal - 256 && rebuilt.size() < normal, rebuilt.size() + " rebuilt");
        assertEquals(0, c.drops(), c.toString());
        assertEquals(new Tap.Unfinished(0, 0), s.b.tap.unfinished());
        assertEquals(List.of("dom1/vif0/tx tx.slot_reused " + (prod & 255)), s.events());
        s.othersGoOn();
    }

    /**
     * P's second slot rewritten, with small packets behind it in the same kick: netback copies
     * them in the batch that takes P, so they wait behind P, whole. Given up at netback's op of
     * the rewritten slot, P lets them go, and they are rebuilt with their own bytes.
     */
    @Test
    void packetsOfTheBatchBehindARewrittenOneAreRebuilt() {
        HostileGuest s = new HostileGuest();
        int head = s.grantFrame(100), rest = s.grantFrame(400), other = s.grantFrame(400);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), head, 0, NETTXF_more_data, 0, 500);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        java.util.Set<String> sent = new java.util.HashSet<>();
        for (int i = 0; i < 3; i++) {
            Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 2 + i, 256, Netif.TxRequest.SIZE),
                    s.grantFrame(90, 50 + i), 0, 0, 2 + i, 90);
            sent.add(java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), 90, 50 + i)));
        }
        s.publishAndKick(prod + 5);
        Netif.TxRequest.set(s.tx, at1, other, 0, 0, 1, 400);
        s.b.host.runPending();
        List<Bench.Seen> rebuilt = s.txOf(1);
        assertEquals(3, rebuilt.size(), rebuilt.toString());
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())), "rebuilt with bytes that were sent");
        }
        assertEquals(1, s.counters(1).lost(), s.counters(1).toString());
        assertEquals(List.of("dom1/vif0/tx tx.slot_rewritten " + (prod & 255)), s.events());
    }

    /**
     * P held (its rewritten slot put back before netback acted), two packets made whole behind it
     * in later batches; then the guest rewrites P's slot again and a head of a new batch, whose
     * copy names no slot. P and the new packet are given up; the two that waited since earlier
     * batches are lost, not rebuilt from head buffers netback has since reused.
     */
    @Test
    void packetsThatWaitedSinceAnEarlierBatchAreLostNotRebuilt() {
        HostileGuest s = new HostileGuest();
        int prod = secondSlotRewrittenAfterTheKick(s, true);
        s.txRequests(s.grantFrame(100, 1), 0, 0, 100);
        s.txRequests(s.grantFrame(100, 2), 0, 0, 100);
        assertEquals(0, s.txOf(1).size(), "waiting behind P");
        // P's second slot changed for good, then a packet whose head is rewritten after the kick.
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), s.grantFrame(400), 0, 0, 1, 400);
        int r = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(r, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, s.grantFrame(300, 3), 0, 0, 0, 300);
        s.publishAndKick(r + 1);
        Netif.TxRequest.set(s.tx, at, s.grantFrame(300, 4), 0, 0, 0, 300);
        s.b.host.runPending();
        s.txRequests(s.grantFrame(200, 5), 0, 0, 200);
        List<Bench.Seen> rebuilt = s.txOf(1);
        assertEquals(1, rebuilt.size(), rebuilt.toString());
        assertEquals(java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), 200, 5)),
                java.util.Arrays.toString(rebuilt.get(0).bytes()));
        Tap.Counters c = s.counters(1);
        assertEquals(4, c.lost(), "P, the two behind it, the rewritten head: " + c);
        assertEquals(List.of("dom1/vif0/tx tx.slot_rewritten " + (prod & 255), "dom1/vif0/tx tx.slot_rewritten " + (r & 255)),
                s.events());
        assertEquals(new Tap.Unfinished(0, 0), s.b.tap.unfinished());
    }

    /**
     * P (head 100 bytes of 500, rest mapped) and R (100 bytes, one slot) read by the tap; then,
     * before netback reads them, P is rewritten so that its second slot names R's ref: netback's
     * copies are P's head (P's own, 28 bytes), R's ref for P (taken by the tap as R's copy, R
     * whole), then R's own copy, which names no slot awaiting it, and P is given up there. R is
     * whole only with P's copy: the guest changed R's page between the two copies (another
     * vCPU), so R as netback sent it is not what P's copy read. No frame the tap rebuilds may
     * carry bytes netback did not send, and each packet netback sent is rebuilt or counted lost.
     */
    @Test
    void aPacketMadeWholeByTheRewrittenPacketsCopyIsNotRebuiltFromIt() {
        HostileGuest s = new HostileGuest();
        int head = s.grantFrame(200, 1), rest = s.grantFrame(400, 2), r = s.grantFrame(100, 3);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 2, 256, Netif.TxRequest.SIZE), r, 0, 0, 2, 100);
        s.publishAndKick(prod + 3);
        // P becomes 28 bytes of its head page and R's 100 bytes: 128, all copied.
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 128);
        Netif.TxRequest.set(s.tx, at1, r, 0, 0, 1, 100);
        MemorySegment rPage = s.evil.page(s.grantedFrame(r));
        s.atNetbacksFirst(GNTTABOP_copy, 2, () -> rPage.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 50, (byte) 0x5a));
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        s.rebuiltOnlyAsSent(uplinkBefore, 2, "netback sent P and R");
    }

    /**
     * The same, but P is rewritten over its two slots and R's into 28 bytes of its head, 50 of u
     * (a ref no slot holds) and R's 50, and the packet after R into R's request: netback's copies
     * name P's head, u (P is given up there), R's ref for P (taken by the tap as R's copy, R
     * whole, and nothing older holds it back), then R's ref again for the last packet, after the
     * guest changed R's page. R is not rebuilt from P's copy either.
     */
    @Test
    void aPacketMadeWholeByTheRewrittenPacketsCopyAfterTheGiveUpIsNotRebuiltFromIt() {
        HostileGuest s = new HostileGuest();
        int head = s.grantFrame(200, 1), rest = s.grantFrame(400, 2), u = s.grantFrame(100, 4),
                r = s.grantFrame(50, 3);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        long at2 = Netif.Sring.entry(prod + 2, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        Netif.TxRequest.set(s.tx, at2, r, 0, 0, 2, 50);
        // A packet after R, whose slot netback reads as R's once P takes R's.
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 3, 256, Netif.TxRequest.SIZE), s.grantFrame(60, 5), 0, 0, 3, 60);
        s.publishAndKick(prod + 4);
        // P: 28 bytes of its head, 50 of u, 50 of R's page, over three slots; then R's request.
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 128);
        Netif.TxRequest.set(s.tx, at1, u, 0, NETTXF_more_data, 1, 50);
        Netif.TxRequest.set(s.tx, at2, r, 0, 0, 2, 50);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 3, 256, Netif.TxRequest.SIZE), r, 0, 0, 3, 50);
        MemorySegment rPage = s.evil.page(s.grantedFrame(r));
        s.atNetbacksFirst(GNTTABOP_copy, 3, () -> rPage.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 30, (byte) 0x5a));
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(2, sent.size(), "netback sent P and R");
        List<Bench.Seen> rebuilt = s.txOf(1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())),
                    "rebuilt with bytes netback did not send: " + f + " " + s.events());
        }
        assertTrue(rebuilt.size() + s.counters(1).lost() + s.b.tap.unfinished().txPackets() >= 2,
                "each packet rebuilt, counted lost or still held: " + s.counters(1));
    }

    /**
     * R is a 128-byte head slot, which netback copies, and a 50-byte second slot, which it maps.
     * P is rewritten into 28 bytes of its head and R's second slot's 50, all copied; a later
     * packet's ref is rewritten too, so the copy call names a ref no slot holds and P is given
     * up. P's copy of R's second slot is not R's (netback copies only a packet's first 128
     * bytes): R is whole only with netback's map of that slot for R, in the map call, by which
     * time the guest (another vCPU) has changed the page.
     */
    @Test
    void aPacketWhoseMappedSlotTheRewrittenPacketCopiedIsNotRebuiltFromThatCopy() {
        HostileGuest s = new HostileGuest();
        int head = s.grantFrame(200, 1), rest = s.grantFrame(400, 2), rh = s.grantFrame(128, 3),
                rf = s.grantFrame(100, 6), y = s.grantFrame(60, 7), y2 = s.grantFrame(60, 8);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        long at4 = Netif.Sring.entry(prod + 4, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 2, 256, Netif.TxRequest.SIZE), rh, 0, NETTXF_more_data, 2, 178);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 3, 256, Netif.TxRequest.SIZE), rf, 0, 0, 3, 50);
        Netif.TxRequest.set(s.tx, at4, y, 0, 0, 4, 60);
        s.publishAndKick(prod + 5);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 78);
        Netif.TxRequest.set(s.tx, at1, rf, 0, 0, 1, 50);
        Netif.TxRequest.set(s.tx, at4, y2, 0, 0, 4, 60);
        MemorySegment rfPage = s.evil.page(s.grantedFrame(rf));
        boolean[] done = new boolean[1];
        s.b.host.addListener(new org.xenids.xen.event.HypercallListener() {
            @Override
            public boolean allow(org.xenids.xen.event.Hypercall c, int i) {
                if (!done[0] && c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op
                        && c.cmd() == GNTTABOP_map_grant_ref) {
                    done[0] = true;
                    rfPage.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 20, (byte) 0x5a);
                }
                return true;
            }

            @Override
            public void completed(org.xenids.xen.event.Hypercall c) {
            }
        });
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        assertTrue(done[0], "netback mapped");
        s.rebuiltOnlyAsSent(uplinkBefore, 3, "netback sent P, R and the last one");
    }

    /**
     * A two-slot packet published and kicked (the tap reads it), then its second slot's ref
     * changed before netback runs; with {@code putBack}, changed back once netback has read the
     * requests, before its first grant op. Returns the packet's request index.
     */
    private static int secondSlotRewrittenAfterTheKick(HostileGuest s, boolean putBack) {
        int head = s.grantFrame(100), rest = s.grantFrame(400), other = s.grantFrame(400);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        s.rewrittenAfterTheKick(prod + 2, () -> Netif.TxRequest.set(s.tx, at1, other, 0, 0, 1, 400),
                putBack ? () -> Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400) : null, 500);
        return prod;
    }

    /**
     * Sends {@code n} packets of {@code len} bytes, one a kick; returns dom1's TX frames the tap
     * rebuilt so far, each checked to hold the bytes of a packet that was sent.
     */
    private static List<Bench.Seen> sendNormal(HostileGuest s, int n, int len) {
        java.util.Set<String> sent = new java.util.HashSet<>();
        for (int i = 0; i < n; i++) {
            s.txRequests(s.grantFrame(len, 100 + i), 0, 0, len);
            sent.add(java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), len, 100 + i)));
        }
        List<Bench.Seen> rebuilt = s.txOf(1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())), "rebuilt with bytes that were sent");
        }
        return rebuilt;
    }
}
