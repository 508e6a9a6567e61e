package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.emu.Domain;

/**
 * A frontend that writes garbage into its rings: the tap reports each kind as an EVE anomaly
 * naming domain, vif, direction and slot, keeps no exception, and keeps rebuilding the other
 * guest's frames.
 */
class HostileGuestTest {
    static final byte[] GW = HostileGuest.GW;

    @Test
    void runtFrameIsReportedWithItsSlotAndTheVifGoesOn() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.txRequests(s.grantFrame(60), 0, 0, 10);
        assertEquals(List.of("dom1/vif0/tx tx.size_too_small " + slot), s.events());
        EveEvent.Anomaly a = s.b.anomalies.get(0);
        assertEquals("xen.ring", a.type());
        // Netback answered it with an error and goes on: a valid frame after it is rebuilt.
        int ref = s.grantFrame(300);
        s.txRequests(ref, 0, 0, 300);
        assertTrue(s.b.tapped.stream().anyMatch(f -> f.domid() == 1 && f.bytes().length == 300));
        s.othersGoOn();
    }

    /**
     * dom2 copies from the grant of a TX request dom1 has queued and netback not yet served:
     * Xen refuses it (dom1 granted it to dom0), and the tap must not take it for netback's copy
     * of that slot, which would let one guest spoil the frame the tap rebuilds for another.
     */
    @Test
    void anotherGuestsCopyFromAQueuedTxGrantIsNotTakenForTheBackends() {
        HostileGuest s = new HostileGuest();
        int ref = s.grantFrame(300);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), ref, 0, 0, 7, 300);
        Netif.Sring.reqProd(s.tx, 0, prod + 1); // published, not yet kicked

        Domain d2 = s.b.host.domain(2);
        MemorySegment args = d2.page(d2.allocFrame());
        org.xenids.xen.abi.Gnttab.Copy.set(args, 0, ref, 1, 0, d2.allocFrame(), DOMID_SELF, 0, 300, GNTCOPY_source_gref);
        s.b.host.hypercall(2, __HYPERVISOR_grant_table_op, GNTTABOP_copy, args, 1);
        assertEquals(GNTST_general_error, org.xenids.xen.abi.Gnttab.Copy.status(args, 0), "Xen: not granted to dom2");

        s.kick(s.txPort);
        assertEquals(List.of(300), s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList());
        assertTrue(s.events().isEmpty(), s.events()::toString);
        assertEquals(1, VifTeardownTest.counters(s.b, 2).unclassified(), "counted against the caller");
        s.othersGoOn();
    }

    /**
     * The same copy with a verdict in place: it is not the backend's, so the verdict is not asked
     * about dom1's slot (its decision would be about a frame dom2 does not carry, and what it
     * logs would be false); Xen refuses the copy on its own. Netback's copy is then judged as usual.
     */
    @Test
    void anotherGuestsCopyFromAQueuedTxGrantIsNotPutToTheVerdict() {
        HostileGuest s = new HostileGuest();
        List<String> asked = new java.util.ArrayList<>();
        s.b.tap.verdict((domid, vif, queue, dir, slot) -> {
            asked.add(domid + "/" + dir + "/" + slot);
            return false;
        });
        int ref = s.grantFrame(300);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), ref, 0, 0, 7, 300);
        Netif.Sring.reqProd(s.tx, 0, prod + 1);

        Domain d2 = s.b.host.domain(2);
        MemorySegment args = d2.page(d2.allocFrame());
        org.xenids.xen.abi.Gnttab.Copy.set(args, 0, ref, 1, 0, d2.allocFrame(), DOMID_SELF, 0, 300, GNTCOPY_source_gref);
        s.b.host.hypercall(2, __HYPERVISOR_grant_table_op, GNTTABOP_copy, args, 1);
        assertEquals(GNTST_general_error, org.xenids.xen.abi.Gnttab.Copy.status(args, 0), "Xen: not granted to dom2");
        assertEquals(List.of(), asked, "dom2's copy is not dom1's backend's");

        s.kick(s.txPort);
        String slot = "1/" + Tap.TX + "/" + (prod & 255);
        assertEquals(List.of(slot, slot), asked, "netback's copy of the slot's head and map of its rest are judged");
        assertEquals(1, VifTeardownTest.counters(s.b, 1).refused());
        assertEquals(0, VifTeardownTest.counters(s.b, 2).refused());
    }

    /**
     * A packet netback consumes without reading a byte of it (an skb it could not allocate, dom0
     * short of memory): the tap learns it from the next packet's head copy, reports it
     * (tx.passed_over, naming its slot), counts it lost (it cannot tell this from a slot the guest
     * changed, whose frame netback sent), and goes on. Waiting for it would hold back every later
     * packet until the ring was declared overrun, 256 requests later.
     */
    @Test
    void aPacketTheBackendConsumedWithoutReadingIsReportedAndTheRingGoesOn() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.vif1.back().failSkbAllocations(1);
        int[] chain = new int[19 * 4];
        for (int k = 0; k < 19; k++) {
            int size = k == 0 ? 500 + 18 * 200 : 200;
            chain[4 * k] = s.grantFrame(k == 0 ? 500 : 200);
            chain[4 * k + 2] = k < 18 ? NETTXF_more_data : 0;
            chain[4 * k + 3] = size;
        }
        s.txRequests(chain);
        assertEquals(0, VifTeardownTest.counters(s.b, 1).lost(), "nothing tells the tap yet");
        for (int i = 0; i < 300; i++) {
            s.txRequests(s.grantFrame(100 + i), 0, 0, 100 + i);
        }
        List<Integer> sizes = s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList();
        assertEquals(300, sizes.size(), () -> "rebuilt: " + sizes);
        assertEquals(1, VifTeardownTest.counters(s.b, 1).lost(), "counted once");
        assertEquals(0, VifTeardownTest.counters(s.b, 1).drops());
        assertEquals(List.of("dom1/vif0/tx tx.passed_over " + slot), s.events());
        s.othersGoOn();
    }

    /**
     * A valid frame, then in the same batch a request that disables the vif: netback stops reading
     * at the bad one but still carries out the copies and maps it built before it (tx_action runs
     * the batch), so the valid frame leaves the host, and the tap rebuilds it and reports the other.
     */
    @Test
    void aFrameBeforeAFatalRequestInItsBatchStillLeavesAndIsRebuilt() {
        for (String fatal : List.of("tx.offset_size_past_page", "tx.bad_gso")) {
            HostileGuest s = new HostileGuest();
            int uplink = s.b.uplink.size();
            int good = s.grantFrame(300);
            int bad = s.grantFrame(200);
            int slot = (Netif.Sring.reqProd(s.tx, 0) + 1) & 255;
            if (fatal.equals("tx.offset_size_past_page")) {
                s.txRequests(good, 0, 0, 300, bad, 4000, 0, 200);
            } else {
                // A GSO extra of size 0: "GSO size must not be zero", fatal.
                int prod = Netif.Sring.reqProd(s.tx, 0);
                Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), good, 0, 0, 0, 300);
                Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), bad, 0, NETTXF_extra_info, 1, 200);
                Netif.ExtraInfo.setGso(s.tx, Netif.Sring.entry(prod + 2, 256, Netif.TxRequest.SIZE), 0, 0, XEN_NETIF_GSO_TYPE_TCPV4);
                Netif.Sring.reqProd(s.tx, 0, prod + 3);
                s.kick(s.txPort);
                slot = (prod + 2) & 255;
            }
            assertEquals(List.of("dom1/vif0/tx " + fatal + " " + slot), s.events(), fatal);
            assertEquals(uplink + 1, s.b.uplink.size(), fatal + ": the frame before it left the host");
            assertEquals(List.of(300), s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList(), fatal);
            s.othersGoOn();
        }
    }

    /**
     * The tap says a frame's TCP/UDP checksum is its receiver's to check only where the ring flags
     * leave it as sent: a guest's request with neither csum_blank nor data_validated and no GSO
     * (netback makes a GSO packet CHECKSUM_PARTIAL whatever its flags, and its checksums are
     * filled in when it is segmented), and a response with neither flag, which netback gives to
     * what the NIC did not vouch for.
     */
    @Test
    void theRingFlagsSayWhetherAFramesReceiverChecksItsChecksum() {
        HostileGuest s = new HostileGuest();
        int plain = s.grantFrame(300), blank = s.grantFrame(300), validated = s.grantFrame(300), gso = s.grantFrame(300);
        s.txRequests(plain, 0, 0, 300, blank, 0, NETTXF_csum_blank | NETTXF_data_validated, 300,
                validated, 0, NETTXF_data_validated, 300);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), gso, 0, NETTXF_extra_info, 3, 300);
        Netif.ExtraInfo.setGso(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4);
        Netif.Sring.reqProd(s.tx, 0, prod + 2);
        s.kick(s.txPort);
        assertEquals(List.of(), s.events());
        assertEquals(List.of(true, false, false, false), checkedOf(s, 1, Tap.TX));

        byte[] good = org.xenids.testdata.PacketBuilder.tcpFrame("203.0.113.9", 40000, "10.0.0.12", 80, 1, 1,
                org.xenids.testdata.PacketBuilder.ACK, new byte[100]);
        System.arraycopy(Bench.mac(TapFramesTest.MAC2), 0, good, 0, 6);
        byte[] bad = good.clone();
        bad[bad.length - 1] ^= 1;
        s.b.fromOutside(good, 0);
        s.b.fromOutside(bad, 0);
        s.b.fromOutside(good, 1448); // GRO'd: CHECKSUM_PARTIAL
        // dom2 got dom1's four frames first: netback hands each on with the flags its sender's
        // checksum state gives, so each is judged as on dom1's side.
        assertEquals(List.of(true, false, false, false, false, true, false), checkedOf(s, 2, Tap.RX));
    }

    private static List<Boolean> checkedOf(HostileGuest s, int domid, int direction) {
        List<Boolean> out = new java.util.ArrayList<>();
        for (int i = 0; i < s.b.tapped.size(); i++) {
            if (s.b.tapped.get(i).domid() == domid && s.b.tapped.get(i).direction() == direction) {
                out.add(s.b.l4Checked.get(i));
            }
        }
        return out;
    }

    @Test
    void moreThanEighteenSlotsIsReportedAndDroppedLikeNetbackDoes() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        // netback takes the first slot and 18 more (XEN_NETBK_LEGACY_SLOTS_MAX); one beyond is dropped.
        int[] req = new int[20 * 4];
        for (int i = 0; i < 20; i++) {
            req[4 * i] = s.grantFrame(100);
            req[4 * i + 2] = i < 19 ? NETTXF_more_data : 0;
            req[4 * i + 3] = i == 0 ? 2000 : 100;
        }
        s.txRequests(req);
        assertEquals(List.of("dom1/vif0/tx tx.too_many_slots " + slot), s.events());
        assertEquals(1, VifTeardownTest.counters(s.b, 1).drops());
        assertTrue(s.b.tapped.stream().noneMatch(f -> f.domid() == 1), "the dropped packet is not rebuilt");
        // Dropped, not fatal: the vif goes on and the next packet is rebuilt.
        s.txRequests(s.grantFrame(300), 0, 0, 300);
        assertTrue(s.b.tapped.stream().anyMatch(f -> f.domid() == 1 && f.bytes().length == 300));
        s.othersGoOn();
    }

    @Test
    void chainThatNeverEndsIsReportedOnceAndDisablesTheVif() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        int ref = s.grantFrame(100);
        int[] req = new int[200 * 4];
        for (int i = 0; i < 200; i++) {
            req[4 * i] = ref;
            req[4 * i + 2] = NETTXF_more_data;
            req[4 * i + 3] = 100;
        }
        s.txRequests(req);
        assertEquals(List.of("dom1/vif0/tx tx.too_many_slots " + slot), s.events());
        // Fatal, as in netback: the ring is read no further, so a valid packet after it is neither
        // rebuilt nor reported again, however often the guest kicks.
        for (int i = 0; i < 3; i++) {
            s.txRequests(s.grantFrame(300), 0, 0, 300);
        }
        assertEquals(1, s.events().size(), s.events().toString());
        assertTrue(s.b.tapped.stream().noneMatch(f -> f.domid() == 1));
        s.othersGoOn();
    }

    @Test
    void offsetPlusSizePastThePageIsReported() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.txRequests(s.grantFrame(200), 4000, 0, 200);
        assertEquals(List.of("dom1/vif0/tx tx.offset_size_past_page " + slot), s.events());
        s.othersGoOn();
    }

    @Test
    void grantRefsNotGrantedOrOutOfRangeAreReportedPerSlot() {
        HostileGuest s = new HostileGuest();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        int notGranted = s.evil.claimGrantRefs(1);
        s.txRequests(notGranted, 0, 0, 200);
        s.txRequests(1 << 30, 0, 0, 60);
        assertEquals(List.of("dom1/vif0/tx tx.gref_not_granted " + slot,
                "dom1/vif0/tx tx.gref_out_of_range " + ((slot + 1) & 255)), s.events());
        assertTrue(s.b.tap.counters().stream().anyMatch(c -> c.domid() == 1 && c.drops() == 2));
        s.othersGoOn();
    }

    @Test
    void reqProdFarPastRspProdIsReported() {
        HostileGuest s = new HostileGuest();
        Netif.Sring.reqProd(s.tx, 0, Netif.Sring.rspProd(s.tx, 0) + 5000);
        s.kick(s.txPort);
        assertEquals(List.of("dom1/vif0/tx tx.req_prod_overrun " + ((Netif.Sring.rspProd(s.tx, 0) + 5000) & 255)),
                s.events());
        s.othersGoOn();
    }

    /**
     * A packet whose first slot names a ref the guest never granted: netback's copy of it fails,
     * its copy of the second slot's first bytes succeeds, and netback drops the packet. The tap
     * counts it once, as a drop: the second slot's copy, landing right after where the failed
     * one was to land, is not a packet netback began there.
     */
    @Test
    void aPacketWhoseHeadCopyFailsIsCountedOnceAsADrop() {
        HostileGuest s = new HostileGuest();
        int head = s.evil.claimGrantRefs(1), rest = s.grantFrame(200, 2);
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.txRequests(head, 0, NETTXF_more_data, 300, rest, 0, 0, 200);
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.drops(), c.toString());
        assertEquals(0, c.lost(), c.toString());
        assertEquals(List.of("dom1/vif0/tx tx.gref_not_granted " + slot), s.events());
        s.othersGoOn();
    }

    @Test
    void rspProdScribbledByTheGuestIsReported() {
        HostileGuest s = new HostileGuest();
        Netif.Sring.rspProd(s.rx, 0, Netif.Sring.rspProd(s.rx, 0) + 3000);
        s.b.fromOutside(Bench.frame(Bench.mac(TapFramesTest.MAC1), GW, 100, 3), 0);
        assertTrue(s.events().stream().anyMatch(e -> e.startsWith("dom1/vif0/rx rx.")), () -> s.events().toString());
        s.othersGoOn();
    }

    @Test
    void randomGarbageInBothRingsNeverStopsTheTap() {
        java.util.Random rnd = new java.util.Random(42);
        for (int round = 0; round < Integer.getInteger("tap.fuzzRounds", 40); round++) {
            HostileGuest s = new HostileGuest();
            for (int k = 0; k < 20; k++) {
                MemorySegment ring = rnd.nextBoolean() ? s.tx : s.rx;
                int n = 1 + rnd.nextInt(64);
                for (int i = 0; i < n; i++) {
                    Le.u8(ring, 64 + rnd.nextInt(4096 - 64), rnd.nextInt(256));
                }
                if (rnd.nextInt(4) == 0) {
                    Le.u32(ring, rnd.nextBoolean() ? 0 : 8, Le.u32(ring, 0) + rnd.nextInt(600) - 100);
                }
                s.kick(rnd.nextBoolean() ? s.txPort : s.rxPort);
                s.b.fromOutside(Bench.frame(Bench.mac(TapFramesTest.MAC1), GW, 60 + rnd.nextInt(3000), k), 0);
            }
            s.othersGoOn();
            for (EveEvent.Anomaly a : s.b.anomalies) {
                assertTrue(a.inIface().startsWith("dom1/vif0/"), a::toString);
            }
        }
    }
}
