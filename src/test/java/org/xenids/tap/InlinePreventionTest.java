package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A tap verdict refuses copies and maps; Xen fails them, netback drops the packet, it never arrives. */
class InlinePreventionTest {
    static final byte[] GW = TapFramesTest.GW;

    @Test
    void refusedTxNeverLeavesTheHostAndTheGuestSeesErrors() {
        Bench b = new Bench();
        var v1 = b.guestOrdered(1, TapFramesTest.MAC1, 1);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        byte[] m1 = Bench.mac(TapFramesTest.MAC1);
        byte[] m2 = Bench.mac(TapFramesTest.MAC2);
        b.send(2, Bench.frame(GW, m2, 60, 1), 0, 0); // dom2 is known to the bridge
        b.tap.verdict((domid, vif, queue, dir, slot) -> !(domid == 1 && dir == Tap.TX));
        int uplinkBefore = b.uplink.size();
        long deliveredToDom2 = b.delivered.stream().filter(s -> s.domid() == 2 && s.direction() == Tap.RX).count();
        for (int n : new int[] {60, 128, 129, 1514, 6000}) {
            assertTrue(b.send(1, Bench.frame(GW, m1, n, n), 0, 0));
            assertTrue(b.send(1, Bench.frame(m2, m1, n, n + 1), 0, 0));
        }
        assertEquals(uplinkBefore, b.uplink.size(), "nothing from dom1 reached the uplink");
        assertEquals(deliveredToDom2, b.delivered.stream().filter(s -> s.domid() == 2 && s.direction() == Tap.RX).count(),
                "nothing from dom1 reached dom2");
        assertTrue(b.tapped.stream().noneMatch(s -> s.domid() == 1 && s.direction() == Tap.TX),
                "a refused frame is not reported as seen");
        Tap.Counters c = b.tap.counters().stream().filter(x -> x.domid() == 1).findFirst().orElseThrow();
        assertEquals(10, c.refused());
        assertEquals(0, c.anomalies(), "a refusal is the tap's own decision, not the guest's anomaly");
        long[] front = v1.front().counters();
        // One error response per slot: the 6000-byte frames take two slots each.
        assertEquals(14, front[2], "netfront got an error response for every slot of every refused packet");
        long[] back = v1.back().counters();
        assertEquals(10, back[2], "netback counted every refused packet as failed");
        // Other traffic is untouched, and lifting the verdict lets dom1 through again.
        b.tap.verdict(null);
        byte[] ok = Bench.frame(GW, m1, 700, 99);
        b.send(1, ok, 0, 0);
        assertTrue(b.uplink.stream().anyMatch(f -> Arrays.equals(f, ok)));
    }

    @Test
    void refusedRxNeverReachesTheGuestsStack() {
        Bench b = new Bench();
        var v1 = b.guestOrdered(1, TapFramesTest.MAC1, 1);
        byte[] m1 = Bench.mac(TapFramesTest.MAC1);
        b.send(1, Bench.frame(GW, m1, 60, 1), 0, 0);
        b.tap.verdict((domid, vif, queue, dir, slot) -> dir != Tap.RX);
        long before = b.delivered.stream().filter(s -> s.direction() == Tap.RX).count();
        for (int n : new int[] {60, 1514, 9000}) {
            b.fromOutside(Bench.frame(m1, GW, n, n), 0);
        }
        assertEquals(before, b.delivered.stream().filter(s -> s.direction() == Tap.RX).count());
        assertTrue(b.tapped.stream().noneMatch(s -> s.direction() == Tap.RX));
        Tap.Counters c = b.tap.counters().stream().filter(x -> x.domid() == 1).findFirst().orElseThrow();
        assertEquals(3, c.refused());
        assertEquals(3, v1.front().counters()[4], "netfront saw three packets with error status");
        b.tap.verdict(null);
        byte[] ok = Bench.frame(m1, GW, 1000, 5);
        b.fromOutside(ok, 0);
        assertTrue(b.delivered.stream().anyMatch(s -> s.direction() == Tap.RX && Arrays.equals(s.bytes(), ok)));
    }
}
