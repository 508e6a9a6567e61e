package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.tap.Tap;
import org.xenids.testdata.PacketBuilder;

class TapOutputsTest {
    @Test
    void framesOfVifsAndQueuesThatShareTheirLowBitsGetInterfacesOfTheirOwn(@TempDir Path dir) throws Exception {
        // vif16 and vif0, queue 9 and queue 1, dom0x7fef and dom0x3ef: each pair differs above the
        // bits the interfaces used to be keyed on.
        int[][] where = {{1, 0, 0}, {1, 16, 0}, {1, 0, 1}, {1, 0, 9}, {0x3ef, 0, 0}, {0x7fef, 0, 0}, {1, 16, 0},
            {0x7fef, 0, 0}};
        Path out = dir.resolve("out.pcapng");
        byte[] f = PacketBuilder.udpFrame("10.0.0.11", 5000, "203.0.113.5", 53, new byte[8]);
        try (TapOutputs o = new TapOutputs(out, null)) {
            for (int[] w : where) {
                o.frame(f, 0, f.length, w[0], w[1], w[2], Tap.TX, -1, false, 1_000);
            }
        }
        List<String> names = ReplayCommandTest.frames(out).stream().map(s -> s.substring(0, s.indexOf(' '))).toList();
        assertEquals(List.of("dom1/vif0/tx", "dom1/vif16/tx", "dom1/vif0/q1/tx", "dom1/vif0/q9/tx", "dom1007/vif0/tx",
                "dom32751/vif0/tx", "dom1/vif16/tx", "dom32751/vif0/tx"), names);
    }

    @Test
    void interfaceIdsHoldThousandsOfInterfacesApart() {
        TapOutputs.InterfaceIds ids = new TapOutputs.InterfaceIds();
        int n = 0;
        for (int dom = 1; dom < 0x7ff0; dom += 97) {
            for (int vif = 0; vif < 40; vif += 13) {
                for (int dir = 0; dir < 2; dir++) {
                    assertEquals(-1, ids.get(TapOutputs.InterfaceIds.key(dom, vif, 3, dir)));
                    ids.put(TapOutputs.InterfaceIds.key(dom, vif, 3, dir), n++);
                }
            }
        }
        n = 0;
        for (int dom = 1; dom < 0x7ff0; dom += 97) {
            for (int vif = 0; vif < 40; vif += 13) {
                for (int dir = 0; dir < 2; dir++) {
                    assertEquals(n++, ids.get(TapOutputs.InterfaceIds.key(dom, vif, 3, dir)));
                }
            }
        }
    }

    /**
     * On the real Xen host's trace, discovery passed over two channel-and-pages pairs the
     * toolstack set up (the guest's XenStore and console rings): said in one line, with the
     * figures the tap keeps; nothing was left in part at the end, so no in-flight line.
     */
    @Test
    void whatDiscoveryDidNotTakeIsSaidAndNothingLeftInPartIsNotMentioned() throws Exception {
        Tap[] tap = new Tap[1];
        try (java.io.InputStream t = new org.tukaani.xz.XZInputStream(
                TapOutputsTest.class.getResourceAsStream("/org/xenids/xenlab/trace.bin.xz"))) {
            org.xenids.tap.Trace.replay(t, "trace.bin", mem -> tap[0] = new Tap(mem, (b, o, l, d, v, q, dir, p, ts) -> { },
                    a -> { }));
        }
        Tap.RejectedPairs r = tap[0].rejectedPairs();
        Tap.Unpaired u = tap[0].unpaired();
        assertEquals(2, r.toolstackChannel(), r.toString());
        assertEquals(new Tap.Unfinished(0, 0), tap[0].unfinished());
        assertEquals(List.of(String.format("ring discovery: 2 page pairs with a channel not taken as a vif's rings (2 on"
                + " channels the toolstack opened, 0 from multi-page maps), %d ring-page candidates let go unpaired,"
                + " %d channel binds with no ring pages; %d ring pairs retired", u.ringCandidates(), u.binds(),
                tap[0].retiredRings())), TapOutputs.tapLines(tap[0]));
    }
}
