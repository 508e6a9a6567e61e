package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.emu.Domain;

/**
 * A frontend that writes garbage into its rings: the tap reports each kind as an EVE anomaly
 * naming domain, vif, direction and slot, keeps no exception, and keeps rebuilding the other
 * guest's frames.
 */
class HostileGuestTest {
    static final byte[] GW = TapFramesTest.GW;

    /** dom1 is hostile, dom2 a normal guest whose traffic must go on being seen. */
    static final class Setup {
        final Bench b;
        final Domain evil;
        final MemorySegment tx, rx;
        final int txPort, rxPort;
        final MemorySegment args;
        final org.xenids.xen.emu.Toolstack.Vif vif1;

        Setup() {
            this(null);
        }

        /** With {@code trace} non-null, the tap's stream and reads are recorded there. */
        Setup(java.io.OutputStream trace) {
            b = new Bench(trace);
            vif1 = b.guestOrdered(1, TapFramesTest.MAC1, 1);
            b.guestOrdered(2, TapFramesTest.MAC2, 1);
            evil = b.host.domain(1);
            String fe = "/local/domain/1/device/vif/0/";
            tx = evil.page(grantedFrame(Integer.parseInt(b.host.xenstore().read(fe + "tx-ring-ref"))));
            rx = evil.page(grantedFrame(Integer.parseInt(b.host.xenstore().read(fe + "rx-ring-ref"))));
            txPort = Integer.parseInt(b.host.xenstore().read(fe + "event-channel-tx"));
            rxPort = Integer.parseInt(b.host.xenstore().read(fe + "event-channel-rx"));
            args = evil.page(evil.allocFrame());
            // The hostile guest drives its rings by hand: its own netfront must not see the answers.
            evil.mask(txPort);
            evil.mask(rxPort);
        }

        long grantedFrame(int ref) {
            long[] gt = new long[64];
            b.host.memory().grantTableFrames(1, gt);
            MemorySegment e = MemorySegment.ofArray(new byte[8]);
            b.host.memory().read(1, gt[ref / 512], (ref % 512) * 8, e);
            return Integer.toUnsignedLong(Le.u32(e, 4));
        }

        /** Writes TX requests {gref, offset, flags, size} from req_prod on, publishes and kicks. */
        void txRequests(int... gofs) {
            int prod = Netif.Sring.reqProd(tx, 0);
            for (int i = 0; i < gofs.length; i += 4) {
                long at = Netif.Sring.entry(prod++, 256, Netif.TxRequest.SIZE);
                Netif.TxRequest.set(tx, at, gofs[i], gofs[i + 1], gofs[i + 2], i / 4, gofs[i + 3]);
            }
            Netif.Sring.reqProd(tx, 0, prod);
            kick(txPort);
        }

        /** Publishes requests up to {@code prod} and kicks, without letting the backend run yet. */
        void publishAndKick(int prod) {
            Netif.Sring.reqProd(tx, 0, prod);
            Evtchn.PortOp.set(args, 0, txPort);
            b.host.hypercall(1, __HYPERVISOR_event_channel_op, EVTCHNOP_send, args, 1);
        }

        Tap.Counters counters(int domid) {
            return b.tap.counters().stream().filter(k -> k.domid() == domid).findFirst().orElseThrow();
        }

        void kick(int port) {
            Evtchn.PortOp.set(args, 0, port);
            b.host.hypercall(1, __HYPERVISOR_event_channel_op, EVTCHNOP_send, args, 1);
            b.host.runPending();
        }

        /** A valid frame granted by dom1 at a fresh page: returns its gref. */
        int grantFrame(int len) {
            return grantFrame(len, 5);
        }

        /** The same, its bytes after the Ethernet header made from {@code seed}. */
        int grantFrame(int len, int seed) {
            long f = evil.allocFrame();
            byte[] fr = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), len, seed);
            MemorySegment.copy(fr, 0, evil.page(f), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, len);
            int ref = evil.claimGrantRefs(1);
            evil.grantAccess(ref, 0, f, true);
            return ref;
        }

        List<String> events() {
            return b.anomalies.stream().map(a -> a.inIface() + " " + a.event() + " " + a.code())
                    .collect(Collectors.toList());
        }

        /** dom2 still gets its frames rebuilt. */
        void othersGoOn() {
            int before = b.tapped.size();
            b.send(2, Bench.frame(GW, Bench.mac(TapFramesTest.MAC2), 1514, 9), 0, 0);
            b.fromOutside(Bench.frame(Bench.mac(TapFramesTest.MAC2), GW, 700, 10), 0);
            List<Bench.Seen> after = b.tapped.subList(before, b.tapped.size());
            assertEquals(2, after.stream().filter(s -> s.domid() == 2).count(), () -> "dom2 after: " + after);
        }
    }

    @Test
    void runtFrameIsReportedWithItsSlotAndTheVifGoesOn() {
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
            Setup s = new Setup();
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
        Setup s = new Setup();
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

    private static List<Boolean> checkedOf(Setup s, int domid, int direction) {
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.txRequests(s.grantFrame(200), 4000, 0, 200);
        assertEquals(List.of("dom1/vif0/tx tx.offset_size_past_page " + slot), s.events());
        s.othersGoOn();
    }

    @Test
    void grantRefsNotGrantedOrOutOfRangeAreReportedPerSlot() {
        Setup s = new Setup();
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
        Setup s = new Setup();
        Netif.Sring.reqProd(s.tx, 0, Netif.Sring.rspProd(s.tx, 0) + 5000);
        s.kick(s.txPort);
        assertEquals(List.of("dom1/vif0/tx tx.req_prod_overrun " + ((Netif.Sring.rspProd(s.tx, 0) + 5000) & 255)),
                s.events());
        s.othersGoOn();
    }

    @Test
    void requestRewrittenAfterTheTapReadItIsReportedAsRingChanged() {
        Setup s = new Setup();
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
        Setup s = new Setup();
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
     * The guest rewrites the ref of a packet's second slot after the tap read it: netback copies
     * the head and takes the new ref, which no slot holds. The tap reads the packet's requests
     * again, finds one changed, and gives the packet up there and then: a slot_rewritten anomaly
     * naming its slot, counted as lost. Every later packet is rebuilt with its own bytes. It once
     * held every later packet of the ring back until the ring was reported overrun, which netback
     * never saw, and given up.
     */
    @Test
    void aPacketWhoseSlotWasRewrittenUnderTheTapIsLostAndTheRingGoesOn() {
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        List<Bench.Seen> rebuilt = txOf(s, 1);
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
        Setup s = new Setup();
        int prod = secondSlotRewrittenAfterTheKick(s, true);
        s.txRequests(s.grantFrame(100, 1), 0, 0, 100);
        s.txRequests(s.grantFrame(100, 2), 0, 0, 100);
        assertEquals(0, txOf(s, 1).size(), "waiting behind P");
        // P's second slot changed for good, then a packet whose head is rewritten after the kick.
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), s.grantFrame(400), 0, 0, 1, 400);
        int r = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(r, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, s.grantFrame(300, 3), 0, 0, 0, 300);
        s.publishAndKick(r + 1);
        Netif.TxRequest.set(s.tx, at, s.grantFrame(300, 4), 0, 0, 0, 300);
        s.b.host.runPending();
        s.txRequests(s.grantFrame(200, 5), 0, 0, 200);
        List<Bench.Seen> rebuilt = txOf(s, 1);
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
        Setup s = new Setup();
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
        changeBeforeNetbacksCopy(s, 2, () -> rPage.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 50, (byte) 0x5a));
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        rebuiltOnlyAsSent(s, uplinkBefore, 2, "netback sent P and R");
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
        Setup s = new Setup();
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
        changeBeforeNetbacksCopy(s, 3, () -> rPage.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 30, (byte) 0x5a));
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(2, sent.size(), "netback sent P and R");
        List<Bench.Seen> rebuilt = txOf(s, 1);
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
        Setup s = new Setup();
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
        rebuiltOnlyAsSent(s, uplinkBefore, 3, "netback sent P, R and the last one");
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
        joinedAfterTheKick(new Setup(), 100, 28, 128);
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
        joinedAfterTheKick(new Setup(), 128, 200, 328).othersGoOn();
    }

    /**
     * P ({@code pLen} bytes) and Q ({@code qLen}) published and kicked (the tap reads them), then
     * P's request rewritten to {@code joinedLen} bytes with more data before netback reads it:
     * netback sends one frame. The tap rebuilds it as netback sent it, or reports and counts it.
     */
    private static Setup joinedAfterTheKick(Setup s, int pLen, int qLen, int joinedLen) {
        int p = s.grantFrame(pLen, 1), q = s.grantFrame(Math.max(qLen, 100), 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, p, 0, 0, 0, pLen);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), q, 0, 0, 1, qLen);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at0, p, 0, NETTXF_more_data, 0, joinedLen);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(1, sent.size(), "netback sent one frame");
        List<Bench.Seen> rebuilt = txOf(s, 1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())),
                    "rebuilt with bytes netback did not send: " + f.bytes().length + " bytes " + s.events());
        }
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
        Setup s = new Setup();
        s.txRequests(s.grantFrame(128, 1), 0, 0, 128, s.grantFrame(128, 2), 0, 0, 128, s.grantFrame(60, 3), 0, 0, 60);
        s.txRequests(s.grantFrame(400, 4), 0, 0, 400);
        s.txRequests(s.grantFrame(128, 5), 0, 0, 128, s.grantFrame(90, 6), 0, 0, 90);
        org.xenids.xen.emu.Toolstack.detachVif(s.b.host, s.vif1);
        List<String> rebuilt = txOf(s, 1).stream().map(f -> java.util.Arrays.toString(f.bytes())).toList();
        int[][] sent = {{128, 1}, {128, 2}, {60, 3}, {400, 4}, {128, 5}, {90, 6}};
        List<String> want = java.util.Arrays.stream(sent)
                .map(f -> java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), f[0], f[1]))).toList();
        assertEquals(want, rebuilt);
        assertEquals(0, s.counters(1).lost(), s.counters(1).toString());
        assertEquals(List.of(), s.events());
    }

    /**
     * A packet whose first slot names a ref the guest never granted: netback's copy of it fails,
     * its copy of the second slot's first bytes succeeds, and netback drops the packet. The tap
     * counts it once, as a drop: the second slot's copy, landing right after where the failed
     * one was to land, is not a packet netback began there.
     */
    @Test
    void aPacketWhoseHeadCopyFailsIsCountedOnceAsADrop() {
        Setup s = new Setup();
        int head = s.evil.claimGrantRefs(1), rest = s.grantFrame(200, 2);
        int slot = Netif.Sring.reqProd(s.tx, 0) & 255;
        s.txRequests(head, 0, NETTXF_more_data, 300, rest, 0, 0, 200);
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.drops(), c.toString());
        assertEquals(0, c.lost(), c.toString());
        assertEquals(List.of("dom1/vif0/tx tx.gref_not_granted " + slot), s.events());
        s.othersGoOn();
    }

    /**
     * The other way: P, one slot of 100 bytes and one of 28, read by the tap; then P's first
     * request says 100 bytes and no more data, so that netback takes two packets, each copied
     * whole into its own buffer, whose copies name P's slots as the tap awaits them. The tap must
     * not rebuild P as one frame of 128 bytes, which netback never sent.
     */
    @Test
    void aPacketTheGuestSplitAfterTheTapReadItIsNotRebuiltWhole() {
        Setup s = new Setup();
        int p = s.grantFrame(100, 1), f = s.grantFrame(100, 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, p, 0, NETTXF_more_data, 0, 128);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), f, 0, 0, 1, 28);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at0, p, 0, 0, 0, 100);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(2, sent.size(), "netback sent two frames");
        List<Bench.Seen> rebuilt = txOf(s, 1);
        for (Bench.Seen fr : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(fr.bytes())),
                    "rebuilt with bytes netback did not send: " + fr + " " + s.events());
        }
        assertTrue(rebuilt.size() + s.counters(1).lost() >= 2 && (rebuilt.size() == 2 || !s.events().isEmpty()),
                "each frame rebuilt, or reported and counted lost: " + s.counters(1) + " " + s.events());
    }

    /** Runs {@code change} (the guest, on another vCPU) as op {@code index} of netback's first copy call is about to apply. */
    private static void changeBeforeNetbacksCopy(Setup s, int index, Runnable change) {
        boolean[] done = new boolean[1];
        s.b.host.addListener(new org.xenids.xen.event.HypercallListener() {
            @Override
            public boolean allow(org.xenids.xen.event.Hypercall c, int i) {
                if (!done[0] && i == index && c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op
                        && c.cmd() == GNTTABOP_copy) {
                    done[0] = true;
                    change.run();
                }
                return true;
            }

            @Override
            public void completed(org.xenids.xen.event.Hypercall c) {
            }
        });
    }

    /**
     * A two-slot packet published and kicked (the tap reads it), then its second slot's ref
     * changed before netback runs; with {@code putBack}, changed back once netback has read the
     * requests, before its first grant op. Returns the packet's request index.
     */
    private static int secondSlotRewrittenAfterTheKick(Setup s, boolean putBack) {
        int head = s.grantFrame(100), rest = s.grantFrame(400), other = s.grantFrame(400);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        long at1 = Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at1, other, 0, 0, 1, 400);
        if (putBack) {
            putBackAtNetbacksFirstOp(s, () -> Netif.TxRequest.set(s.tx, at1, rest, 0, 0, 1, 400));
        }
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        assertEquals(1, s.b.uplink.stream().skip(uplinkBefore).filter(f -> f.length == 500).count(), "netback sent it");
        return prod;
    }

    /** Runs {@code putBack} (the guest, on another vCPU) as netback's first grant op is about to apply. */
    private static void putBackAtNetbacksFirstOp(Setup s, Runnable putBack) {
        boolean[] done = new boolean[1];
        s.b.host.addListener(new org.xenids.xen.event.HypercallListener() {
            @Override
            public boolean allow(org.xenids.xen.event.Hypercall c, int index) {
                if (!done[0] && c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op) {
                    done[0] = true;
                    putBack.run();
                }
                return true;
            }

            @Override
            public void completed(org.xenids.xen.event.Hypercall c) {
            }
        });
    }

    /**
     * Sends {@code n} packets of {@code len} bytes, one a kick; returns dom1's TX frames the tap
     * rebuilt so far, each checked to hold the bytes of a packet that was sent.
     */
    private static List<Bench.Seen> sendNormal(Setup s, int n, int len) {
        java.util.Set<String> sent = new java.util.HashSet<>();
        for (int i = 0; i < n; i++) {
            s.txRequests(s.grantFrame(len, 100 + i), 0, 0, len);
            sent.add(java.util.Arrays.toString(Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), len, 100 + i)));
        }
        List<Bench.Seen> rebuilt = txOf(s, 1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())), "rebuilt with bytes that were sent");
        }
        return rebuilt;
    }

    /**
     * Netback sent {@code n} frames out the uplink since {@code uplinkBefore} ({@code what}); every
     * TX frame of dom1 the tap rebuilt is one of them byte for byte, and each packet was rebuilt,
     * counted lost or is still held.
     */
    private static void rebuiltOnlyAsSent(Setup s, int uplinkBefore, int n, String what) {
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(n, sent.size(), what);
        List<Bench.Seen> rebuilt = txOf(s, 1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())),
                    "rebuilt with bytes netback did not send: " + f + " " + s.events());
        }
        assertEquals(n, rebuilt.size() + s.counters(1).lost() + s.b.tap.unfinished().txPackets(),
                "each packet rebuilt, counted lost or still held: " + s.counters(1));
    }

    private static List<Bench.Seen> txOf(Setup s, int domid) {
        return s.b.tapped.stream().filter(f -> f.domid() == domid && f.direction() == Tap.TX).toList();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
        Setup s = new Setup();
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
    private static int headRewrittenAfterTheKick(Setup s, boolean putBack) {
        int ref = s.grantFrame(400), other = s.grantFrame(400);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at = Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE);
        Netif.TxRequest.set(s.tx, at, ref, 0, 0, 0, 400);
        s.publishAndKick(prod + 1);
        Netif.TxRequest.set(s.tx, at, other, 0, 0, 0, 400);
        if (putBack) {
            putBackAtNetbacksFirstOp(s, () -> Netif.TxRequest.set(s.tx, at, ref, 0, 0, 0, 400));
        }
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        assertEquals(1, s.b.uplink.stream().skip(uplinkBefore).filter(f -> f.length == 400).count(), "netback sent it");
        return prod;
    }

    @Test
    void rspProdScribbledByTheGuestIsReported() {
        Setup s = new Setup();
        Netif.Sring.rspProd(s.rx, 0, Netif.Sring.rspProd(s.rx, 0) + 3000);
        s.b.fromOutside(Bench.frame(Bench.mac(TapFramesTest.MAC1), GW, 100, 3), 0);
        assertTrue(s.events().stream().anyMatch(e -> e.startsWith("dom1/vif0/rx rx.")), () -> s.events().toString());
        s.othersGoOn();
    }

    @Test
    void randomGarbageInBothRingsNeverStopsTheTap() {
        java.util.Random rnd = new java.util.Random(42);
        for (int round = 0; round < Integer.getInteger("tap.fuzzRounds", 40); round++) {
            Setup s = new Setup();
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
