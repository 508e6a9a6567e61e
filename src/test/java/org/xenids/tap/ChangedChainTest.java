package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;

/**
 * A guest that changes TX chains after the tap read them: heads moved or rewritten, packets
 * joined or split, slots reused before netback answered them. netback's own ops show the change;
 * the packet is reported and never rebuilt as the tap read it, and the ring goes on.
 */
class ChangedChainTest {
    static final byte[] GW = HostileGuest.GW;

    @Test
    void requestRewrittenAfterTheTapReadItIsReportedAsRingChanged() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        int ref = s.grantFrame(600);
        // Publish and kick (the tap reads the request), then move the data before the backend runs.
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, ref, 0, 0, 0, 600);
        s.publishAndKick(prod + 1);
        Netif.TxRequest.set(s.tx, at, ref, 64, 0, 0, 536);
        s.b.host.runPending();
        assertEquals(List.of("dom1/vif0/tx tx.ring_changed " + slot), s.events());
        assertTrue(s.b.tapped.stream().noneMatch(f -> f.domid() == 1 && f.direction() == Tap.TX
                && (f.bytes().length == 600 || f.bytes().length == 536)), "no guessed frame");
        // Netback sent the 536 bytes the slot says now: a frame the tap did not read, counted as lost.
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.lost(), c.toString());
        s.othersGoOn();
    }

    /**
     * The same with a head of 60 bytes and a second slot: netback copies the moved head, then the
     * second slot's first bytes on from it, as one packet. Counted lost once: the second copy is
     * not a packet netback began there.
     */
    @Test
    void aPacketWhoseMovedHeadNetbackCopiedIsCountedLostOnce() {
        HostileGuest s = new HostileGuest();
        int ref = s.grantFrame(600), rest = s.grantFrame(100, 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, ref, 0, NETTXF_more_data, 0, 160);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), rest, 0, 0, 1, 100);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at, ref, 4, NETTXF_more_data, 0, 160);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        assertEquals(1, s.b.uplink.size() - uplinkBefore, "netback sent it");
        assertEquals(List.of("dom1/vif0/tx tx.ring_changed " + (prod & 255)), s.events());
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        s.othersGoOn();
    }

    /**
     * P (one 100-byte slot) and Q (one 28-byte slot) read by the tap; then, before netback reads
     * them, P's request says 128 bytes with more data: netback takes P and Q as one packet of 128
     * bytes, copied whole. Its copies name P's ref and Q's, each as the tap awaits them, so no op
     * is left unmatched and nothing is read again; the tap must not rebuild P and Q as two frames
     * (the second, Q's bytes, would be decoded from a header that is payload), nor let the frame
     * netback sent go unreported.
     */
    @Test
    void twoPacketsTheGuestJoinedAfterTheTapReadThemAreNotRebuiltApart() {
        joinedAfterTheKick(new HostileGuest(), 100, 28, 128);
    }

    /**
     * P (one slot of exactly 128 bytes) and Q (one slot of 200) read by the tap; then, before
     * netback reads them, P's request says 328 bytes with more data: netback copies P's 128 bytes
     * (its whole head) and maps Q's slot as P's second slot, and sends one frame of 328 bytes.
     * No copy lands where another ended, and every op names a slot as the tap awaits it; the tap
     * must not rebuild P and Q as two frames (Q's 200 bytes are the payload of netback's frame).
     */
    @Test
    void aPacketJoinedToTheNextWhoseSlotNetbackMapsIsNotRebuiltApart() {
        joinedAfterTheKick(new HostileGuest(), 128, 200, 328).othersGoOn();
    }

    /**
     * P ({@code pLen} bytes) and Q ({@code qLen}) published and kicked (the tap reads them), then
     * P's request rewritten to {@code joinedLen} bytes with more data before netback reads it:
     * netback sends one frame. The tap rebuilds it as netback sent it, or reports and counts it.
     */
    private static HostileGuest joinedAfterTheKick(HostileGuest s, int pLen, int qLen, int joinedLen) {
        int p = s.grantFrame(pLen, 1), q = s.grantFrame(Math.max(qLen, 100), 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, p, 0, 0, 0, pLen);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), q, 0, 0, 1, qLen);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at0, p, 0, NETTXF_more_data, 0, joinedLen);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<Bench.Seen> rebuilt = s.rebuiltFromSent(uplinkBefore, 1, "netback sent one frame");
        assertTrue(rebuilt.size() == 1 || s.counters(1).lost() >= 1 && !s.events().isEmpty(),
                "rebuilt, or reported and counted lost: " + s.counters(1) + " " + s.events());
        return s;
    }

    /**
     * Honest 128-byte frames with others behind them in one kick wait for the ring's next op
     * (netback's maps could still show them joined) and are then rebuilt with their own bytes;
     * those still waiting when the vif is detached are rebuilt too, not counted lost.
     */
    @Test
    void honestFramesOf128BytesAreRebuiltOnceTheRingsNextOpsAreIn() {
        HostileGuest s = new HostileGuest();
        s.txRequests(s.grantFrame(128, 1), 0, 0, 128, s.grantFrame(128, 2), 0, 0, 128, s.grantFrame(60, 3), 0, 0, 60);
        s.txRequests(s.grantFrame(400, 4), 0, 0, 400);
        s.txRequests(s.grantFrame(128, 5), 0, 0, 128, s.grantFrame(90, 6), 0, 0, 90);
        org.xenids.xen.emu.Toolstack.detachVif(s.b.host, s.vif1);
        List<String> rebuilt = s.txOf(1).stream().map(f -> java.util.Arrays.toString(f.bytes())).toList();
        int[][] sent = {{128, 1}, {128, 2}, {60, 3}, {400, 4}, {128, 5}, {90, 6}};
        List<String> want = java.util.Arrays.stream(sent)
                .map(f -> java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), f[0], f[1]))).toList();
        assertEquals(want, rebuilt);
        assertEquals(0, s.counters(1).lost(), s.counters(1).toString());
        assertEquals(List.of(), s.events());
    }

    /**
     * The other way: P, one slot of 100 bytes and one of 28, read by the tap; then P's first
     * request says 100 bytes and no more data, so that netback takes two packets, each copied
     * whole into its own buffer, whose copies name P's slots as the tap awaits them. The tap must
     * not rebuild P as one frame of 128 bytes, which netback never sent.
     */
    @Test
    void aPacketTheGuestSplitAfterTheTapReadItIsNotRebuiltWhole() {
        HostileGuest s = new HostileGuest();
        int p = s.grantFrame(100, 1), f = s.grantFrame(100, 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, p, 0, NETTXF_more_data, 0, 128);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), f, 0, 0, 1, 28);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at0, p, 0, 0, 0, 100);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<Bench.Seen> rebuilt = s.rebuiltFromSent(uplinkBefore, 2, "netback sent two frames");
        assertTrue(rebuilt.size() + s.counters(1).lost() >= 2 && (rebuilt.size() == 2 || !s.events().isEmpty()),
                "each frame rebuilt, or reported and counted lost: " + s.counters(1) + " " + s.events());
    }

    /**
     * While netback's copy call for packet P is under way, another vCPU of the guest posts a whole
     * ring of requests over P's slot and sets rsp_prod so that the ring looks sound. Netback sends
     * P (it copied the request when it took it); the tap, whose slot P's request no longer holds,
     * cannot rebuild it, and says so: a slot_reused anomaly naming the slot, P counted as lost, not
     * passed off as a packet netback dropped.
     */
    @Test
    void aSlotReusedBeforeNetbackAnsweredItIsReportedAndItsPacketCountedLost() {
        HostileGuest s = new HostileGuest();
        int p = s.grantFrame(300), fresh = s.grantFrame(200);
        int cons = Netif.Sring.reqProd(s.tx, 0);
        boolean[] done = new boolean[1], undone = new boolean[1];
        s.b.host.addListener(new org.xenids.xen.event.HypercallListener() {
            @Override
            public boolean allow(org.xenids.xen.event.Hypercall c, int index) {
                if (!done[0] && c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_copy) {
                    done[0] = true;
                    int prod = cons + 1;
                    for (int i = 0; i < 256; i++, prod++) {
                        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), fresh, 0, 0, i, 200);
                    }
                    Netif.Sring.reqProd(s.tx, 0, prod);
                    Netif.Sring.rspProd(s.tx, 0, cons + 1);
                }
                return true;
            }

            @Override
            public void completed(org.xenids.xen.event.Hypercall c) {
                if (done[0] && !undone[0]) {
                    // Put the ring back, so that the emulated netback takes none of the fresh requests.
                    undone[0] = true;
                    Netif.Sring.reqProd(s.tx, 0, cons + 1);
                    Netif.Sring.rspProd(s.tx, 0, cons);
                }
            }
        });
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(p, 0, 0, 300);
        assertTrue(done[0], "netback copied");
        assertEquals(1, s.b.uplink.stream().skip(uplinkBefore).filter(f -> f.length == 300).count(), "netback sent P");
        assertEquals(0, s.b.tapped.stream().filter(f -> f.domid() == 1 && f.bytes().length == 300).count());
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        // (Putting req_prod back then reads as an overrun, reported after it.)
        assertEquals("dom1/vif0/tx tx.slot_reused " + (cons & 255), s.events().get(0), s.events().toString());
    }

    /**
     * The guest rewrites the ref of a packet's only slot after the tap read it: netback copies and
     * maps the new ref and sends the frame, and no op names the slot the tap holds. At netback's
     * first op, which names no slot, the tap reads the request again and reports it rewritten,
     * counted as lost, not passed off as a packet netback dropped.
     */
    @Test
    void aHeadSlotRewrittenUnderTheTapIsReportedAndCountedLost() {
        HostileGuest s = new HostileGuest();
        int prod = headRewrittenAfterTheKick(s, false);
        assertEquals(List.of("dom1/vif0/tx tx.slot_rewritten " + (prod & 255)), s.events(), "at netback's op");
        s.txRequests(s.grantFrame(200), 0, 0, 200);
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        assertEquals(List.of("dom1/vif0/tx tx.slot_rewritten " + (prod & 255)), s.events());
        assertEquals(1, s.b.tapped.stream().filter(f -> f.domid() == 1 && f.direction() == Tap.TX).count(),
                "the next packet is rebuilt");
    }

    /**
     * The head slot's ref rewritten after the tap read it and put back once netback read it, and
     * no packet after it before the vif is detached: netback sent the frame, the tap never saw an
     * op of its slot, and reading the ring again showed nothing. At teardown it is not taken for
     * a packet netback never read (a drop): an op of the ring named no slot since.
     */
    @Test
    void aHeadSlotRewrittenBeforeTheVifIsDetachedIsReportedAndCountedLost() {
        HostileGuest s = new HostileGuest();
        int prod = headRewrittenAfterTheKick(s, true);
        assertEquals(List.of(), s.events(), "the ring shows what the tap read");
        org.xenids.xen.emu.Toolstack.detachVif(s.b.host, s.vif1);
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.lost(), c.toString());
        assertEquals(0, c.drops(), c.toString());
        assertEquals(List.of("dom1/vif0/tx tx.passed_over " + (prod & 255)), s.events());
    }

    /**
     * One 400-byte packet published and kicked (the tap reads it), then its ref changed before
     * netback runs (with {@code putBack}, changed back before netback's first grant op); netback
     * sends what the slot said when it read it. Returns the packet's request index.
     */
    private static int headRewrittenAfterTheKick(HostileGuest s, boolean putBack) {
        int ref = s.grantFrame(400), other = s.grantFrame(400);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, ref, 0, 0, 0, 400);
        s.rewrittenAfterTheKick(prod + 1, () -> Netif.TxRequest.set(s.tx, at, other, 0, 0, 0, 400),
                putBack ? () -> Netif.TxRequest.set(s.tx, at, ref, 0, 0, 0, 400) : null, 400);
        return prod;
    }
}
