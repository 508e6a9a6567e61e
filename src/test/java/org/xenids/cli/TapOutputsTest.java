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

    /**
     * The real Xen host's trace cut where the tap holds frames in part: the pcapng {@code tap
     * --write-pcap} writes ends with a statistics block per interface, whose isb_ifrecv counts the
     * frames written plus those not rebuilt and whose isb_ifdrop counts the latter (here, those in
     * flight); a reader of the file alone then sees the holes (as {@code replay} of it reports).
     */
    @Test
    void theWrittenCapturesInterfacesEndWithTheFramesTheTapDidNotRebuild(@TempDir Path dir) throws Exception {
        byte[] whole;
        try (java.io.InputStream t = new org.tukaani.xz.XZInputStream(
                TapOutputsTest.class.getResourceAsStream("/org/xenids/xenlab/trace.bin.xz"))) {
            whole = t.readAllBytes();
        }
        // Records: 8 bytes (type, …, length) + L + 4; the file header is 32 bytes. Cut at the first
        // call record past the middle after which the tap holds frames in part.
        Tap.Unfinished held = null;
        byte[] cut = null;
        for (int pos = 32; pos < whole.length && held == null; ) {
            if (pos > whole.length / 2 && whole[pos] == 1) {
                byte[] c = java.util.Arrays.copyOf(whole, pos);
                Tap[] tap = new Tap[1];
                org.xenids.tap.Trace.replay(new java.io.ByteArrayInputStream(c), "cut",
                        mem -> tap[0] = new Tap(mem, (b, o, l, d, v, q, dir2, p, ts) -> { }, a -> { }));
                if (tap[0].unfinished().total() > 0) {
                    held = tap[0].unfinished();
                    cut = c;
                }
            }
            pos += 8 + java.nio.ByteBuffer.wrap(whole, pos + 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() + 4;
        }
        org.junit.jupiter.api.Assertions.assertNotNull(cut, "a cut with frames in flight");
        Path trace = dir.resolve("cut.trace"), out = dir.resolve("out.pcapng");
        java.nio.file.Files.write(trace, cut);
        String[] r = MainTest.run("tap", "--trace", trace.toString(), "--write-pcap", out.toString());
        assertEquals("0", r[0], r[2]);
        org.junit.jupiter.api.Assertions.assertTrue(r[1].contains("in flight when the input ended"), r[1]);

        java.util.Map<Integer, Long> packets = new java.util.TreeMap<>();
        java.util.Map<Integer, long[]> stats = new java.util.TreeMap<>();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(out))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int interfaces = 0;
        for (int p = 0; p < b.limit(); p += b.getInt(p + 4)) {
            switch (b.getInt(p)) {
                case 1 -> interfaces++;
                case 6 -> packets.merge(b.getInt(p + 8), 1L, Long::sum);
                case 5 -> {
                    long[] v = new long[2];
                    for (int o = p + 20; b.getShort(o) != 0; o += 4 + ((b.getShort(o + 2) + 3) & ~3)) {
                        if (b.getShort(o) == 4) v[0] = b.getLong(o + 4);
                        if (b.getShort(o) == 5) v[1] = b.getLong(o + 4);
                    }
                    org.junit.jupiter.api.Assertions.assertNull(stats.put(b.getInt(p + 8), v), "one block per interface");
                }
                default -> { }
            }
        }
        assertEquals(interfaces, stats.size(), "every interface has its statistics");
        long dropped = 0;
        for (var e : stats.entrySet()) {
            assertEquals(packets.getOrDefault(e.getKey(), 0L), e.getValue()[0] - e.getValue()[1], "interface " + e.getKey());
            dropped += e.getValue()[1];
        }
        assertEquals(held.total(), dropped, held.toString());
        try (org.xenids.pcap.CaptureReader c = org.xenids.pcap.CaptureReader.open(out)) {
            while (c.next()) { }
            assertEquals(held.total(), c.stats().reportedDrops());
        }
    }
}
