package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.decode.DecodeEvent;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;

/**
 * Every command that writes EVE ends its log with one {@code stats} record, valid by Suricata's
 * schema, whose counts are those the same run prints: read here from what it printed.
 */
class EveStatsRecordTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SQLI = "traffic/dev/test/scenarios/attack_sqlmap_sqli.pcap.xz";

    @TempDir
    Path dir;

    @Test
    void detectsLogEndsWithTheCountsItPrints() throws Exception {
        // The real shellcode capture as pcapng whose capturer reports 7 packets it could not keep.
        Path capture = PcapCommandsTest.withReportedDrops(dir, 7);
        Path models = TrainDetectCommandTest.modelFile(dir.resolve("models"), TrainDetectCommandTest.inventoryServiceModels());
        Path eve = dir.resolve("eve.json");
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", models.toString(),
                "--pcap", capture.toString(), "--eve", eve.toString());
        assertEquals("0", r[0], r[2]);
        Map<String, Long> s = lastRecord(eve);
        Matcher m = Pattern.compile("(?m)^detect: ([\\d,]+) frames \\(([\\d,]+) bytes\\) rebuilt by the tap, ([\\d,]+)"
                + " guest-to-guest copies counted once, ([\\d,]+) flows; .*; ([\\d.]+) s$").matcher(r[1]);
        assertTrue(m.find(), r[1]);
        long frames = n(m.group(1)), echoes = n(m.group(3));
        long otherHosts = sumOf(r[1], "(?m)^  ([\\d,]+) frames delivered to a guest for another host's");
        assertEquals(frames, s.get("decoder.pkts"));
        assertEquals(n(m.group(2)), s.get("decoder.bytes"));
        assertEquals(frames + echoes + otherHosts + tableLosses(r[1]), s.get("capture.kernel_packets"),
                "every frame the tap rebuilt, and those it could not");
        assertEquals(n(m.group(4)), s.get("flow.total"));
        assertTrue(Math.abs(s.get("uptime") - Double.parseDouble(m.group(5))) <= 1, s + "\n" + r[1]);
        assertEquals(tableLosses(r[1]), s.get("capture.kernel_drops"));
        assertEquals(7, s.get("capture.kernel_ifdrops"));
        assertEquals(sumOf(r[1], "(?m)^  capture reports ([\\d,]+) packets dropped by its capturer"),
                s.get("capture.kernel_ifdrops"));
        assertEquals(0, s.get("capture.errors"));
        assertEquals(sumOf(r[1], "(?m)^  ([\\d,]+) flows ended early"), s.get("flow.get_used"));
        assertEvents(r[1], s);
        Matcher a = Pattern.compile("(?m)^scored [\\d,]+ flow directions: ([\\d,]+) alerts").matcher(r[1]);
        assertTrue(a.find(), r[1]);
        assertEquals(n(a.group(1)), s.get("detect.alert"));
        assertTrue(s.get("detect.alert") > 0, "the shellcode alerts");

        // The validation is real: the same record with a count of xenids' own in Suricata's
        // capture object is refused.
        String last = lines(eve).getLast();
        String extra = last.replace("\"capture\":{", "\"capture\":{\"tap_frames\":1,");
        assertFalse(EveSchema.violations(extra).isEmpty(), extra);
    }

    @Test
    void replaysAndTheTapsLogsEndWithTheCountsTheyPrint() throws Exception {
        Path capture = SharedData.file(SQLI);
        Path eve = dir.resolve("replay.json");
        Path trace = dir.resolve("sqli.trace");
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture.toString(), "--eve",
                eve.toString(), "--record-trace", trace.toString());
        assertEquals("0", r[0], r[2]);
        Map<String, Long> s = lastRecord(eve);
        assertTapRunCounts(r[1], s);
        assertEquals(sumOf(r[1], "(?m)^capture reports ([\\d,]+) packets dropped by its capturer"),
                s.get("capture.kernel_ifdrops"));
        assertEquals(0, s.get("capture.errors"));
        assertTrue(s.get("flow.total") > 100 && s.get("capture.kernel_packets") > 1000, s.toString());
        long flowRecords = lines(eve).stream().filter(l -> l.contains("\"event_type\":\"flow\"")).count();
        assertEquals(flowRecords, s.get("flow.total"), "one flow record per flow");

        // The tap on the replay's trace: the same frames and counts, and no capturer's drops to tell.
        Path tapEve = dir.resolve("tap.json");
        String[] t = MainTest.run("tap", "--trace", trace.toString(), "--eve", tapEve.toString());
        assertEquals("0", t[0], t[2]);
        Map<String, Long> ts = lastRecord(tapEve);
        assertTapRunCounts(t[1], ts);
        assertFalse(ts.containsKey("capture.kernel_ifdrops"), ts.toString());
        Map<String, Long> same = new HashMap<>(s);
        same.remove("uptime");
        same.remove("capture.kernel_ifdrops");
        Map<String, Long> tapSame = new HashMap<>(ts);
        tapSame.remove("uptime");
        assertEquals(same, tapSame);
    }

    @Test
    void pcapFlowsLogEndsWithTheCountsItPrints() throws Exception {
        Path capture = PcapCommandsTest.withReportedDrops(dir, 7);
        Path eve = dir.resolve("flows.json");
        String[] r = MainTest.run("pcap", "flows", "--eve", eve.toString(), capture.toString());
        assertEquals("0", r[0], r[2]);
        Map<String, Long> s = lastRecord(eve);
        Matcher m = Pattern.compile("(?m)^xenids: ([\\d,]+) flows of ([\\d,]+) packets").matcher(r[2]);
        assertTrue(m.find(), r[2]);
        assertEquals(n(m.group(1)), s.get("flow.total"));
        assertEquals(n(m.group(2)), s.get("decoder.pkts"));
        assertEquals(n(m.group(2)), s.get("capture.kernel_packets"));
        assertFalse(s.containsKey("capture.kernel_drops"), "no tap between the file and the decoder");
        assertEquals(sumOf(r[2], "(?m)^xenids: capture reports ([\\d,]+) packets dropped by its capturer"),
                s.get("capture.kernel_ifdrops"));
        assertEquals(7, s.get("capture.kernel_ifdrops"));
        assertEvents(r[2], s);
        // What pcap stats prints of the same file, for the counts pcap flows does not print.
        String[] st = MainTest.run("pcap", "stats", "--json", capture.toString());
        assertEquals("0", st[0], st[2]);
        JsonNode j = JSON.readTree(st[1]);
        assertEquals(j.path("bytes").asLong(), s.get("decoder.bytes"));
        assertEquals(j.path("flows").path("tcp_reused").asLong(), s.get("flow.tcp_reuse"));
        assertEquals(j.path("flows").path("timed_out").asLong(), s.get("flow.mgr.flows_timeout"));
        assertEquals(j.path("flows").path("evicted").asLong(), s.get("flow.get_used"));
        assertEquals(j.path("flows").path("tcp_gaps").asLong(), s.get("tcp.reassembly_gap"));
        assertEquals(j.path("reassembled_datagrams").asLong(),
                s.get("defrag.ipv4.reassembled") + s.get("defrag.ipv6.reassembled"));
    }

    @Test
    void everyDecoderEventHasSuricatasCounterOrIsOneItsSchemaHasNoPlaceFor() throws Exception {
        Map<String, Long> mapped = new LinkedHashMap<>();
        for (DecodeEvent e : DecodeEvent.values()) {
            String name = EveStats.suricataName(e);
            if (name != null) {
                assertEquals(null, mapped.put(name, 1L), "two events on one counter: " + name);
            } else {
                // Left out only because Suricata's schema has no such counter.
                assertTrue(EveStats.NO_SURICATA_COUNTER.contains(e), e.toString());
                String own = record(Map.of("decoder.event." + e.eventName(), 1L));
                assertFalse(EveSchema.violations(own).isEmpty(), "Suricata has a counter for " + e.eventName());
            }
        }
        String all = record(mapped);
        assertEquals(java.util.Set.of(), EveSchema.violations(all), all);
        assertEquals(DecodeEvent.values().length, mapped.size() + EveStats.NO_SURICATA_COUNTER.size());
    }

    /**
     * The counts of a {@code replay} or {@code tap} run as its per-domain table, flows line and
     * decoder events print them: the tap's frames and the packets that crossed without it getting
     * their bytes (lost, and those in flight at the end), the latter among the packets too; the decoder's frames are the tap's less the receivers' copies of
     * guest→guest frames and frames for other hosts, neither of which is decoded.
     */
    private static void assertTapRunCounts(String out, Map<String, Long> s) {
        long frames = 0, unread = 0;
        Matcher row = Pattern.compile("(?m)^dom\\d+((?: +\\d+){10})$").matcher(out);
        while (row.find()) {
            String[] c = row.group(1).strip().split(" +");
            frames += Long.parseLong(c[0]);
            unread += Long.parseLong(c[9]);
        }
        unread += inFlight(out);
        assertTrue(frames > 0, out);
        assertEquals(frames + unread, s.get("capture.kernel_packets"));
        assertEquals(unread, s.get("capture.kernel_drops"));
        Matcher f = Pattern.compile("(?m)^flows: (\\d+) \\(\\d+ packets; (\\d+) guest-to-guest frames seen again at the"
                + " receiver, counted once(?:; (\\d+) delivered to a guest for another host's[^)]*)?\\)").matcher(out);
        assertTrue(f.find(), out);
        assertEquals(n(f.group(1)), s.get("flow.total"));
        long otherHosts = f.group(3) == null ? 0 : n(f.group(3));
        assertEquals(frames - n(f.group(2)) - otherHosts, s.get("decoder.pkts"));
        assertEquals(out.contains("broken: the counters cover it up to the damage") ? 1 : 0, s.get("capture.errors"));
        assertEvents(out, s);
    }

    /**
     * Each printed decoder event with a Suricata counter has its count there, and one not printed
     * (none raised) is there as 0.
     */
    static void assertEvents(String out, Map<String, Long> s) {
        Map<String, Long> printed = new HashMap<>();
        Matcher m = Pattern.compile("decoder events: ([^;)\\n]+)").matcher(out);
        while (m.find()) {
            for (String e : m.group(1).split(", ")) {
                int sp = e.lastIndexOf(' ');
                printed.merge(e.substring(0, sp), n(e.substring(sp + 1)), Long::sum);
            }
        }
        for (DecodeEvent e : DecodeEvent.values()) {
            String name = EveStats.suricataName(e);
            if (name != null) {
                assertEquals(printed.getOrDefault(e.eventName(), 0L), s.get(name), name);
            }
        }
    }

    /** The per-domain rows' drops and lost (detect prints the rows of domains that had any). */
    private static long tableLosses(String out) {
        long n = inFlight(out);
        Matcher row = Pattern.compile("(?m)^ *dom\\d+((?: +\\d+){10})$").matcher(out);
        while (row.find()) {
            String[] c = row.group(1).strip().split(" +");
            n += Long.parseLong(c[9]);
        }
        return n;
    }

    /** What the tap held in part at the end, as printed (0 when it held nothing). */
    private static long inFlight(String out) {
        Matcher m = Pattern.compile("(?m)in flight when the input ended, not rebuilt: ([\\d,]+) TX packets, ([\\d,]+) RX buffers")
                .matcher(out);
        return m.find() ? n(m.group(1)) + n(m.group(2)) : 0;
    }

    /** The sum of group 1 over the matches of {@code regex} (0 when it is not printed). */
    private static long sumOf(String out, String regex) {
        long sum = 0;
        Matcher m = Pattern.compile(regex).matcher(out);
        while (m.find()) {
            sum += n(m.group(1));
        }
        return sum;
    }

    private static long n(String printed) {
        return Long.parseLong(printed.replace(",", ""));
    }

    static List<String> lines(Path eve) throws Exception {
        return Files.readAllLines(eve);
    }

    /**
     * The log's last record, checked to be its only stats record and valid by Suricata's schema,
     * as its counters by dotted name.
     */
    static Map<String, Long> lastRecord(Path eve) throws Exception {
        List<String> lines = lines(eve);
        assertFalse(lines.isEmpty(), eve.toString());
        EveSchema.assertValid(lines);
        assertEquals(1, lines.stream().filter(l -> l.contains("\"event_type\":\"stats\"")).count());
        JsonNode last = JSON.readTree(lines.getLast());
        assertEquals("stats", last.path("event_type").asText(), lines.getLast());
        Map<String, Long> flat = new LinkedHashMap<>();
        flatten("", last.get("stats"), flat);
        assertNotNull(flat.get("uptime"), lines.getLast());
        return flat;
    }

    private static void flatten(String prefix, JsonNode n, Map<String, Long> into) {
        n.fields().forEachRemaining(e -> {
            String name = prefix + e.getKey();
            if (e.getValue().isObject()) {
                flatten(name + ".", e.getValue(), into);
            } else {
                assertTrue(e.getValue().isIntegralNumber(), name + ": " + e.getValue());
                into.put(name, e.getValue().asLong());
            }
        });
    }

    private static String record(Map<String, Long> counters) throws Exception {
        var buf = new java.io.ByteArrayOutputStream();
        try (EveWriter w = EveWriter.of(buf)) {
            w.write(new EveEvent.Stats(0, counters));
        }
        return buf.toString(java.nio.charset.StandardCharsets.UTF_8).strip();
    }
}
