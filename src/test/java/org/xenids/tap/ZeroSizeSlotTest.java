package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Gnttab;

/**
 * TX slots of size zero. The protocol allows them after a packet's first slot, and netback
 * (since XSA-448) answers one it would map at once, with no op at all; one inside the bytes it
 * copies gets a copy of length zero. No honest netfront writes them: a guest that does must not
 * be able to make the tap wait for an op that never comes, and so stop inspecting its traffic.
 */
class ZeroSizeSlotTest {
    private static final byte[] GW = TapFramesTest.GW;

    /** One frame of {@code len} bytes in a fresh page of the hostile guest, granted under {@code refs} refs. */
    private static int[] grantFrame(HostileGuest s, byte[] frame, int refs) {
        long f = s.evil.allocFrame();
        MemorySegment.copy(frame, 0, s.evil.page(f), ValueLayout.JAVA_BYTE, 0, frame.length);
        int[] r = new int[refs];
        for (int i = 0; i < refs; i++) {
            r[i] = s.evil.claimGrantRefs(1);
            s.evil.grantAccess(r[i], 0, f, true);
        }
        return r;
    }

    /**
     * Sends {@code frame} as the chain {@code slots} ({offset, size} after the first slot, whose
     * own size is what is left), then an honest frame; both must leave and be rebuilt as sent,
     * with no anomaly, nothing lost and nothing held. netback's ops on the first frame's slots
     * must be {@code netbackOps} ("copy SLOT LEN" and "map SLOT", in order), as Linux makes them.
     */
    private static void sentAndRebuilt(List<String> netbackOps, int len, int... slots) {
        HostileGuest s = new HostileGuest();
        byte[] frame = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), len, 7);
        int n = 1 + slots.length / 2;
        int[] refs = grantFrame(s, frame, n);
        int[] req = new int[4 * n];
        req[0] = refs[0];
        req[2] = n > 1 ? NETTXF_more_data : 0;
        req[3] = len;
        for (int k = 1; k < n; k++) {
            req[4 * k] = refs[k];
            req[4 * k + 1] = slots[2 * (k - 1)];
            req[4 * k + 2] = k + 1 < n ? NETTXF_more_data : 0;
            req[4 * k + 3] = slots[2 * (k - 1) + 1];
        }
        List<String> ops = new java.util.ArrayList<>();
        s.b.host.addListener(new org.xenids.xen.event.HypercallListener() {
            @Override
            public void completed(org.xenids.xen.event.Hypercall c) {
                if (c.callerDomid() != 0 || c.op() != __HYPERVISOR_grant_table_op) {
                    return;
                }
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * c.structSize();
                    if (c.cmd() == GNTTABOP_copy && (Gnttab.Copy.flags(c.args(), at) & (GNTCOPY_source_gref | GNTCOPY_dest_gref)) == GNTCOPY_source_gref) {
                        // netback's TX copies (an RX copy to another guest names the sender's grant too)
                        int k = indexOf(refs, (int) Gnttab.Copy.srcU(c.args(), at));
                        if (k >= 0) {
                            ops.add("copy " + k + " " + Gnttab.Copy.len(c.args(), at));
                        }
                    } else if (c.cmd() == GNTTABOP_map_grant_ref && indexOf(refs, Gnttab.Map.ref(c.args(), at)) >= 0) {
                        ops.add("map " + indexOf(refs, Gnttab.Map.ref(c.args(), at)));
                    }
                }
            }
        });
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(req);
        assertEquals(netbackOps, ops, "netback's ops on the frame's slots");
        byte[] after = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), 300, 8);
        s.txRequests(grantFrame(s, after, 1)[0], 0, 0, 300);
        List<String> sent = s.b.uplink.stream().skip(uplinkBefore).map(Arrays::toString).toList();
        assertEquals(List.of(Arrays.toString(frame), Arrays.toString(after)), sent,
                () -> "netback sent both frames: " + s.b.uplink.stream().skip(uplinkBefore).map(f -> f.length).toList()
                        + " " + s.events() + " " + s.counters(1));
        List<String> rebuilt = s.b.tapped.stream().filter(f -> f.domid() == 1 && f.direction() == Tap.TX)
                .map(f -> Arrays.toString(f.bytes())).toList();
        assertEquals(sent, rebuilt, () -> "rebuilt " + rebuilt.size() + " of 2: " + s.events() + " " + s.counters(1));
        assertEquals(List.of(), s.events());
        Tap.Counters c = s.counters(1);
        assertEquals(0, c.lost() + c.drops(), c.toString());
        assertEquals(0, s.b.tap.unfinished().txPackets(), "nothing held");
        s.othersGoOn();
    }

    private static int indexOf(int[] refs, int ref) {
        for (int i = 0; i < refs.length; i++) {
            if (refs[i] == ref) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void aZeroSizeSlotNetbackWouldMapIsAnsweredWithoutAnOpAndTheFrameIsRebuilt() {
        // 200 bytes in the first slot, none in the second, 100 in the third.
        sentAndRebuilt(List.of("copy 0 128", "map 0", "map 2"), 300, 200, 0, 200, 100);
    }

    @Test
    void zeroSizeSlotsEndingAFrameOfCopiesAloneAreAnsweredWithoutAnOp() {
        // The whole frame is copied (100 bytes); the two empty slots after it are never read.
        sentAndRebuilt(List.of("copy 0 100"), 100, 100, 0, 100, 0);
    }

    @Test
    void aZeroSizeSlotInsideTheCopiedHeadGetsACopyOfLengthZero() {
        // 60 bytes, then an empty slot at 60 (netback's copy loop reaches it), then 240.
        sentAndRebuilt(List.of("copy 0 60", "copy 1 0", "copy 2 68", "map 2"), 300, 60, 0, 60, 240);
    }

    /**
     * netback's runt check reads the first slot's own size (what xenvif_count_requests leaves of
     * txreq.size): a first slot with fewer than 14 bytes of its own is dropped, every slot answered
     * with an error and nothing read, however long the packet. The tap says so, counts a drop, and
     * the next packet is rebuilt.
     */
    @Test
    void aFirstSlotWithFewerThan14BytesOfItsOwnIsDroppedLikeNetbackDoes() {
        HostileGuest s = new HostileGuest();
        byte[] frame = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), 300, 7);
        int[] refs = grantFrame(s, frame, 2);
        int slot = org.xenids.xen.abi.Netif.Sring.reqProd(s.tx, 0) & 255;
        int uplinkBefore = s.b.uplink.size();
        s.txRequests(refs[0], 0, NETTXF_more_data, 300, refs[1], 13, 0, 287);
        assertEquals(0, s.b.uplink.size() - uplinkBefore, "netback sent nothing");
        assertEquals(List.of("dom1/vif0/tx tx.size_too_small " + slot), s.events());
        Tap.Counters c = s.counters(1);
        assertEquals(1, c.drops(), c.toString());
        assertEquals(0, c.lost(), c.toString());
        byte[] after = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), 300, 8);
        s.txRequests(grantFrame(s, after, 1)[0], 0, 0, 300);
        assertEquals(List.of(Arrays.toString(after)), s.b.tapped.stream()
                .filter(f -> f.domid() == 1 && f.direction() == Tap.TX).map(f -> Arrays.toString(f.bytes())).toList());
        s.othersGoOn();
    }
}
