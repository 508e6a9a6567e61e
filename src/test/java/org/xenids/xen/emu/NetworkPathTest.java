package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;

/** Frames through netfront, netback and the bridge arrive byte-exact, with Linux's op shapes. */
class NetworkPathTest {
    static final byte[] MAC1 = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
    static final byte[] MAC2 = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x03};
    static final byte[] OUTSIDE = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

    XenHost host;
    Bridge bridge;
    Toolstack.Vif vif1, vif2;
    final List<byte[]> uplink = new ArrayList<>();
    final List<byte[]> guest1 = new ArrayList<>();
    final List<byte[]> guest2 = new ArrayList<>();
    final List<String> ops = new ArrayList<>();
    final List<int[]> copies = new ArrayList<>(); // flags, len, srcDomid, srcOffset, dstDomid, dstOffset, count
    final List<int[]> maps = new ArrayList<>();   // flags, status, count
    final Random rnd = new Random(7);

    @BeforeEach
    void setUp() {
        host = new XenHost(1 << 15);
        host.createDomain(0, "Domain-0", 8192);
        for (int d = 1; d <= 2; d++) {
            Toolstack.bootGrantTable(host, host.createDomain(d, "guest" + d, 4096), 4);
        }
        bridge = new Bridge(host.domain(0), (b, n) -> uplink.add(Arrays.copyOf(b, n)));
        vif1 = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1, (b, n) -> guest1.add(Arrays.copyOf(b, n)));
        vif2 = Toolstack.addVif(host, 2, 0, "00:16:3e:00:00:03", bridge, 1, (b, n) -> guest2.add(Arrays.copyOf(b, n)));
        host.runPending();
        assertTrue(vif1.back().connected() && vif2.back().connected());
        host.addListener(c -> {
            if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_copy) {
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * Gnttab.Copy.SIZE;
                    copies.add(new int[] {Gnttab.Copy.flags(c.args(), at), Gnttab.Copy.len(c.args(), at),
                        Gnttab.Copy.srcDomid(c.args(), at), Gnttab.Copy.srcOffset(c.args(), at),
                        Gnttab.Copy.dstDomid(c.args(), at), Gnttab.Copy.dstOffset(c.args(), at), c.count(),
                        Gnttab.Copy.status(c.args(), at)});
                    ops.add("copy" + Gnttab.Copy.flags(c.args(), at));
                }
            } else if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_map_grant_ref) {
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * Gnttab.Map.SIZE;
                    maps.add(new int[] {Gnttab.Map.flags(c.args(), at), Gnttab.Map.status(c.args(), at), c.count()});
                    ops.add("map");
                }
            } else if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_unmap_grant_ref) {
                for (int i = 0; i < c.count(); i++) {
                    assertEquals(GNTST_okay, Gnttab.Unmap.status(c.args(), (long) i * Gnttab.Unmap.SIZE));
                    ops.add("unmap");
                }
            } else if (c.op() == __HYPERVISOR_event_channel_op && c.cmd() == EVTCHNOP_send) {
                ops.add("S" + c.callerDomid() + ":" + Evtchn.PortOp.port(c.args(), 0));
            }
        });
    }

    byte[] frame(byte[] dst, byte[] src, int len) {
        byte[] f = new byte[len];
        rnd.nextBytes(f);
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        return f;
    }

    /** A page of dom1 holding {@code bytes} at {@code off}, granted to dom0: returns its ref. */
    int grantedPage(byte[] bytes, int off) {
        Domain g = host.domain(1);
        long page = g.allocFrame();
        int ref = g.claimGrantRefs(1);
        g.grantAccess(ref, 0, page, true);
        java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(bytes), 0, g.page(page), off, bytes.length);
        return ref;
    }

    @Test
    void guestFramesReachTheUplinkByteExactWithCopiedHeadsAndMappedRest() {
        int[] sizes = {42, 60, 128, 129, 1514, 4000, 9000, 65535};
        for (int len : sizes) {
            byte[] f = frame(OUTSIDE, MAC1, len);
            int gso = len > 1514 ? 1448 : 0;
            assertTrue(vif1.front().transmit(f, 0, len, gso, gso > 0 ? XEN_NETIF_GSO_TYPE_TCPV4 : 0));
            host.runPending();
            assertArrayEquals(f, uplink.get(uplink.size() - 1), "frame of " + len);
        }
        assertEquals(sizes.length, uplink.size());
        int txCopies = 0;
        for (int[] c : copies) {
            if (c[0] == GNTCOPY_source_gref) {
                txCopies++;
                assertTrue(c[1] <= 128);
                assertEquals(1, c[2]);
                assertEquals(DOMID_SELF, c[4]);
                assertEquals(GNTST_okay, c[7]);
            }
        }
        assertEquals(sizes.length, txCopies, "one head copy per packet (no head crosses a slot here)");
        for (int[] m : maps) {
            assertEquals(GNTMAP_host_map | GNTMAP_readonly, m[0]);
            assertEquals(GNTST_okay, m[1]);
        }
        // 1 map for 129, 1514 and 4000 (+1 if it crosses a page), 65535 B in 16-17 slots.
        assertTrue(maps.size() >= 1 + 1 + 1 + 2 + 16, "maps " + maps.size());
        assertEquals(maps.size(), ops.stream().filter("unmap"::equals).count(), "every map is unmapped");
        long[] fc = vif1.front().counters();
        assertEquals(0, fc[1] + fc[2] + fc[5], "no drop, error, or grant left in use: " + Arrays.toString(fc));
        assertEquals(sizes.length, vif1.back().counters()[0]);
        assertTrue(guest1.isEmpty() && guest2.isEmpty() || guest2.size() == sizes.length, "flooded to guest2 only");
    }

    @Test
    void uplinkFramesReachTheGuestByteExactInSixtyFourCopyBatches() {
        // Learn guest1's MAC so frames are forwarded to it only.
        vif1.front().transmit(frame(OUTSIDE, MAC1, 60), 0, 60, 0, 0);
        host.runPending();
        copies.clear();
        guest2.clear();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int len = i % 3 == 0 ? 1514 : 42 + rnd.nextInt(1400);
            byte[] f = frame(MAC1, OUTSIDE, len);
            sent.add(f);
            bridge.fromUplink(f, 0, len, 0);
        }
        byte[] big = frame(MAC1, OUTSIDE, 30000);
        sent.add(big);
        bridge.fromUplink(big, 0, big.length, 1448);
        host.runPending();
        assertEquals(sent.size(), guest1.size());
        for (int i = 0; i < sent.size(); i++) {
            assertArrayEquals(sent.get(i), guest1.get(i), "frame " + i);
        }
        assertTrue(guest2.isEmpty(), "forwarded, not flooded");
        for (int[] c : copies) {
            assertEquals(GNTCOPY_dest_gref, c[0]);
            assertEquals(DOMID_SELF, c[2]);
            assertEquals(1, c[4]);
            assertTrue(c[6] <= 64, "at most 64 copies per hypercall");
            assertTrue(c[5] + c[1] <= 4096 && c[3] % 4096 + c[1] <= 4096, "chunks never cross a page");
        }
        assertEquals(64, copies.get(0)[6]);
        assertEquals(2, copies.get(0)[3], "dom0 buffers start at NET_IP_ALIGN, as in the real trace");
    }

    @Test
    void guestToGuestCopiesTheMappedPartFromTheSendersGrant() {
        vif2.front().transmit(frame(OUTSIDE, MAC2, 60), 0, 60, 0, 0);
        host.runPending();
        copies.clear();
        byte[] f = frame(MAC2, MAC1, 1514);
        vif1.front().transmit(f, 0, f.length, 0, 0);
        host.runPending();
        assertArrayEquals(f, guest2.get(guest2.size() - 1));
        List<String> rx = new ArrayList<>();
        for (int[] c : copies) {
            if ((c[0] & GNTCOPY_dest_gref) != 0) {
                rx.add(c[0] + "/" + (c[2] == DOMID_SELF ? "self" : "d" + c[2]) + "/" + c[1]);
            }
        }
        assertEquals(List.of("2/self/128", "3/d1/1386"), rx);
        assertEquals(0, vif1.front().counters()[5], "the sender's grant is free once the receiver has its copy");
    }

    @Test
    void perPacketHypercallPatternsMatchTheRealTrace() {
        // Real trace (vif ports: dom0 18 = TX, 19 = RX, guest 8 = TX): an RX frame is "copy2 S0:19",
        // a small TX frame "S1:8 copy1 S0:18", a large one "S1:8 copy1 map unmap S0:18".
        vif1.front().transmit(frame(OUTSIDE, MAC1, 60), 0, 60, 0, 0);
        host.runPending();
        ops.clear();
        bridge.fromUplink(frame(MAC1, OUTSIDE, 98), 0, 98, 0);
        host.runPending();
        vif1.front().transmit(frame(OUTSIDE, MAC1, 98), 0, 98, 0, 0);
        host.runPending();
        vif1.front().transmit(frame(OUTSIDE, MAC1, 1514), 0, 1514, 0, 0);
        host.runPending();
        String dtx = "S0:" + port(0, "/local/domain/1/device/vif/0/event-channel-tx");
        String drx = "S0:" + port(0, "/local/domain/1/device/vif/0/event-channel-rx");
        String gtx = "S1:" + host.xenstore().read("/local/domain/1/device/vif/0/event-channel-tx");
        assertEquals(List.of("copy2", drx, gtx, "copy1", dtx, gtx, "copy1", "map", "unmap", dtx), ops);
    }

    /** The dom0 port bound to a guest port named in xenstore (found through the bind events' effect). */
    private int port(int dom, String key) {
        int guestPort = Integer.parseInt(host.xenstore().read(key));
        Domain g = host.domain(1);
        return g.evRemotePort[guestPort];
    }

    @Test
    void tooManySlotsAreDroppedAndAMaliciousCountDisablesTheVif() {
        Netfront nf = vif1.front();
        byte[] head = frame(OUTSIDE, MAC1, 100);
        int ref = grantedPage(head, 0);
        // 19 slots (18 follow-on) is Linux's limit: accepted. Its first slot (100 bytes of its own)
        // is copied whole, and 28 bytes of the second, to make the 128-byte head; the rest is mapped.
        nf.rawTx(19, ref, 100);
        host.runPending();
        byte[] got = uplink.get(uplink.size() - 1);
        assertEquals(1900, got.length);
        assertArrayEquals(head, Arrays.copyOfRange(got, 1800, 1900));
        assertEquals(List.of(100, 28), copies.stream().filter(c -> c[0] == GNTCOPY_source_gref).map(c -> c[1]).toList());
        assertEquals(18, maps.size());
        assertEquals(0, nf.counters()[2]);
        // 20 slots of 100 bytes: beyond the 18 follow-on slots Linux accepts.
        nf.rawTx(20, ref, 100);
        host.runPending();
        long[] bc = vif1.back().counters();
        assertEquals(1, bc[1], "dropped");
        assertEquals(1, bc[0], "only the 19-slot packet went through");
        assertEquals(0, bc[5], "still enabled");
        assertEquals(20, nf.counters()[2], "every slot answered with an error");
        nf.rawTx(22, ref, 100);
        host.runPending();
        assertEquals(1, vif1.back().counters()[5], "disabled");
    }

    /**
     * Of a packet with 17 slots or more after its first, netback copies the whole first slot (so
     * that the rest fits the skb's frags), into a head that crosses a dom0 page when the slot holds
     * more than 4032 bytes: then in two copies, none crossing a page. Fewer slots: 128 bytes.
     */
    @Test
    void aPacketOfEighteenSlotsOrMoreHasItsWholeFirstSlotCopiedInCopiesThatNeverCrossAPage() {
        Netfront nf = vif1.front();
        byte[] bytes = frame(OUTSIDE, MAC1, 4090);
        int ref = grantedPage(bytes, 6);
        int[][] cases = {{18, 4090}, {19, 2000}, {17, 2000}, {18, 100}};
        List<List<Integer>> copyLens = new ArrayList<>();
        List<Integer> mapCounts = new ArrayList<>();
        for (int[] c : cases) {
            copies.clear();
            maps.clear();
            int slots = c[0], first = c[1];
            nf.rawTxFirst(slots, ref, first, 100, 6);
            host.runPending();
            byte[] want = new byte[first + 100 * (slots - 1)];
            System.arraycopy(bytes, 0, want, 0, first);
            for (int k = 1; k < slots; k++) {
                System.arraycopy(bytes, 0, want, first + 100 * (k - 1), 100);
            }
            assertArrayEquals(want, uplink.get(uplink.size() - 1), slots + " slots, first of " + first);
            List<int[]> tx = copies.stream().filter(x -> x[0] == GNTCOPY_source_gref).toList();
            copyLens.add(tx.stream().map(x -> x[1]).toList());
            mapCounts.add(maps.size());
            for (int[] x : tx) {
                assertTrue(x[5] + x[1] <= 4096 && x[3] + x[1] <= 4096, "no copy crosses a page");
                assertEquals(GNTST_okay, x[7]);
            }
            if (slots == 18 && first == 4090) {
                assertEquals(List.of(6, 6 + 4032), tx.stream().map(x -> x[3]).toList(), "the slot's rest goes on");
                assertEquals(List.of(64, 0), tx.stream().map(x -> x[5]).toList(), "into the head's second page");
            }
        }
        assertEquals(List.of(List.of(4032, 58), List.of(2000), List.of(128), List.of(100, 28)), copyLens);
        assertEquals(List.of(17, 18, 17, 17), mapCounts);
        assertEquals(0, nf.counters()[2], "no error answers");
        assertEquals(4, vif1.back().counters()[0]);
    }

    /** A two-page head reaches another guest byte-exact: netback's RX copies split at its page end. */
    @Test
    void aTwoPageHeadIsCopiedToAnotherGuestByteExact() {
        vif2.front().transmit(frame(OUTSIDE, MAC2, 60), 0, 60, 0, 0);
        host.runPending();
        byte[] bytes = frame(MAC2, MAC1, 4096);
        int ref = grantedPage(bytes, 0);
        copies.clear();
        vif1.front().rawTxFirst(18, ref, 4096, 50, 0);
        host.runPending();
        byte[] want = new byte[4096 + 17 * 50];
        System.arraycopy(bytes, 0, want, 0, 4096);
        for (int k = 0; k < 17; k++) {
            System.arraycopy(bytes, 0, want, 4096 + 50 * k, 50);
        }
        assertArrayEquals(want, guest2.get(guest2.size() - 1));
        List<Integer> fromHead = copies.stream().filter(c -> c[0] == GNTCOPY_dest_gref).map(c -> c[1]).toList();
        assertEquals(List.of(4032, 64), fromHead, "the head's two pages, each copied apart");
    }

    /** dom0 short of memory: the packet netback cannot allocate an skb for is answered with errors, the next goes. */
    @Test
    void aPacketNetbackCannotAllocateAnSkbForIsAnsweredWithErrors() {
        vif1.back().failSkbAllocations(1);
        byte[] f = frame(OUTSIDE, MAC1, 300);
        assertTrue(vif1.front().transmit(f, 0, 300, 0, 0));
        host.runPending();
        assertTrue(uplink.isEmpty());
        assertEquals(List.of(), copies);
        assertEquals(1, vif1.back().counters()[1], "dropped");
        assertEquals(0, vif1.back().counters()[5], "still enabled");
        assertTrue(vif1.front().transmit(f, 0, 300, 0, 0));
        host.runPending();
        assertArrayEquals(f, uplink.get(0));
    }

    @Test
    void slotCrossingItsPageDisablesTheVif() {
        Domain g = host.domain(1);
        int ref = g.claimGrantRefs(1);
        g.grantAccess(ref, 0, g.allocFrame(), true);
        vif1.front().rawTx(1, ref, 200, 4000, 0);
        host.runPending();
        assertEquals(1, vif1.back().counters()[5]);
        assertTrue(uplink.isEmpty());
    }

    @Test
    void producerIndexBeyondTheRingDisablesTheVif() {
        Domain g = host.domain(1);
        int ref = g.claimGrantRefs(1);
        g.grantAccess(ref, 0, g.allocFrame(), true);
        vif1.front().rawTx(1, ref, 60, 0, 1000);
        host.runPending();
        assertEquals(1, vif1.back().counters()[5]);
        assertTrue(uplink.isEmpty());
        // Disabled: netback reads the ring no more, so a valid frame after it goes nowhere.
        vif1.front().transmit(frame(OUTSIDE, MAC1, 60), 0, 60, 0, 0);
        host.runPending();
        assertTrue(uplink.isEmpty());
        assertEquals(0, vif1.back().counters()[0], "nothing forwarded");
    }

    @Test
    void forgedGrefInARequestFailsTheCopyAndIsAnsweredWithAnError() {
        vif1.front().rawTx(1, 3000, 60, 0, 0); // ref 3000 is beyond the guest's 2048-entry table
        host.runPending();
        assertEquals(GNTST_bad_gntref, copies.get(copies.size() - 1)[7]);
        assertEquals(1, vif1.back().counters()[2], "failed");
        assertEquals(0, vif1.back().counters()[5], "a bad gref is not fatal");
        assertEquals(1, vif1.front().counters()[2], "error response");
        assertTrue(uplink.isEmpty());
    }
}
