package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;

/**
 * A guest that rewrites TX requests between the tap's read (at its kick) and netback's: with
 * empty slots, which netback answers with no op, an op netback makes for one slot can be left
 * to no slot of the tap or taken for another packet's. No frame the tap rebuilds may carry
 * bytes netback did not send, and each frame netback sent is rebuilt or counted lost.
 */
class ZeroSizeAttackTest {

    private static long at(int idx) {
        return Netif.Sring.entry(idx, 256, Netif.TxRequest.SIZE);
    }

    /** Every TX frame of dom1 the tap rebuilt is one netback sent since {@code uplinkBefore}; each of the {@code n} sent is rebuilt or counted lost. */
    private static void rebuiltOnlyAsSent(HostileGuestTest.Setup s, int uplinkBefore, int n) {
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(Arrays::toString).toList();
        assertEquals(n, sent.size(), "netback sent");
        List<Bench.Seen> rebuilt = s.b.tapped.stream().filter(f -> f.domid() == 1 && f.direction() == Tap.TX).toList();
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(Arrays.toString(f.bytes())),
                    "rebuilt " + f.bytes().length + " bytes netback did not send; sent "
                            + s.b.uplink.stream().skip(uplinkBefore).map(b -> b.length).toList() + " " + s.events()
                            + " " + s.counters(1));
        }
        assertEquals(n, rebuilt.size() + s.counters(1).lost() + s.b.tap.unfinished().txPackets(),
                "each packet rebuilt, counted lost or still held: " + s.counters(1));
    }

    /**
     * P is 300 bytes: a head slot and an empty second slot, which the tap awaits no op for. Once
     * the tap read them the guest gives the second slot 100 bytes under a ref no slot holds:
     * netback copies P's first 128 bytes, maps the rest of the head slot (now 200 bytes) and the
     * new ref. The tap has P whole from the head's copy and map and must not rebuild it as the
     * head slot's 300 bytes.
     */
    @Test
    void anEmptySlotGivenBytesUnderANewRefAfterTheTapReadItIsNotRebuiltAsEmpty() {
        HostileGuestTest.Setup s = new HostileGuestTest.Setup();
        int a = s.grantFrame(300, 1), b = s.grantFrame(100, 2), c = s.grantFrame(100, 3);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, at(prod), a, 0, NETTXF_more_data, 0, 300);
        Netif.TxRequest.set(s.tx, at(prod + 1), b, 0, 0, 1, 0);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at(prod + 1), c, 0, 0, 1, 100);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        rebuiltOnlyAsSent(s, uplinkBefore, 1);
    }
}
