package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;

/**
 * Packets of 18 slots or more, whose first slot netback copies whole (Linux 6.1
 * xenvif_tx_build_gops: data_len = the first slot's own size when 17 slots or more follow),
 * into a head buffer that crosses a dom0 page when the slot is nearly a page long: then in two
 * copies, none crossing a page.
 */
class WholeFirstSlotTest {
    private static final int SZ = Netif.TxRequest.SIZE;

    /** Requests {gref, offset, flags, size} of an 18-slot packet: a first slot of {@code first} bytes of its own, then 17 of 100. */
    private static int[] eighteenSlots(HostileGuest s, int first, int seed) {
        int[] req = new int[18 * 4];
        for (int i = 0; i < 18; i++) {
            req[4 * i] = s.grantFrame(i == 0 ? first : 100, seed + i);
            req[4 * i + 2] = i < 17 ? NETTXF_more_data : 0;
            req[4 * i + 3] = i == 0 ? first + 100 * 17 : 100;
        }
        return req;
    }

    /**
     * Honest: packets of 18 and 19 slots whose first slot netback copies whole (4096 bytes, in two
     * copies as its head crosses a dom0 page; 2000 bytes, in one), then a small one, one kick.
     * Each is rebuilt as sent, with no anomaly.
     */
    @Test
    void packetsWhoseWholeFirstSlotNetbackCopiesAreRebuiltAsSentLiveAndFromTheirTrace() throws java.io.IOException {
        java.io.ByteArrayOutputStream trace = new java.io.ByteArrayOutputStream();
        HostileGuest s = new HostileGuest(trace);
        int[] big = eighteenSlots(s, 4096, 10);
        int[] req = Arrays.copyOf(big, big.length + 19 * 4 + 4);
        int at = big.length;
        for (int i = 0; i < 19; i++, at += 4) {
            req[at] = s.grantFrame(i == 0 ? 2000 : 100, 30 + i);
            req[at + 2] = i < 18 ? NETTXF_more_data : 0;
            req[at + 3] = i == 0 ? 2000 + 100 * 18 : 100;
        }
        req[at] = s.grantFrame(300, 60);
        req[at + 3] = 300;
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(req);
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(Arrays::toString).toList();
        List<String> rebuilt = s.txOf(1).stream().map(f -> Arrays.toString(f.bytes())).toList();
        assertEquals(List.of(5796, 3800, 300), s.b.uplink.stream().skip(uplinkBefore).map(b -> b.length).toList());
        assertTrue(sent.equals(rebuilt), () -> "rebuilt " + s.txOf(1).stream().map(f -> f.bytes().length).toList()
                + " " + s.events() + " " + s.counters(1));
        assertEquals(0, s.counters(1).lost());
        assertEquals(0, s.counters(1).unclassified());
        assertEquals(List.of(), s.events());
        s.b.recorder.close();
        List<Bench.Seen> replayed = new java.util.ArrayList<>();
        Tap[] tap = new Tap[1];
        Trace.replay(new java.io.ByteArrayInputStream(trace.toByteArray()), "t.trace",
                mem -> tap[0] = new Tap(mem, Bench.collector(replayed), a -> { }));
        assertTrue(rebuilt.equals(replayed.stream().filter(f -> f.domid() == 1 && f.direction() == Tap.TX)
                .map(f -> Arrays.toString(f.bytes())).toList()), "the trace holds the bytes of both copies");
        assertEquals(0, tap[0].failedReads());
    }

    /**
     * After the tap read an 18-slot packet with a 4096-byte first slot, the guest gives its second
     * slot {@code 100 + d} bytes, so that netback finds {@code 4096 − d} bytes of the first slot's
     * own and copies that: in one copy (d = 96), or in two whose second is not the rest the tap
     * read (d = 6). netback sends a frame the tap did not read: it is reported
     * (tx.chain_changed) and not rebuilt; the next packet is, and by then it is counted lost.
     */
    @Test
    void aFirstSlotNetbackCopiedShorterThanTheTapReadItIsNotRebuilt() {
        for (int d : new int[] {96, 6}) {
            HostileGuest s = new HostileGuest();
            int[] req = eighteenSlots(s, 4096, 10);
            int prod = Netif.Sring.reqProd(s.tx, 0);
            for (int i = 0; i < 18; i++) {
                Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + i, 256, SZ), req[4 * i], req[4 * i + 1],
                        req[4 * i + 2], i, req[4 * i + 3]);
            }
            int uplinkBefore = s.b.uplink.size();
            s.publishAndKick(prod + 18);
            Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod + 1, 256, SZ), req[4], 0, NETTXF_more_data, 1, 100 + d);
            s.b.host.runPending();
            List<Integer> sent = s.b.uplink.stream().skip(uplinkBefore).map(b -> b.length).toList();
            assertEquals(List.of(5796), sent, "netback sent it, as it read it");
            assertEquals(List.of(), s.txOf(1).stream().map(f -> f.bytes().length).toList(), "d=" + d);
            assertEquals(List.of("dom1/vif0/tx tx.chain_changed " + (prod & 255)), s.events(), "d=" + d);
            s.txRequests(s.grantFrame(300, 70), 0, 0, 300);
            assertEquals(List.of(300), s.txOf(1).stream().map(f -> f.bytes().length).toList(), "the next packet is rebuilt");
            assertEquals(1, s.counters(1).lost(), "d=" + d + " " + s.events());
            assertEquals(0, s.b.tap.unfinished().txPackets());
            s.othersGoOn();
        }
    }

    /**
     * Guest→guest: the 18-slot packet with a 4096-byte first slot goes to dom2. netback's RX copies
     * out of the two-page head, split at its page end; the tap rebuilds dom1's TX and dom2's RX as
     * the same bytes and names dom1 as the RX frame's sender, one frame in flow statistics.
     */
    @Test
    void aFirstSlotCopiedInTwoReachesAnotherGuestAsTheSendersFrame() {
        HostileGuest s = new HostileGuest();
        s.othersGoOn(); // dom2 has sent: the bridge knows where its MAC is
        int before = s.b.tapped.size();
        long page = s.evil.allocFrame();
        byte[] head = Bench.frame(Bench.mac(TapFramesTest.MAC2), Bench.mac(TapFramesTest.MAC1), 4096, 80);
        java.lang.foreign.MemorySegment.copy(head, 0, s.evil.page(page), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, 4096);
        int ref = s.evil.claimGrantRefs(1);
        s.evil.grantAccess(ref, 0, page, true);
        int[] req = eighteenSlots(s, 100, 90);
        req[0] = ref;
        req[3] = 4096 + 100 * 17;
        s.txRequests(req);
        List<Bench.Seen> seen = s.b.tapped.subList(before, s.b.tapped.size());
        List<Bench.Seen> tx = seen.stream().filter(f -> f.domid() == 1 && f.direction() == Tap.TX).toList();
        List<Bench.Seen> rx = seen.stream().filter(f -> f.domid() == 2 && f.direction() == Tap.RX).toList();
        assertEquals(1, tx.size(), seen::toString);
        assertEquals(1, rx.size(), seen::toString);
        assertEquals(5796, rx.get(0).bytes().length);
        assertTrue(Arrays.equals(tx.get(0).bytes(), rx.get(0).bytes()), "the same frame");
        assertTrue(Arrays.equals(head, Arrays.copyOf(rx.get(0).bytes(), 4096)), "its first slot as the guest wrote it");
        assertEquals(1, rx.get(0).peer(), "dom2's RX names dom1 as its sender");
        assertEquals(List.of(), s.events());
    }

    /**
     * The verdict refuses the first slot of an 18-slot packet with a 4096-byte first slot. Both
     * copies of the slot are put to it as the slot's and fail; netback drops the packet: it never
     * leaves, and the tap counts it refused once, both copies its own.
     */
    @Test
    void aRefusedFirstSlotCopiedInTwoKeepsThePacketFromLeaving() {
        HostileGuest s = new HostileGuest();
        int first = Netif.Sring.reqProd(s.tx, 0) & 255;
        List<Integer> asked = new java.util.ArrayList<>();
        s.b.tap.verdict((domid, vif, queue, dir, slot) -> {
            if (domid == 1 && dir == Tap.TX) {
                asked.add(slot);
            }
            return !(domid == 1 && dir == Tap.TX && slot == first);
        });
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(eighteenSlots(s, 4096, 10));
        assertEquals(0, s.b.uplink.size() - uplinkBefore, "netback dropped it");
        assertEquals(List.of(), s.txOf(1));
        assertEquals(List.of(first, first), asked.subList(0, 2), "both copies of the first slot were judged as its");
        assertEquals(1, s.counters(1).refused());
        assertEquals(0, s.counters(1).lost());
        assertEquals(0, s.counters(1).unclassified(), "the second copy is the slot's");
    }
}
