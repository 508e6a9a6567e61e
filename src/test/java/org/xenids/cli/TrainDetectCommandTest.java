package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;

/** {@code xenids train} and {@code xenids detect} on real captures through the emulated host and the tap. */
class TrainDetectCommandTest {
    @TempDir
    static Path shared;
    /** {@code xenids train}'s exit code, output and errors, run once for the tests that detect with its models. */
    private static String[] training;

    /** Models of the benign training capture, the inventory service named: trained on first use. */
    static synchronized Path models() throws Exception {
        Path dir = shared.resolve("models");
        if (training == null) {
            String train = SharedData.file("traffic/dev/train/train_benign.pcap.xz").toString();
            training = MainTest.run("train", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                    "--pcap", train, "--models", dir.toString());
        }
        assertEquals("0", training[0], training[2]);
        return dir;
    }

    @Test
    void trainThenDetectFindsTheShellcodeOfTheInventoryService(@TempDir Path dir) throws Exception {
        // The inventory service's benign sessions are in the training capture; the attack capture
        // sends it NOP sleds and execve shellcode.
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        Path models = models();
        assertTrue(training[1].contains("inventory/to_server/tcp/9000"), training[1]);
        Path eve = dir.resolve("eve.json");
        Path scores = dir.resolve("scores.csv");
        String[] d = MainTest.run("detect", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                "--models", models.toString(), "--pcap", attack, "--eve", eve.toString(), "--scores", scores.toString());
        assertEquals("0", d[0], d[2]);
        List<String> alerts = Files.readAllLines(eve);
        EveSchema.assertValid(alerts);
        // Every flow that sends the service bytes (5, as the data's README says) alerts on what it sent.
        java.util.Set<Integer> sending = new java.util.TreeSet<>();
        forEachFrame(Path.of(attack), (f, ts, port, toService, len) -> {
            if (toService && len > 0) sending.add(port);
        });
        assertEquals(5, sending.size(), "client ports sending to the service: " + sending);
        java.util.Set<Integer> alerted = new java.util.TreeSet<>();
        java.util.regex.Pattern srcPort = java.util.regex.Pattern.compile("\"src_port\":(\\d+)");
        for (String l : alerts) {
            java.util.regex.Matcher m = srcPort.matcher(l);
            if (l.contains("\"vm_image\":\"inventory\"") && l.contains("\"dest_port\":9000") && m.find()) {
                alerted.add(Integer.parseInt(m.group(1)));
            }
        }
        assertEquals(sending, alerted, "each shellcode flow alerts on its requests\n" + d[1]);
        assertTrue(Files.readAllLines(scores).size() > 5);
        assertTrue(d[1].contains("payloads: ") && !d[1].contains("Counters["), d[1]);
    }

    @Test
    void segmentsTheCaptureLostInsideTheScoredBytesAreReportedAsStreamAnomaliesAndCounted(@TempDir Path dir)
            throws Exception {
        // The real shellcode capture with two segments left out: the first of the service's two
        // answers in one flow (the second then waits for it until the flow ends), and the only
        // request of another flow (the service's acknowledgement says it existed).
        Path models = models();
        assertTrue(!training[1].contains("reassembly gaps"), "the training capture has none: " + training[1]);
        Path lossy = dir.resolve("lossy.pcapng");
        Path capture = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        java.util.Map<Integer, Integer> answers = new java.util.HashMap<>();
        forEachFrame(capture, (f, ts, port, toService, len) -> {
            if (len > 0 && !toService) answers.merge(port, 1, Integer::sum);
        });
        int[] answer = {-1, 0};
        int[] request = {-1, 0};
        try (var w = org.xenids.pcap.CaptureWriter.pcapng(lossy)) {
            int iface = w.addInterface(1, "eth0", null);
            forEachFrame(capture, (f, ts, port, toService, len) -> {
                if (len > 0 && !toService && answer[0] < 0 && answers.get(port) >= 2) {
                    answer[0] = port;
                    answer[1] = len;
                    return;
                }
                if (len > 0 && toService && request[0] < 0 && answers.getOrDefault(port, 0) < 2) {
                    request[0] = port;
                    request[1] = len;
                    return;
                }
                w.write(iface, ts, f.array(), f.arrayOffset(), f.remaining());
            });
        }
        assertTrue(answer[0] > 0 && request[0] > 0, "two flows to the service in the capture");
        Path eve = dir.resolve("eve.json");
        String[] d = MainTest.run("detect", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                "--models", models.toString(), "--pcap", lossy.toString(), "--eve", eve.toString());
        assertEquals("0", d[0], d[2]);
        assertTrue(d[1].contains("reassembly gaps inside scored payload: 2 (" + (answer[1] + request[1])
                + " bytes) in 2 flow directions"), d[1]);
        List<String> lines = Files.readAllLines(eve);
        EveSchema.assertValid(lines);
        List<String> gaps = lines.stream().filter(l -> l.contains("\"event_type\":\"anomaly\"")).toList();
        assertEquals(2, gaps.size(), String.join("\n", gaps));
        for (String g : gaps) {
            assertTrue(g.contains("\"type\":\"stream\"") && g.contains("stream.reassembly_seq_gap")
                    && g.contains("\"in_iface\":\"10.0.0.16/vif0\""), g);
        }
        // Each oriented as the direction that lost the bytes.
        assertTrue(gaps.stream().anyMatch(g -> g.contains("\"src_port\":9000,") && g.contains("\"dest_port\":" + answer[0])),
                String.join("\n", gaps));
        assertTrue(gaps.stream().anyMatch(g -> g.contains("\"src_port\":" + request[0] + ",") && g.contains("\"dest_port\":9000")),
                String.join("\n", gaps));
    }

    @Test
    void anUrgentByteInAScoredRequestIsTakenOutUnlessToldInlineAndReportedEitherWay(@TempDir Path dir)
            throws Exception {
        // The real shellcode capture with the first request to the service marked urgent at its
        // last byte, its checksum made right again (the emulated uplink NIC checks it).
        Path capture = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path marked = dir.resolve("urgent.pcapng");
        int[] port = {-1};
        try (var w = org.xenids.pcap.CaptureWriter.pcapng(marked)) {
            int iface = w.addInterface(1, "eth0", null);
            forEachFrame(capture, (f, ts, p, toService, len) -> {
                byte[] b = new byte[f.remaining()];
                f.duplicate().get(b);
                if (len > 0 && toService && port[0] < 0) {
                    port[0] = p;
                    int tcp = 14 + (b[14] & 0x0f) * 4;
                    byte[] packet = java.util.Arrays.copyOf(b, 14 + (((b[16] & 0xff) << 8) | (b[17] & 0xff)));
                    packet[tcp + 13] |= 0x20;
                    packet[tcp + 18] = (byte) (len >> 8);
                    packet[tcp + 19] = (byte) len;
                    org.xenids.testdata.PacketBuilder.l4Checksum(packet, tcp, 6,
                            java.util.Arrays.copyOfRange(packet, 26, 34));
                    System.arraycopy(packet, 0, b, 0, packet.length);
                }
                w.write(iface, ts, b, 0, b.length);
            });
        }
        Path models = models();
        String[][] scores = new String[2][];
        for (int inline = 0; inline < 2; inline++) {
            Path eve = dir.resolve("eve" + inline + ".json");
            Path csv = dir.resolve("scores" + inline + ".csv");
            List<String> args = new java.util.ArrayList<>(List.of("detect", "--guests", "10.0.0.0/24", "--image",
                    "10.0.0.16/32=inventory", "--models", models.toString(), "--pcap", marked.toString(), "--eve",
                    eve.toString(), "--scores", csv.toString()));
            if (inline == 1) {
                args.addAll(List.of("--tcp-urgent", "inline"));
            }
            String[] d = MainTest.run(args.toArray(String[]::new));
            assertEquals("0", d[0], d[2]);
            assertTrue(d[1].contains("TCP urgent bytes inside scored payload: 1 in 1 flow directions, "
                    + (inline == 1 ? "left in" : "taken out of") + " the streams"), d[1]);
            List<String> anomalies = Files.readAllLines(eve).stream()
                    .filter(l -> l.contains("\"event_type\":\"anomaly\"")).toList();
            assertEquals(1, anomalies.size(), String.join("\n", anomalies));
            assertTrue(anomalies.get(0).contains("\"event\":\"stream.urgent_data\"")
                    && anomalies.get(0).contains("\"src_port\":" + port[0] + ","), anomalies.get(0));
            scores[inline] = Files.readAllLines(csv).toArray(String[]::new);
        }
        for (int inline = 0; inline < 2; inline++) {
            String[] t = MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", marked.toString(), "--models",
                    dir.resolve("models" + inline).toString(), "--tcp-urgent", inline == 1 ? "INLINE" : "out_of_band");
            // Five flows give too few payloads for a model; what training saw is printed all the same.
            assertEquals("1", t[0], t[2]);
            assertTrue(t[2].contains("no model trained"), t[2]);
            assertTrue(t[1].contains("TCP urgent bytes inside trained payload: 1 in 1 flow directions, "
                    + (inline == 1 ? "left in" : "taken out of") + " the streams"), t[1]);
        }
        // The byte taken out changes its flow direction's score and nothing else.
        assertEquals(scores[0].length, scores[1].length);
        List<String> differing = new java.util.ArrayList<>();
        for (int i = 0; i < scores[0].length; i++) {
            if (!scores[0][i].equals(scores[1][i])) {
                differing.add(scores[0][i]);
            }
        }
        assertEquals(1, differing.size(), String.join("\n", differing));
        assertTrue(differing.get(0).contains("," + port[0] + ",") && differing.get(0).contains("to_server"),
                differing.get(0));
    }

    interface FrameAction {
        /**
         * A frame; for a TCP segment of the service on port 9000: the client's port, whether it
         * goes to the service, and its payload length; else -1, false, 0.
         */
        void frame(ByteBuffer frame, long timestampNanos, int port, boolean toService, int payload)
                throws java.io.IOException;
    }

    /** Every frame of an Ethernet capture, in order. */
    static void forEachFrame(Path capture, FrameAction action) throws java.io.IOException {
        try (var r = org.xenids.pcap.CaptureReader.open(capture)) {
            while (r.next()) {
                ByteBuffer f = ByteBuffer.wrap(r.array(), r.dataOffset(), r.capturedLength()).slice();
                int ip = 14, tcp = ip + (f.get(ip) & 0x0f) * 4;
                boolean tcpv4 = f.getShort(12) == 0x0800 && f.get(ip + 9) == 6;
                int sport = tcpv4 ? f.getShort(tcp) & 0xffff : -1, dport = tcpv4 ? f.getShort(tcp + 2) & 0xffff : -1;
                boolean service = sport == 9000 || dport == 9000;
                int payload = service ? (f.getShort(ip + 2) & 0xffff) - (tcp - ip) - ((f.get(tcp + 12) & 0xf0) >>> 2) : 0;
                action.frame(f, r.timestampNanos(), !service ? -1 : sport == 9000 ? dport : sport, dport == 9000, payload);
            }
        }
    }

    @Test
    void withoutGuestsOrTopologyItIsAUsageError() {
        String[] r = MainTest.run("train", "--pcap", "x.pcap", "--models", "m");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("give either --topology or --guests"), r[2]);
    }

    @Test
    void detectWithoutTrainedModelsFailsInOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.toString(), "--pcap", attack,
                "--eve", dir.resolve("e.json").toString());
        assertEquals("1", r[0]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].contains(PaylRun.MODEL_FILE), r[2]);
    }

    @Test
    void detectRefusesACraftedModelFileInOneLineNamingFileAndOffset(@TempDir Path dir) throws Exception {
        // Models `xenids train` wrote for the inventory service (image "10.0.0.16"), with the first
        // model's port set to -1 and the checksum made right again, as someone crafting it would.
        byte[] body = inventoryServiceModels();
        ByteBuffer.wrap(body).putInt(50 + 4 + 2 + "10.0.0.16".length() + 2, -1);
        Path model = modelFile(dir, body).resolve(PaylRun.MODEL_FILE);
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.toString(), "--pcap", attack,
                "--eve", dir.resolve("e.json").toString());
        assertEquals("1", r[0], r[1]);
        assertEquals("xenids: model file " + model + ": offset 66: model 10.0.0.16/to_server/any/len:all"
                + " is a port's model but names no port (only an image's all-ports fallback may)",
                r[2].strip());
    }

    @Test
    void flowsWithNoGuestEndpointAreCountedAsNeitherScoredNorTrainedOn(@TempDir Path dir) throws Exception {
        // Guests 10.0.0.11 and 10.0.0.15 ask the outside something (so the quick start finds
        // them); then a datagram of 600 bytes comes from outside to the subnet's broadcast
        // address, which the bridge floods to both guests. No guest's address is in its flow,
        // so no VM image judges it: it used to go unscored and unmentioned.
        Path pcap = dir.resolve("broadcast.pcap");
        byte[][] frames = {
            swapMacs(org.xenids.testdata.PacketBuilder.udpFrame("10.0.0.11", 40000, "203.0.113.5", 53, new byte[20])),
            swapMacs(org.xenids.testdata.PacketBuilder.udpFrame("10.0.0.15", 40001, "203.0.113.5", 53, new byte[20])),
            org.xenids.testdata.PacketBuilder.udpFrame("203.0.113.9", 5353, "10.0.0.255", 53, new byte[600]),
        };
        java.util.Arrays.fill(frames[2], 0, 6, (byte) 0xff);
        try (var w = org.xenids.pcap.CaptureWriter.pcap(pcap, 1, false)) {
            long ts = 1_000_000_000L;
            for (byte[] f : frames) {
                w.write(0, ts += 1000, f, 0, f.length);
            }
        }
        Path models = modelFile(dir.resolve("models"), inventoryServiceModels());
        String[] d = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", models.toString(), "--pcap",
                pcap.toString(), "--eve", dir.resolve("eve.json").toString());
        assertEquals("0", d[0], d[2]);
        // Each guest's copy is counted: the flow's two datagrams of 600 bytes.
        assertTrue(d[1].lines().anyMatch(l -> l.equals(String.format("1 flow (%,d payload bytes) not scored: no endpoint is a"
                + " known guest address", 1200))), d[1]);
        String[] t = MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", pcap.toString(), "--models",
                dir.resolve("trained").toString());
        assertEquals("1", t[0], t[2]); // two payloads of 20 bytes are too few for a model
        assertTrue(t[1].lines().anyMatch(l -> l.equals(String.format("1 flow (%,d payload bytes) not trained on: no"
                + " endpoint is a known guest address", 1200))), t[1]);
    }

    /** The frame with its source and destination MACs swapped: sent by the guest, whose MAC the quick start learns. */
    private static byte[] swapMacs(byte[] f) {
        for (int i = 0; i < 6; i++) {
            byte m = f[i];
            f[i] = f[i + 6];
            f[i + 6] = m;
        }
        return f;
    }

    /**
     * The body of a model file `xenids train` wrote for the inventory service of the dev captures
     * (its image named after its address, "10.0.0.16", as the quick start names it): a detect can
     * run on it without training first.
     */
    static byte[] inventoryServiceModels() throws java.io.IOException {
        try (InputStream in = TrainDetectCommandTest.class.getResourceAsStream("/org/xenids/detect/payl/"
                + "ModelFileFuzzTestInputs/anyModelFileLoadsAndScoresOrIsRefusedInOneLine/inventory-service-models")) {
            return in.readAllBytes();
        }
    }

    /** A models folder in {@code dir} whose model file holds {@code body}, framed and checksummed as train writes it. */
    static Path modelFile(Path dir, byte[] body) throws java.io.IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.writeBytes("XNIDPAYL".getBytes(StandardCharsets.US_ASCII));
        f.writeBytes(new byte[] {0, 1, 0, 2});
        f.writeBytes(body);
        CRC32C crc = new CRC32C();
        crc.update(f.toByteArray());
        f.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        f.writeBytes("PAYL-END".getBytes(StandardCharsets.US_ASCII));
        Files.createDirectories(dir);
        Files.write(dir.resolve(PaylRun.MODEL_FILE), f.toByteArray());
        return dir;
    }

    @Test
    void anOutOfRangeSettingIsAUsageErrorNamingTheOptionTyped() {
        String[][] cases = {{"--depth", "-1", "--depth must be 1..16777215: -1"},
            {"--target-fpr", "1.5", "--target-fpr must be in (0, 0.5): 1.5"},
            {"--holdout", "NaN", "--holdout must be in (0, 1): NaN"},
            // nothing would be held out to calibrate the thresholds on
            {"--holdout", "0", "--holdout must be in (0, 1): 0.0"}};
        for (String[] c : cases) {
            String[] r = MainTest.run("train", "--guests", "10.0.0.0/8", "--pcap", "x.pcap", "--models", "m", c[0], c[1]);
            assertEquals("2", r[0], r[2]);
            assertTrue(r[2].startsWith("xenids: " + c[2] + " (see"), r[2]);
        }
    }
}
