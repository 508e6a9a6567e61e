package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;
import org.xenids.testdata.PacketBuilder;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;
import org.xenids.testdata.Tshark;

class PcapCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Distinct tcp.stream and udp.stream values, and the frame count, as tshark sees the capture. */
    static long[] tsharkStreamsAndFrames(Path plain) throws Exception {
        List<String> lines = Tshark.fields(plain, "frame.number", "tcp.stream", "udp.stream", "communityid");
        Set<String> tcp = new HashSet<>(), udp = new HashSet<>();
        for (String l : lines) {
            String[] c = l.split("\\|", -1);
            if (!c[1].isEmpty()) tcp.add(c[1]);
            if (!c[2].isEmpty()) udp.add(c[2]);
        }
        return new long[] {tcp.size(), udp.size(), lines.size()};
    }

    @Test
    void statsJsonCountsPacketsAndFlowsAsTshark() throws Exception {
        Tshark.assumeInstalled();
        String rel = "traffic/dev/test/scenarios/attack_nmap_version_scan.pcap.xz";
        long[] t = tsharkStreamsAndFrames(SharedData.plain(rel));
        String[] r = MainTest.run("pcap", "stats", "--json", SharedData.file(rel).toString());
        assertEquals("0", r[0], r[2]);
        JsonNode s = JSON.readTree(r[1]);
        assertEquals(t[2], s.get("packets").asLong());
        assertEquals(t[0], s.path("flows").path("by_protocol").path("tcp").asLong());
        assertEquals(t[1], s.path("flows").path("by_protocol").path("udp").asLong(0));
        assertEquals(t[0] + t[1], s.path("flows").path("total").asLong());
        assertEquals(t[2], s.path("link_types").path("ETHERNET").asLong());
        assertTrue(s.path("top_talkers").size() > 0);
    }

    @Test
    void flowsEveRecordsValidateAgainstSuricatasSchema(@TempDir Path tmp) throws Exception {
        String rel = "traffic/dev/train/train_benign.pcap.xz";
        Path eve = tmp.resolve("flows.json");
        String[] r = MainTest.run("pcap", "flows", "--eve", eve.toString(), SharedData.file(rel).toString());
        assertEquals("0", r[0], r[2]);
        List<String> lines = Files.readAllLines(eve);
        long labelled = Files.lines(SharedData.file("traffic/dev/train/train_benign.csv")).skip(1).count();
        assertEquals(labelled + 1, lines.size(), "one record per flow of the label CSV, then the run's counts");
        EveSchema.assertValid(lines);
        assertEquals("stats", JSON.readTree(lines.getLast()).get("event_type").asText());
        for (String l : lines.subList(0, lines.size() - 1)) {
            JsonNode n = JSON.readTree(l);
            assertEquals("flow", n.get("event_type").asText());
            assertTrue(n.get("community_id").asText().startsWith("1:"), l);
        }
    }

    @Test
    void flowsWithoutEvePrintsATableWithCommunityIds() {
        String[] r = MainTest.run("pcap", "flows", SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString());
        assertEquals("0", r[0], r[2]);
        List<String> rows = r[1].lines().toList();
        assertEquals(6, rows.size(), r[1]);
        assertTrue(rows.get(0).contains("community_id"));
        assertTrue(r[1].contains("1:ntdDw8YVasAVk2zF0laM5DtC2yo="), "tshark's ID of the first connection");
    }

    @Test
    void truncatedCaptureReportsRecordsBeforeTheFaultThenFailsWithOneLine(@TempDir Path tmp) throws Exception {
        Path full = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        long cut = -1;
        try (CaptureReader rd = CaptureReader.open(full)) {
            for (int i = 0; i < 31 && rd.next(); i++) cut = rd.recordOffset() + 8;
        }
        byte[] bytes = Files.readAllBytes(full);
        Path broken = tmp.resolve("broken.pcap");
        Files.write(broken, Arrays.copyOf(bytes, (int) cut));
        String[] r = MainTest.run("pcap", "stats", "--json", broken.toString());
        assertEquals("1", r[0]);
        JsonNode s = JSON.readTree(r[1]);
        assertEquals(30, s.get("packets").asLong(), "the 30 whole records before the cut are counted");
        assertTrue(s.get("flows").get("total").asLong() > 0);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].startsWith("xenids: broken.pcap: offset "), r[2]);
    }

    @Test
    void malformedFramesAreCountedAsNamedDecoderEvents(@TempDir Path tmp) throws Exception {
        Path cap = tmp.resolve("hostile.pcapng");
        byte[] good = PacketBuilder.tcpFrame("203.0.113.9", 4000, "10.0.0.11", 80, 1, 0, PacketBuilder.SYN, new byte[0]);
        byte[] seg = PacketBuilder.udp(7, 9, new byte[24]);
        byte[] frag1 = PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.9", "10.0.0.15", 5, 0, true,
                new byte[0], Arrays.copyOfRange(seg, 0, 16)));
        byte[] frag2 = PacketBuilder.ethernet(0x0800, PacketBuilder.ipv4(17, "203.0.113.9", "10.0.0.15", 5, 8, false,
                new byte[0], new byte[24]));
        try (CaptureWriter w = CaptureWriter.pcapng(cap)) {
            int eth = w.addInterface(1, "eth0", null);
            w.write(eth, 1_000, good, 0, good.length);
            w.write(eth, 2_000, good, 0, good.length - 3);           // IPv4 total length past the frame
            w.write(eth, 3_000, frag1, 0, frag1.length);
            w.write(eth, 4_000, frag2, 0, frag2.length);             // overlaps the first fragment
        }
        String[] r = MainTest.run("pcap", "stats", "--json", cap.toString());
        assertEquals("0", r[0], r[2]);
        JsonNode s = JSON.readTree(r[1]);
        assertEquals(4, s.get("packets").asLong());
        assertEquals(1, s.path("decoder_events").path("ipv4.trunc_pkt").asLong());
        assertEquals(1, s.path("decoder_events").path("ipv4.frag_overlap").asLong());
        assertEquals(0, s.get("reassembled_datagrams").asLong(), "the overlap condemned the datagram");
        assertEquals(2, s.path("protocols").path("ipv4/fragment").asLong());
        assertEquals(1, s.path("protocols").path("malformed_ip").asLong());
        assertEquals(3, s.path("flows").path("packets_without_flow").asLong(), "the truncated frame and both fragments");
        assertEquals(1, s.path("flows").path("total").asLong());
    }

    /**
     * The real shellcode capture as pcapng, with the interface statistics its capturer writes on
     * stopping: {@code drops} packets it could not keep.
     */
    static Path withReportedDrops(Path dir, long drops) throws Exception {
        Path out = dir.resolve("dropped.pcapng");
        try (CaptureReader r = CaptureReader.open(SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz"));
             CaptureWriter w = CaptureWriter.pcapng(out)) {
            int eth = w.addInterface(1, "eth0", null);
            long n = 0, last = 0;
            while (r.next()) {
                w.write(eth, r);
                n++;
                last = r.timestampNanos();
            }
            w.statistics(eth, last + 1, n + drops, drops);
        }
        return out;
    }

    @Test
    void statsShowsTheDropsTheCaptureReportsAndWhatItsRecordsLackInTextAsInJson(@TempDir Path tmp) throws Exception {
        Path full = withReportedDrops(tmp, 7);
        // Cut to 96 bytes as editcap -s 96 does: the records keep their lengths on the wire.
        Path cut = tmp.resolve("cut.pcapng");
        long snapped = 0, original = 0;
        try (CaptureReader r = CaptureReader.open(full); CaptureWriter w = CaptureWriter.pcapng(cut)) {
            int eth = w.addInterface(1, "eth0", null);
            while (r.next()) {
                int len = Math.min(96, r.capturedLength());
                snapped += len < r.originalLength() ? 1 : 0;
                original += r.originalLength();
                w.write(eth, r.timestampNanos(), r.array(), r.dataOffset(), len, r.originalLength());
            }
            w.statistics(eth, r.timestampNanos() + 1, 0, 7);
        }
        assertTrue(snapped > 0);
        String[] json = MainTest.run("pcap", "stats", "--json", cut.toString());
        assertEquals("0", json[0], json[2]);
        JsonNode s = JSON.readTree(json[1]);
        assertEquals(7, s.get("reported_drops").asLong());
        assertEquals(snapped, s.get("snapped_packets").asLong());
        assertEquals(original, s.get("original_bytes").asLong());
        String[] text = MainTest.run("pcap", "stats", cut.toString());
        assertEquals("0", text[0], text[2]);
        List<String> lines = text[1].lines().toList();
        assertTrue(lines.contains("  original bytes   " + original + " (on the wire)"), text[1]);
        assertTrue(lines.contains("  snapped packets  " + snapped + " (captured shorter than they were on the wire)"),
                text[1]);
        assertTrue(lines.contains("  capture reports 7 packets dropped by its capturer"), text[1]);
        // A capture that reports none says nothing of it.
        String[] none = MainTest.run("pcap", "stats", SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString());
        assertEquals("0", none[0], none[2]);
        assertTrue(!none[1].contains("dropped by its capturer") && none[1].contains("  snapped packets  0 "), none[1]);
    }

    @Test
    void flowsSaysOnStderrWhatItsFlowsLeaveOutAndKeepsItsStdoutAsItWas(@TempDir Path tmp) throws Exception {
        // The real capture of HTTP exploits cut to 96 bytes a record, as editcap -s 96 cuts it:
        // most of its packets end in no flow, and its streams lose their payload, silently.
        Path whole = SharedData.file("traffic/dev/test/scenarios/attack_http_exploits.pcap.xz");
        Path cut = tmp.resolve("cut.pcap");
        try (CaptureReader r = CaptureReader.open(whole); CaptureWriter w = CaptureWriter.pcap(cut, 1, false)) {
            while (r.next()) {
                w.write(0, r.timestampNanos(), r.array(), r.dataOffset(), Math.min(96, r.capturedLength()),
                        r.originalLength());
            }
        }
        JsonNode s = JSON.readTree(MainTest.run("pcap", "stats", "--json", cut.toString())[1]);
        JsonNode fl = s.get("flows");
        long noFlow = fl.get("packets_without_flow").asLong();
        assertTrue(noFlow > 0 && fl.get("tcp_gaps").asLong() > 0, s.toString());
        assertEquals(List.of("ipv4.trunc_pkt"), iterable(s.get("decoder_events").fieldNames()), s.toString());
        String[] r = MainTest.run("pcap", "flows", cut.toString());
        assertEquals("0", r[0], r[2]);
        assertEquals(List.of(
                String.format("xenids: %,d flows of %,d packets; %,d packets in no flow (non-IP packets, IP fragments,"
                        + " whose datagrams count once reassembled, and malformed packets; decoder events:"
                        + " ipv4.trunc_pkt %,d)", fl.get("total").asLong(),
                        s.get("packets").asLong(), noFlow, s.get("decoder_events").get("ipv4.trunc_pkt").asLong()),
                String.format("xenids: %,d reassembly gaps (%,d bytes missing from the TCP streams)",
                        fl.get("tcp_gaps").asLong(), fl.get("tcp_gap_bytes").asLong())), r[2].lines().toList());
        // stdout is the table alone, one row per flow, whatever it left out.
        List<String> rows = r[1].lines().toList();
        assertEquals(fl.get("total").asLong() + 1, rows.size());
        assertEquals(MainTest.run("pcap", "flows", whole.toString())[1].lines().findFirst().orElseThrow(), rows.get(0));
        // Nothing left out: one line says so. A capture that reports drops: a line for them.
        String[] intact = MainTest.run("pcap", "flows", "--eve", tmp.resolve("f.json").toString(), whole.toString());
        assertEquals("0", intact[0], intact[2]);
        assertEquals(List.of(String.format("xenids: %,d flows of %,d packets; 0 packets in no flow", fl.get("total").asLong(),
                s.get("packets").asLong()), "xenids: wrote " + fl.get("total").asLong() + " flow records to "
                + tmp.resolve("f.json")), intact[2].lines().toList());
        Path dropped = withReportedDrops(tmp, 7);
        String[] d = MainTest.run("pcap", "flows", dropped.toString());
        assertEquals("0", d[0], d[2]);
        assertTrue(d[2].lines().toList().contains("xenids: capture reports 7 packets dropped by its capturer (" + dropped
                + ")"), d[2]);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new java.util.ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    /**
     * A connection whose SYN carries 3 bytes the server does not take (its SYN-ACK acknowledges
     * the SYN alone): a sender showing the detector bytes its receiver drops, then the request.
     */
    static List<byte[]> synWithDataNotTaken() {
        String c = "203.0.113.9", g = "10.0.0.11";
        return List.of(
                PacketBuilder.tcpFrame(c, 40000, g, 80, 0, 0, PacketBuilder.SYN, "abc".getBytes()),
                HostRunTest.fromGuest(PacketBuilder.tcpFrame(g, 80, c, 40000, 500, 1, PacketBuilder.SYN | PacketBuilder.ACK,
                        new byte[0])),
                PacketBuilder.tcpFrame(c, 40000, g, 80, 1, 501, PacketBuilder.ACK, new byte[0]),
                PacketBuilder.tcpFrame(c, 40000, g, 80, 1, 501, PacketBuilder.ACK | PacketBuilder.PSH, "xyz".getBytes()));
    }

    @Test
    void bytesOnASynItsReceiverDroppedAreSummedInStatsAndFlows(@TempDir Path tmp) throws Exception {
        Path cap = tmp.resolve("syn.pcap");
        try (CaptureWriter w = CaptureWriter.pcap(cap, 1, false)) {
            long ts = 1_000_000_000L;
            for (byte[] f : synWithDataNotTaken()) {
                w.write(0, ts += 1000, f, 0, f.length);
            }
        }
        String[] r = MainTest.run("pcap", "stats", "--json", cap.toString());
        assertEquals("0", r[0], r[2]);
        assertEquals(3, JSON.readTree(r[1]).path("flows").path("tcp_syn_data_dropped_bytes").asLong(), r[1]);
        String[] f = MainTest.run("pcap", "flows", cap.toString());
        assertEquals("0", f[0], f[2]);
        assertTrue(f[2].lines().toList().contains("xenids: 3 bytes carried on SYNs were dropped by their receivers"), f[2]);
    }

    @Test
    void aDirectoryGivenAsACaptureIsNamedInTheError(@TempDir Path tmp) {
        // Opening a directory succeeds on Linux; the read that follows failed as "Is a directory", no path.
        for (String[] cmd : new String[][] {{"pcap", "stats", tmp.toString()}, {"pcap", "flows", tmp.toString()},
                {"replay", "--guests", "10.0.0.0/8", "--pcap", tmp.toString()}}) {
            String[] r = MainTest.run(cmd);
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: " + tmp + ": is a directory, not a capture file", r[2].strip(), String.join(" ", cmd));
        }
    }

    @Test
    void aNegativeTopIsAUsageErrorNotAnEmptyList() {
        String[] r = MainTest.run("pcap", "stats", "--top", "-5", "x.pcap");
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].startsWith("xenids: --top must be 0 or more: -5"), r[2]);
    }

    @Test
    void urgentBytesOfARealLinuxConnectionAreCounted() throws Exception {
        String cap = Path.of(PcapCommandsTest.class.getResource("/org/xenids/flow/urgent-late.pcapng").toURI()).toString();
        String[] r = MainTest.run("pcap", "stats", "--json", cap);
        assertEquals("0", r[0], r[2]);
        assertEquals(3, JSON.readTree(r[1]).path("flows").path("tcp_urgent_bytes").asLong());
    }
}
