package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;
import org.xenids.tap.Tap;
import org.xenids.testdata.PacketBuilder;
import org.xenids.flow.StreamListener;
import org.xenids.testdata.SharedData;
import org.xenids.xen.emu.Topology;
import org.xenids.xen.emu.TrafficDriver;

class HostRunTest {
    @Test
    void flowsEndedEarlyBecauseTheTableWasFullAreCountedInTheSummary() throws Exception {
        // The real shellcode capture, five connections and their answers, through a table of two flows.
        List<Path> capture = List.of(SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz"));
        Topology t = Topology.fromCaptures(capture, List.of("10.0.0.0/24"), Map.of());
        StringWriter err = new StringWriter();
        HostRun.Result full = HostRun.run(t, capture, FlowConfig.defaults().withMaxFlows(2), StreamListener.NONE,
                a -> { }, new PrintWriter(err), "test");
        assertTrue(full.evictions() > 0, full.toString());
        StringWriter out = new StringWriter();
        full.print(new PrintWriter(out, true), "detect");
        assertTrue(out.toString().contains(String.format("  %,d flows ended early: the flow table was full",
                full.evictions())), out.toString());

        HostRun.Result roomy = HostRun.run(t, capture, FlowConfig.defaults(), StreamListener.NONE, a -> { },
                new PrintWriter(err), "test");
        assertEquals(0, roomy.evictions());
        out = new StringWriter();
        roomy.print(new PrintWriter(out, true), "detect");
        assertTrue(!out.toString().contains("ended early"), out.toString());
    }

    @Test
    void detectReportsTheCaptureFramesItCouldNotReplayAsReplayDoes(@TempDir Path dir) throws Exception {
        // The real shellcode capture as a capturer with a snaplen of 128 saved it: every frame
        // carrying a request or an answer is cut short, cannot cross a vif whole and is not
        // replayed. detect scored nothing and said nothing of why.
        Path whole = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path snapped = dir.resolve("snapped.pcap");
        long cut = 0;
        try (CaptureReader r = CaptureReader.open(whole); CaptureWriter w = CaptureWriter.pcap(snapped, 1, false)) {
            while (r.next()) {
                int len = Math.min(r.capturedLength(), 128);
                cut += len < r.originalLength() ? 1 : 0;
                w.write(0, r.timestampNanos(), r.array(), r.dataOffset(), len, r.originalLength());
            }
        }
        assertTrue(cut > 0, "frames longer than 128 bytes in the capture");
        String[] replay = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", snapped.toString());
        assertEquals("0", replay[0], replay[2]);
        String capture = replay[1].lines().filter(l -> l.startsWith("capture: ")).findFirst().orElseThrow();
        assertTrue(capture.contains(" " + cut + " not replayable"), capture);
        Path models = TrainDetectCommandTest.modelFile(dir.resolve("models"), TrainDetectCommandTest.inventoryServiceModels());
        String[] detect = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", models.toString(),
                "--pcap", snapped.toString(), "--eve", dir.resolve("eve.json").toString());
        assertEquals("0", detect[0], detect[2]);
        assertTrue(detect[1].contains("\n  " + capture + "\n"), "replay's line:\n" + capture + "\ndetect's output:\n"
                + detect[1]);
    }

    @Test
    void dropsTheCaptureReportsAreInReplaysDetectsAndTrainsSummaries(@TempDir Path dir) throws Exception {
        // The real shellcode capture as pcapng, with the statistics its capturer would write on
        // stopping: 7 packets it could not keep.
        Path capture = PcapCommandsTest.withReportedDrops(dir, 7);
        String line = String.format("capture reports %,d packets dropped by its capturer (%s)", 7, capture);
        String[] replay = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture.toString());
        assertEquals("0", replay[0], replay[2]);
        assertTrue(replay[1].lines().anyMatch(line::equals), replay[1]);
        Path models = TrainDetectCommandTest.modelFile(dir.resolve("models"), TrainDetectCommandTest.inventoryServiceModels());
        String[] detect = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", models.toString(),
                "--pcap", capture.toString(), "--eve", dir.resolve("eve.json").toString());
        assertEquals("0", detect[0], detect[2]);
        assertTrue(detect[1].lines().anyMatch(("  " + line)::equals), detect[1]);
        String[] train = MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", capture.toString(),
                "--models", dir.resolve("trained").toString());
        assertEquals("1", train[0], train[2]); // five flows are too few for a model; what was seen is printed
        assertTrue(train[1].lines().anyMatch(("  " + line)::equals), train[1]);
    }

    @Test
    void bytesOnASynTheGuestDroppedAreInTheSummariesOfReplayAndOfTrainAndDetect(@TempDir Path dir) throws Exception {
        HostRun.Result r = replay(dir, PcapCommandsTest.synWithDataNotTaken(), StreamListener.NONE);
        assertEquals(3, r.synDataDroppedBytes(), r.toString());
        StringWriter out = new StringWriter();
        r.print(new PrintWriter(out, true), "detect");
        assertTrue(out.toString().lines().toList().contains("  3 bytes carried on SYNs were dropped by their receivers (a"
                + " stack without TCP Fast Open takes none): left out of the streams, as an insertion attempt's would be"),
                out.toString());
        String[] replay = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", dir.resolve("frames.pcap").toString());
        assertEquals("0", replay[0], replay[2]);
        String flows = replay[1].lines().filter(l -> l.startsWith("flows: ")).findFirst().orElseThrow();
        assertTrue(flows.endsWith("; 3 bytes carried on SYNs were dropped by their receivers"), flows);
    }

    @Test
    void theTapsAndTheDriversLossesArePrintedForTheDomainsAndVifsThatHadAny() {
        TrafficDriver.Stats s = new TrafficDriver.Stats(100, 60, 40, 1, 2, 3, 97, 0, 0);
        List<Tap.Counters> tap = List.of(new Tap.Counters(1, 50, 5000, 50, 0, 60, 0, 0, 0, 0, 0),
                new Tap.Counters(2, 47, 4700, 40, 7, 55, 0, 1, 2, 3, 4));
        List<TrafficDriver.VifCounters> vifs = List.of(
                new TrafficDriver.VifCounters(1, 0, 30, 0, 0, 20, 0, 30, 0, 0, 20, 0, false),
                new TrafficDriver.VifCounters(2, 0, 29, 1, 0, 20, 0, 28, 0, 0, 20, 0, false));
        HostRun.Result r = new HostRun.Result(s, tap, vifs, 97, 9700, 0, 10, 0, 0, 1, "", 0, 0, 0, 1.0, null, Map.of(), List.of(), new EveStats());
        StringWriter out = new StringWriter();
        r.print(new PrintWriter(out, true), "detect");
        List<String> lines = out.toString().lines().toList();
        assertTrue(lines.contains("  " + TapOutputs.captureLine(s)), out.toString());
        assertTrue(lines.contains("  " + TapOutputs.tableHeader()) && lines.contains("  " + TapOutputs.tableRow(tap.get(1)))
                && !lines.contains("  " + TapOutputs.tableRow(tap.get(0))), out.toString());
        assertTrue(lines.contains("  " + TapOutputs.driverLine(vifs.get(1)))
                && !lines.contains("  " + TapOutputs.driverLine(vifs.get(0))), out.toString());
    }

    @Test
    void decoderEventsAreCountedInTheSummaryByTheirSuricataNames(@TempDir Path dir) throws Exception {
        // The guest asks (so the quick start finds it), then two IPv4 fragments of one datagram
        // that overlap by 8 bytes come from outside.
        Path pcap = dir.resolve("overlap.pcap");
        byte[] query = PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "10.0.0.11", "203.0.113.5",
                PacketBuilder.udp(53, 5000, new byte[8])));
        for (int i = 0; i < 6; i++) { // from the guest's MAC
            byte m = query[i];
            query[i] = query[i + 6];
            query[i + 6] = m;
        }
        try (CaptureWriter w = CaptureWriter.pcap(pcap, 1, false)) {
            byte[][] frames = {
                query,
                PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.11", 7, 0, true,
                        new byte[0], PacketBuilder.udp(5000, 53, new byte[8]))),
                PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.11", 7, 8, false,
                        new byte[0], new byte[16])),
            };
            long ts = 1_000_000_000L;
            for (byte[] f : frames) {
                w.write(0, ts += 1000, f, 0, f.length);
            }
        }
        List<Path> capture = List.of(pcap);
        Topology t = Topology.fromCaptures(capture, List.of("10.0.0.0/24"), Map.of());
        HostRun.Result r = HostRun.run(t, capture, FlowConfig.defaults(), StreamListener.NONE, a -> { },
                new PrintWriter(new StringWriter()), "test");
        assertEquals(3 + 1, r.frames(), "the guest's announcement too: " + r);
        // The overlap condemns the datagram, as it does at a Linux guest.
        assertEquals("ipv4.frag_overlap 1", r.decoderEvents());
        StringWriter out = new StringWriter();
        r.print(new PrintWriter(out, true), "detect");
        assertTrue(out.toString().contains("\n  decoder events: ipv4.frag_overlap 1\n"),
                out.toString());
        // And in the EVE stats record, under Suricata's names.
        Map<String, Long> stats = r.stats().event().counters();
        assertEquals(1, stats.get("decoder.event.ipv4.frag_overlap"), stats.toString());
        assertEquals(2, stats.get("defrag.ipv4.fragments"));
        assertEquals(0, stats.get("defrag.ipv4.reassembled"));
    }

    @Test
    void segmentsTheirReceiverDropsForABadChecksumStandInForNothingThroughTheTap(@TempDir Path dir) throws Exception {
        // An outside client and the guest 10.0.0.11:80, each sending a decoy with a broken TCP
        // checksum ahead of the real bytes at the same sequence numbers. From outside, the NIC does
        // not vouch for a bad checksum, so netback gives the guest flags 0 and its stack checks it;
        // from the guest, netfront's flags 0 leave it to the receiver. Both drop the decoys.
        // A GSO super-frame's checksum is filled in when it is segmented: the receiver gets it right,
        // whatever the guest wrote, so it is not judged.
        String c = "203.0.113.170", g = "10.0.0.11";
        byte[] big = "B".repeat(4000).getBytes(StandardCharsets.ISO_8859_1);
        byte[][] frames = {
            PacketBuilder.tcpFrame(c, 40000, g, 80, 999, 0, PacketBuilder.SYN, new byte[0]),
            fromGuest(PacketBuilder.tcpFrame(g, 80, c, 40000, 5000, 1000, PacketBuilder.SYN | PacketBuilder.ACK, new byte[0])),
            PacketBuilder.tcpFrame(c, 40000, g, 80, 1000, 5001, PacketBuilder.ACK, new byte[0]),
            badChecksum(PacketBuilder.tcpFrame(c, 40000, g, 80, 1000, 5001, PacketBuilder.ACK | PacketBuilder.PSH, ascii("cover!"))),
            PacketBuilder.tcpFrame(c, 40000, g, 80, 1000, 5001, PacketBuilder.ACK | PacketBuilder.PSH, ascii("attack")),
            badChecksum(fromGuest(PacketBuilder.tcpFrame(g, 80, c, 40000, 5001, 1006, PacketBuilder.ACK | PacketBuilder.PSH, ascii("decoy reply")))),
            fromGuest(PacketBuilder.tcpFrame(g, 80, c, 40000, 5001, 1006, PacketBuilder.ACK | PacketBuilder.PSH, ascii("real reply!"))),
            badChecksum(fromGuest(PacketBuilder.tcpFrame(g, 80, c, 40000, 5012, 1006, PacketBuilder.ACK | PacketBuilder.PSH, big))),
        };
        StringBuilder toServer = new StringBuilder(), toClient = new StringBuilder();
        StreamListener streams = new StreamListener() {
            @Override
            public void payload(Flow f, boolean server, byte[] buf, int off, int len, long at) {
                (server ? toServer : toClient).append(new String(buf, off, len, StandardCharsets.ISO_8859_1));
            }
        };
        HostRun.Result r = replay(dir, List.of(frames), streams);
        assertEquals(frames.length + 1, r.frames(), "every frame, and the guest's announcement, reached the tap: " + r);
        assertEquals("attack", toServer.toString());
        assertEquals("real reply!" + "B".repeat(4000), toClient.toString());
        assertEquals("tcp.checksum_bad 2", r.decoderEvents());
        assertEquals(2, r.stats().event().counters().get("tcp.invalid_checksum"));
    }

    @Test
    void decoyFragmentsForOneGuestCannotCrowdOutAnotherGuestsDatagram(@TempDir Path dir) throws Exception {
        // Guests 10.0.0.11 (A) and 10.0.0.12 (B) announce themselves. From outside: the first
        // fragment of a datagram for A, then 4,500 decoy fragments for B, each 1,448 bytes across
        // three pieces of a datagram of its own (more than B's bound holds), then the last
        // fragment for A. Each guest's Linux keeps its own fragments, so B's flood leaves A's
        // datagram to A, which reassembles it: so must the tap's decoder.
        byte[] macA = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x11), macB = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x12);
        byte[] attack = new byte[24];
        java.util.Arrays.fill(attack, (byte) 0x90);
        byte[] whole = PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.11", PacketBuilder.udp(5000, 53, attack));
        byte[] l4 = java.util.Arrays.copyOfRange(whole, 20, whole.length); // its checksum filled in
        List<byte[]> frames = new java.util.ArrayList<>();
        frames.add(mac(PacketBuilder.udpFrame("10.0.0.11", 53, "203.0.113.5", 5000, new byte[4]), null, macA));
        frames.add(mac(PacketBuilder.udpFrame("10.0.0.12", 53, "203.0.113.5", 5000, new byte[4]), null, macB));
        frames.add(mac(PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.11", 77, 0, true,
                new byte[0], java.util.Arrays.copyOf(l4, 16))), macA, null));
        for (int id = 1000; id < 5500; id++) {
            frames.add(mac(PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.12", id, 1_016,
                    true, new byte[0], new byte[1_448])), macB, null));
        }
        frames.add(mac(PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.5", "10.0.0.11", 77, 16, false,
                new byte[0], java.util.Arrays.copyOfRange(l4, 16, l4.length))), macA, null));
        List<String> payloads = new java.util.ArrayList<>();
        StreamListener streams = new StreamListener() {
            @Override
            public void payload(Flow f, boolean server, byte[] buf, int off, int len, long at) {
                payloads.add(len + " bytes from " + (buf[off] & 0xFF));
            }
        };
        HostRun.Result r = replay(dir, frames, streams);
        assertEquals(frames.size() + 2, r.frames(), "and the guests' announcements: " + r);
        assertTrue(payloads.contains("24 bytes from 144"), "the datagram for A, whole: " + payloads);
        // Each decoy was either refused (B over its bound) or held until the input ended, then
        // given up as timed out.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("ipv4\\.frag_timeout ([\\d,]+), ipv4\\.frag_table_full ([\\d,]+)")
                .matcher(r.decoderEvents());
        assertTrue(m.matches(), r.decoderEvents());
        long timedOut = Long.parseLong(m.group(1).replace(",", "")), full = Long.parseLong(m.group(2).replace(",", ""));
        assertTrue(full > 0, "B's flood passed its bound: " + r.decoderEvents());
        assertEquals(4_500, timedOut + full, r.decoderEvents());
        // Suricata counts the datagrams given up unfinished; it has no counter for fragments a full table refused.
        Map<String, Long> stats = r.stats().event().counters();
        assertEquals(timedOut, stats.get("defrag.ipv4.timeouts"), stats.toString());
        assertEquals(2 + 4_500, stats.get("defrag.ipv4.fragments"));
        assertEquals(1, stats.get("defrag.ipv4.reassembled"));
    }

    /** The frame with its destination and/or source MAC set. */
    private static byte[] mac(byte[] f, byte[] dst, byte[] src) {
        if (dst != null) System.arraycopy(dst, 0, f, 0, 6);
        if (src != null) System.arraycopy(src, 0, f, 6, 6);
        return f;
    }

    /** The frames as a capture, replayed through the emulated host (guests in 10.0.0.0/24) and the tap. */
    private static HostRun.Result replay(Path dir, List<byte[]> frames, StreamListener streams) throws java.io.IOException {
        Path pcap = dir.resolve("frames.pcap");
        try (CaptureWriter w = CaptureWriter.pcap(pcap, 1, false)) {
            long ts = 1_000_000_000L;
            for (byte[] f : frames) {
                w.write(0, ts += 1000, f, 0, f.length);
            }
        }
        List<Path> capture = List.of(pcap);
        Topology t = Topology.fromCaptures(capture, List.of("10.0.0.0/24"), Map.of());
        return HostRun.run(t, capture, FlowConfig.defaults(), streams, a -> { }, new PrintWriter(new StringWriter()), "test");
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The frame with its source and destination MACs swapped: sent by the guest, whose MAC the quick start learns. */
    static byte[] fromGuest(byte[] f) {
        for (int i = 0; i < 6; i++) {
            byte m = f[i];
            f[i] = f[i + 6];
            f[i + 6] = m;
        }
        return f;
    }

    private static byte[] badChecksum(byte[] f) {
        f[14 + 20 + 16] ^= 0x55;
        return f;
    }
}
