package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;

/** xenids replay and xenids tap on a real capture: the trace gives the same frames as the live run. */
class ReplayCommandTest {
    @TempDir
    Path dir;

    static List<String> frames(Path pcapng) throws IOException {
        List<String> out = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(pcapng)) {
            while (r.next()) {
                out.add(r.interfaceName(r.interfaceId()) + " " + r.capturedLength() + " "
                        + java.util.Arrays.hashCode(java.util.Arrays.copyOfRange(r.array(), r.dataOffset(),
                        r.dataOffset() + r.capturedLength())));
            }
        }
        return out;
    }

    @Test
    void replayThenTapOnTheRecordedTraceGiveTheSameFramesAndCounters() throws IOException {
        Path pcap = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path topo = dir.resolve("t.yaml");
        Files.writeString(topo, """
                uplink: {mac: "fe:ff:ff:ff:ff:ff"}
                domains:
                  - name: invsvc
                    image: inventory
                    vifs:
                      - {mac: "00:16:3e:00:00:16", ips: ["10.0.0.16"], queues: 2}
                """);
        Path live = dir.resolve("live.pcapng");
        Path trace = dir.resolve("t.trace");
        String[] r = MainTest.run("replay", "--topology", topo.toString(), "--pcap", pcap.toString(),
                "--write-pcap", live.toString(), "--record-trace", trace.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("dom1/vif0/q1/tx"), "the second queue's rings are found: " + r[1]);
        String liveRow = r[1].lines().filter(l -> l.startsWith("dom1 ")).findFirst().orElseThrow();
        Path again = dir.resolve("again.pcapng");
        String[] t = MainTest.run("tap", "--trace", trace.toString(), "--write-pcap", again.toString());
        assertEquals("0", t[0], t[2]);
        assertEquals(liveRow, t[1].lines().filter(l -> l.startsWith("dom1 ")).findFirst().orElseThrow());
        List<String> a = frames(live);
        assertEquals(a, frames(again));
        assertTrue(a.size() >= 50, "frames: " + a.size());
        assertTrue(a.stream().anyMatch(f -> f.startsWith("dom1/vif0/tx ")) && a.stream().anyMatch(f -> f.startsWith("dom1/vif0/rx ")));

        // Cut in the middle of a record: what came before is counted and printed, then the error.
        byte[] whole = Files.readAllBytes(trace);
        Path cut = dir.resolve("cut.trace");
        Files.write(cut, java.util.Arrays.copyOf(whole, whole.length / 2 + 3));
        String[] c = MainTest.run("tap", "--trace", cut.toString());
        assertEquals("1", c[0], c[2]);
        assertTrue(c[1].lines().anyMatch(l -> l.startsWith("dom1 ")) && c[1].contains("trace broken"), c[1]);
        assertTrue(c[2].startsWith("xenids: " + cut + ": offset "), c[2]);
        assertEquals(1, c[2].strip().lines().count(), c[2]);
    }

    @Test
    void aDamagedTracesFlowsAreEndedPrintedAndWrittenBeforeTheError() throws IOException {
        Path pcap = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path trace = dir.resolve("t.trace");
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", pcap.toString(),
                "--record-trace", trace.toString());
        assertEquals("0", r[0], r[2]);
        byte[] whole = Files.readAllBytes(trace);
        Path cut = Files.write(dir.resolve("cut.trace"), java.util.Arrays.copyOf(whole, whole.length * 2 / 3 + 3));
        Path eve = dir.resolve("cut.json");
        String[] c = MainTest.run("tap", "--trace", cut.toString(), "--eve", eve.toString());
        assertEquals("1", c[0], c[2]);
        assertTrue(c[2].startsWith("xenids: " + cut + ": offset "), c[2]);
        // As replay does on a cut capture: the flows line, then the note, then the error.
        List<String> lines = c[1].lines().toList();
        String flows = lines.stream().filter(l -> l.startsWith("flows: ")).findFirst().orElseThrow(() ->
                new AssertionError("no flows line:\n" + c[1]));
        assertTrue(lines.indexOf(flows) < lines.indexOf("trace broken: the counters cover it up to the damage"), c[1]);
        long printed = Long.parseLong(flows.replaceAll("flows: (\\d+) .*", "$1"));
        long written = Files.readAllLines(eve).stream().filter(l -> l.contains("\"event_type\":\"flow\"")).count();
        assertTrue(printed > 0, flows);
        assertEquals(printed, written, "every flow the tap saw before the damage has its record\n" + c[1]);
    }

    @Test
    void eachDomainsFramesGoUnderItsOwnInterfaceWhenDomidsShareTheirLowBits() throws IOException {
        // dom1025 and dom1 differ only above bit 10: keyed on those bits, the attacker's frames
        // went under the service's interface names.
        Path pcap = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path topo = dir.resolve("t.yaml");
        Files.writeString(topo, """
                uplink: {mac: "fe:ff:ff:ff:ff:ff"}
                domains:
                  - name: invsvc
                    domid: 1
                    vifs:
                      - {mac: "00:16:3e:00:00:16", ips: ["10.0.0.16"]}
                  - name: attacker
                    domid: 1025
                    vifs:
                      - {mac: "00:16:3e:00:04:01", ips: ["203.0.113.169"]}
                """);
        Path out = dir.resolve("out.pcapng");
        String[] r = MainTest.run("replay", "--topology", topo.toString(), "--pcap", pcap.toString(),
                "--write-pcap", out.toString());
        assertEquals("0", r[0], r[2]);
        java.util.Map<String, Integer> byInterface = new java.util.TreeMap<>();
        for (String f : frames(out)) {
            byInterface.merge(f.substring(0, f.indexOf(' ')), 1, Integer::sum);
        }
        // Each frame leaves its sender's vif and enters its receiver's, and so does each guest's
        // announcement as it comes up.
        int fromService = 0, fromAttacker = 0;
        try (CaptureReader c = CaptureReader.open(pcap)) {
            while (c.next()) {
                byte[] b = c.array();
                int src = c.dataOffset() + 14 + 12;
                boolean service = (b[src] & 0xff) == 10 && (b[src + 3] & 0xff) == 16;
                fromService += service ? 1 : 0;
                fromAttacker += service ? 0 : 1;
            }
        }
        assertTrue(fromService > 0 && fromAttacker > 0);
        assertEquals(java.util.Map.of("dom1/vif0/tx", fromService + 1, "dom1025/vif0/rx", fromService + 1,
                "dom1025/vif0/tx", fromAttacker + 1, "dom1/vif0/rx", fromAttacker + 1), byInterface, r[1]);
    }

    @Test
    void damagedTraceIsAOneLineErrorNamingTheOffset() throws IOException {
        Path bad = dir.resolve("bad.trace");
        Files.write(bad, new byte[] {'X', 'E', 'N'});
        String[] t = MainTest.run("tap", "--trace", bad.toString());
        assertEquals("1", t[0]);
        assertTrue(t[2].startsWith("xenids: ") && t[2].contains("offset 0: truncated file header"), t[2]);
        assertEquals(1, t[2].strip().lines().count());
        assertEquals("", t[1], "refused at its header: no counters printed");
    }

    @Test
    void missingTraceOrADirectoryIsAOneLineErrorNamingThePath() {
        for (Path p : new Path[] {dir.resolve("absent.trace"), dir}) {
            String[] t = MainTest.run("tap", "--trace", p.toString());
            assertEquals("1", t[0], t[2]);
            assertTrue(t[2].startsWith("xenids: " + p + ": "), t[2]);
            assertEquals(1, t[2].strip().lines().count(), t[2]);
            assertEquals("", t[1], "nothing replayed, no counters printed");
        }
    }

    @Test
    void topologyOrGuestsIsRequired() {
        String[] r = MainTest.run("replay", "--pcap", "x.pcap");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("give either --topology or --guests"), r[2]);
    }

    @Test
    void aCaptureGivenTwiceUnderTwoNamesIsAUsageError() throws IOException {
        Path pcap = dir.resolve("a.pcap");
        Files.write(pcap, new byte[] {(byte) 0xd4, (byte) 0xc3, (byte) 0xb2, (byte) 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                (byte) 0xff, (byte) 0xff, 0, 0, 1, 0, 0, 0});
        String again = dir.resolve(".").resolve("a.pcap").toString();
        String m = dir.resolve("m").toString();
        String[][] runs = {
            {"replay", "--guests", "10.0.0.0/24", "--pcap", pcap.toString(), "--pcap", again},
            {"train", "--guests", "10.0.0.0/24", "--models", m, "--pcap", pcap.toString(), "--pcap", again},
            {"detect", "--guests", "10.0.0.0/24", "--models", m, "--eve", dir.resolve("e.json").toString(),
                "--pcap", pcap.toString(), "--pcap", again},
        };
        for (String[] args : runs) {
            String[] r = MainTest.run(args);
            assertEquals("2", r[0], args[0] + ": " + r[2]);
            assertTrue(r[2].contains("--pcap " + again + " is given twice"), r[2]);
            assertFalse(Files.exists(dir.resolve("m")), "a failed training leaves no models folder it made");
        }
    }

    static long[] flowsOf(Path pcap) throws IOException {
        long[] n = new long[2];
        org.xenids.flow.Pipeline p = new org.xenids.flow.Pipeline(org.xenids.flow.FlowConfig.defaults(),
                new org.xenids.flow.StreamListener() {
                    @Override
                    public void flowEnd(org.xenids.flow.Flow f) {
                        n[0]++;
                        n[1] += f.packetsToServer() + f.packetsToClient();
                    }
                });
        try (CaptureReader r = CaptureReader.open(pcap)) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
            }
        }
        p.finish();
        return n;
    }

    @Test
    void guestToGuestFramesCountOnceInTheFlows() throws IOException {
        Path pcap = SharedData.plain("traffic/dev/test/scenarios/attack_sqlmap_sqli.pcap.xz");
        long[] expected = flowsOf(pcap);
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24,203.0.113.160/27", "--pcap", pcap.toString());
        assertEquals("0", r[0], r[2]);
        String line = r[1].lines().filter(l -> l.startsWith("flows: ")).findFirst().orElseThrow();
        assertTrue(line.startsWith("flows: " + expected[0] + " (" + expected[1] + " packets; "), line + " vs " +
                expected[0] + "/" + expected[1]);
        long echoes = Long.parseLong(line.replaceAll(".*packets; (\\d+) guest-to-guest.*", "$1"));
        assertTrue(echoes > 1000, line);
    }
}
