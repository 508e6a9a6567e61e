package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * A hostile guest against the rule that gives up a TX packet netback began but did not finish
 * when netback maps a later packet ({@link TxGiveUp#unfinished}).
 */
class UnfinishedAttackTest {
    private static final int SZ = Netif.TxRequest.SIZE;

    /** Runs {@code change} (the guest, on another vCPU) as netback's first call of {@code cmd} is about to apply. */
    private static void atNetbacksFirst(HostileGuestTest.Setup s, int cmd, Runnable change) {
        boolean[] done = new boolean[1];
        s.b.host.addListener(new HypercallListener() {
            @Override
            public boolean allow(Hypercall c, int index) {
                if (!done[0] && c.callerDomid() == 0 && c.op() == __HYPERVISOR_grant_table_op && c.cmd() == cmd) {
                    done[0] = true;
                    change.run();
                }
                return true;
            }

            @Override
            public void completed(Hypercall c) {
            }
        });
    }

    private static List<Bench.Seen> txOf(HostileGuestTest.Setup s, int domid) {
        return s.b.tapped.stream().filter(f -> f.domid() == domid && f.direction() == Tap.TX).toList();
    }

    /** Every TX frame of dom1 the tap rebuilt is one netback sent since {@code uplinkBefore}; each sent frame rebuilt, lost or held. */
    private static void rebuiltOnlyAsSent(HostileGuestTest.Setup s, int uplinkBefore, int n, String what) {
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(n, sent.size(), what);
        List<Bench.Seen> rebuilt = txOf(s, 1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())),
                    "rebuilt with bytes netback did not send: " + f.bytes().length + " bytes " + s.events());
        }
        assertEquals(n, rebuilt.size() + s.counters(1).lost() + s.b.tap.unfinished().txPackets(),
                "each packet rebuilt, counted lost or still held: " + s.counters(1) + " " + s.events());
    }

    /**
     * O (a 100-byte head and a 400-byte slot of ref X) is read by the tap; before netback reads it
     * the guest makes its second slot name ref Y, and puts X back at netback's copy call, while
     * posting S (a 128-byte head and a 100-byte slot of ref Y) behind it, after netback took its
     * batch. netback's map of Y for O matches S's slot: O is given up (tx.unfinished), and S,
     * which netback takes in its next batch, looks whole once its head is copied. During the map
     * call the guest moves S's second slot to offset 50 (same ref, same size): netback sends S
     * with bytes 50..150 of Y's page; the tap must not rebuild S from bytes 0..100.
     */
    @Test
    void aMapMatchedToAPacketNetbackHasNotTakenYetDoesNotMakeItWhole() {
        HostileGuestTest.Setup s = new HostileGuestTest.Setup();
        int head = s.grantFrame(100, 1), x = s.grantFrame(400, 2), y = s.grantFrame(400, 3), sh = s.grantFrame(128, 4);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, SZ), at1 = Netif.Sring.entry(prod + 1, 256, SZ);
        long at2 = Netif.Sring.entry(prod + 2, 256, SZ), at3 = Netif.Sring.entry(prod + 3, 256, SZ);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 500);
        Netif.TxRequest.set(s.tx, at1, x, 0, 0, 1, 400);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at1, y, 0, 0, 1, 400);
        atNetbacksFirst(s, GNTTABOP_copy, () -> {
            Netif.TxRequest.set(s.tx, at1, x, 0, 0, 1, 400);
            Netif.TxRequest.set(s.tx, at2, sh, 0, NETTXF_more_data, 2, 228);
            Netif.TxRequest.set(s.tx, at3, y, 0, 0, 3, 100);
            Netif.Sring.reqProd(s.tx, 0, prod + 4);
        });
        atNetbacksFirst(s, GNTTABOP_map_grant_ref, () -> Netif.TxRequest.set(s.tx, at3, y, 50, 0, 3, 100));
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        rebuiltOnlyAsSent(s, uplinkBefore, 2, "netback sent O and S");
        assertTrue(s.events().contains("dom1/vif0/tx tx.chain_changed " + ((prod + 2) & 255)), s.events().toString());
        s.othersGoOn();
    }

    /**
     * Baseline: P (a 100-byte head and a 400-byte slot of ref X at offset 0) read by the tap at
     * the kick; before netback reads it the guest moves the second slot to offset 50. netback's
     * map names only the ref.
     */
    @Disabled("a slot wholly past the first 128 bytes is only mapped, and a map op names no offset or size: the tap"
            + " rebuilds it from the request as it read it, not as netback read it; needs netback's own copy of"
            + " the request (pending_tx_info) from dom0's memory")
    @Test
    void aMappedSlotMovedAfterTheTapReadItIsNotRebuiltFromWhereItWas() {
        HostileGuestTest.Setup s = new HostileGuestTest.Setup();
        int head = s.grantFrame(128, 1), x = s.grantFrame(600, 2);
        int prod = Netif.Sring.reqProd(s.tx, 0);
        long at0 = Netif.Sring.entry(prod, 256, SZ), at1 = Netif.Sring.entry(prod + 1, 256, SZ);
        Netif.TxRequest.set(s.tx, at0, head, 0, NETTXF_more_data, 0, 528);
        Netif.TxRequest.set(s.tx, at1, x, 0, 0, 1, 400);
        s.publishAndKick(prod + 2);
        Netif.TxRequest.set(s.tx, at1, x, 50, 0, 1, 400);
        int uplinkBefore = s.b.uplink.size();
        s.b.host.runPending();
        rebuiltOnlyAsSent(s, uplinkBefore, 1, "netback sent P");
    }

    /**
     * Honest: a packet of 19 slots (the most netback takes) then one of 300 bytes, one kick.
     * Both are sent; neither is reported as unfinished.
     */
    @Test
    void aNineteenSlotPacketIsNotGivenUpAtTheNextPacketsMap() {
        HostileGuestTest.Setup s = new HostileGuestTest.Setup();
        int[] req = new int[20 * 4];
        for (int i = 0; i < 19; i++) {
            req[4 * i] = s.grantFrame(100, 10 + i);
            req[4 * i + 2] = i < 18 ? NETTXF_more_data : 0;
            req[4 * i + 3] = i == 0 ? 1900 : 100;
        }
        req[76] = s.grantFrame(300, 40);
        req[79] = 300;
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(req);
        rebuiltOnlyAsSent(s, uplinkBefore, 2, "netback sent both");
        assertEquals(List.of(), s.events());
    }
}
