package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Xen;

/** Frames rebuilt by the tap against what the guests' drivers really sent and received. */
class TapFramesTest {
    static final String MAC1 = "00:16:3e:00:00:01", MAC2 = "00:16:3e:00:00:02";
    static final byte[] GW = Bench.mac("fe:ff:ff:ff:ff:ff");

    /** Same frames per domain and direction, in order (the two sides interleave differently). */
    static void assertSame(List<Bench.Seen> exp, List<Bench.Seen> tap) {
        assertEquals(exp.size(), tap.size(), () -> "frames: expected " + exp + "\n got " + tap);
        java.util.Comparator<Bench.Seen> byWhere = java.util.Comparator.comparingInt(Bench.Seen::domid)
                .thenComparingInt(Bench.Seen::direction);
        List<Bench.Seen> expected = exp.stream().sorted(byWhere).toList();
        List<Bench.Seen> got = tap.stream().sorted(byWhere).toList();
        for (int i = 0; i < expected.size(); i++) {
            Bench.Seen e = expected.get(i);
            Bench.Seen g = got.get(i);
            assertEquals(e.domid(), g.domid(), "domain of frame " + i);
            assertEquals(e.direction(), g.direction(), "direction of frame " + i);
            assertArrayEquals(e.bytes(), g.bytes(), "bytes of frame " + i + " " + e);
        }
    }

    @Test
    void discoversSplitChannelRingsByContent() {
        Bench b = new Bench();
        b.guestOrdered(1, MAC1, 1);
        List<Tap.Ring> rings = b.tap.rings();
        assertEquals(1, rings.size());
        Tap.Ring r = rings.get(0);
        assertEquals(1, r.front());
        assertEquals(0, r.backend());
        assertEquals("dom1/vif0/tx", r.txName());
        assertTrue(r.split(), "Linux netback offers split event channels");
        assertTrue(r.toldApartByContent(), "the RX ring holds 256 posted buffers at connect time");
    }

    @Test
    void everyFrameBothWaysIsRebuiltByteForByteWhateverItsSize() {
        Bench b = new Bench();
        b.guestOrdered(1, MAC1, 1);
        byte[] me = Bench.mac(MAC1);
        int[] sizes = {14, 60, 64, 127, 128, 129, 200, 1000, 1514, 3000, 4000, 4096, 4097, 8000};
        int seed = 0;
        for (int n : sizes) {
            assertTrue(b.send(1, Bench.frame(GW, me, n, seed++), 0, 0));
            b.fromOutside(Bench.frame(me, GW, n, seed++), 0);
        }
        assertSame(b.delivered, b.tapped);
        assertEquals(2 * sizes.length, b.tapped.size());
        assertEquals(0, b.tap.unclassified());
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    @Test
    void gsoSuperFramesUpTo64KiBAreWholeFrames() {
        Bench b = new Bench();
        b.guestOrdered(1, MAC1, 1);
        byte[] me = Bench.mac(MAC1);
        int seed = 7;
        for (int n : new int[] {9014, 30000, 65535}) {
            assertTrue(b.send(1, Bench.frame(GW, me, n, seed++), 1448, Xen.XEN_NETIF_GSO_TYPE_TCPV4));
            b.fromOutside(Bench.frame(me, GW, n, seed++), 1448);
        }
        assertSame(b.delivered, b.tapped);
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    @Test
    void guestToGuestIsTheSendersTxAndTheReceiversRxNamingTheSender() {
        Bench b = new Bench();
        b.guestOrdered(1, MAC1, 1);
        b.guestOrdered(2, MAC2, 1);
        byte[] m1 = Bench.mac(MAC1);
        byte[] m2 = Bench.mac(MAC2);
        // Each guest speaks once so the bridge learns where it is.
        b.send(1, Bench.frame(GW, m1, 60, 1), 0, 0);
        b.send(2, Bench.frame(GW, m2, 60, 2), 0, 0);
        int before = b.tapped.size();
        for (int n : new int[] {60, 128, 129, 1514, 5000}) {
            assertTrue(b.send(1, Bench.frame(m2, m1, n, n), 0, 0));
        }
        assertSame(b.delivered, b.tapped);
        List<Bench.Seen> g2g = b.tapped.subList(before, b.tapped.size());
        assertEquals(10, g2g.size(), "each of the 5 frames as dom1's TX and dom2's RX: " + g2g);
        for (Bench.Seen s : g2g) {
            if (s.direction() == Tap.RX) {
                assertEquals(2, s.domid());
                assertEquals(1, s.peer(), () -> "RX at dom2 names the sender: " + s);
            } else {
                assertEquals(1, s.domid());
                assertEquals(-1, s.peer());
            }
        }
    }
}
