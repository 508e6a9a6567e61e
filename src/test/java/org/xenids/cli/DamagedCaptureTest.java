package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureFormatException;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;
import org.xenids.pcap.LinkType;
import org.xenids.testdata.SharedData;

/**
 * A capture damaged part way: replay and detect watch everything before the damage, report it
 * (counters, frames, alerts, scores, and the counts as their EVE logs' last record), then fail
 * naming the file and offset; train writes no models of a capture cut short.
 */
class DamagedCaptureTest {
    static final String CAPTURE = "traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz";

    @TempDir
    Path dir;

    /** The capture cut inside a record two thirds in, and the records before the cut as a whole file. */
    private Path[] cutAndPrefix() throws Exception {
        byte[] whole = Files.readAllBytes(SharedData.plain(CAPTURE));
        Path cut = Files.write(dir.resolve("cut.pcap"), Arrays.copyOf(whole, whole.length * 2 / 3));
        Path prefix = dir.resolve("prefix.pcap");
        int records = 0;
        try (CaptureReader r = CaptureReader.open(cut); CaptureWriter w = CaptureWriter.pcap(prefix, LinkType.ETHERNET, false)) {
            try {
                while (r.next()) {
                    w.write(0, r);
                    records++;
                }
            } catch (CaptureFormatException expected) {
                // the cut
            }
        }
        assertTrue(records > 10, "records before the cut: " + records);
        return new Path[] {cut, prefix};
    }

    @Test
    void replayRebuildsAndCountsEveryFrameBeforeTheDamageThenFailsNamingIt() throws Exception {
        Path[] f = cutAndPrefix();
        String[] cut = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", f[0].toString(),
                "--write-pcap", dir.resolve("cut.pcapng").toString(), "--eve", dir.resolve("cut.json").toString());
        assertEquals("1", cut[0], cut[2]);
        assertEquals(1, cut[2].strip().lines().count(), cut[2]);
        assertTrue(cut[2].contains("cut.pcap: offset "), cut[2]);
        assertTrue(cut[1].contains("capture broken: the counters cover it up to the damage"), cut[1]);
        String[] prefix = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", f[1].toString(),
                "--write-pcap", dir.resolve("prefix.pcapng").toString(), "--eve", dir.resolve("prefix.json").toString());
        assertEquals("0", prefix[0], prefix[2]);
        assertSameLogButTheBrokenInput(dir.resolve("cut.json"), dir.resolve("prefix.json"));
        // The same frames rebuilt, the same counters as for the whole records alone.
        byte[] rebuilt = frames(dir.resolve("cut.pcapng"));
        assertTrue(rebuilt.length > 0, "frames rebuilt before the damage");
        assertArrayEquals(frames(dir.resolve("prefix.pcapng")), rebuilt);
        assertEquals(prefix[1].lines().filter(l -> l.startsWith("capture:")).toList(),
                cut[1].lines().filter(l -> l.startsWith("capture:")).toList());
    }

    @Test
    void detectScoresAndAlertsOnEverythingBeforeTheDamageThenFailsNamingIt() throws Exception {
        Path[] f = cutAndPrefix();
        // Models of the benign training capture, the inventory service named (as TrainDetectCommandTest's).
        Path models = dir.resolve("models");
        String[] t = MainTest.run("train", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory", "--pcap",
                SharedData.file("traffic/dev/train/train_benign.pcap.xz").toString(), "--models", models.toString());
        assertEquals("0", t[0], t[2]);
        String[][] runs = new String[2][];
        for (int i = 0; i < 2; i++) {
            runs[i] = MainTest.run("detect", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                    "--models", models.toString(), "--pcap", f[i].toString(),
                    "--eve", dir.resolve("eve" + i + ".json").toString(), "--scores", dir.resolve("scores" + i + ".csv").toString());
        }
        assertEquals("1", runs[0][0], runs[0][2]);
        assertTrue(runs[0][2].contains("cut.pcap: offset "), runs[0][2]);
        assertTrue(runs[0][1].contains("capture broken"), runs[0][1]);
        assertEquals("0", runs[1][0], runs[1][2]);
        // What the damaged capture gave is what its whole records alone give, alerts included.
        assertSameLogButTheBrokenInput(dir.resolve("eve0.json"), dir.resolve("eve1.json"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("scores1.csv")), Files.readAllBytes(dir.resolve("scores0.csv")));
        assertTrue(Files.readAllLines(dir.resolve("eve0.json")).stream().anyMatch(l -> l.contains("\"event_type\":\"alert\"")));
    }

    @Test
    void pcapFlowsAndTheTapEndTheirLogsWithTheCountsOfWhatCameBeforeTheDamage() throws Exception {
        Path[] f = cutAndPrefix();
        String[][] flows = new String[2][];
        for (int i = 0; i < 2; i++) {
            flows[i] = MainTest.run("pcap", "flows", "--eve", dir.resolve("flows" + i + ".json").toString(), f[i].toString());
        }
        assertEquals("1", flows[0][0], flows[0][2]);
        assertEquals("0", flows[1][0], flows[1][2]);
        assertSameLogButTheBrokenInput(dir.resolve("flows0.json"), dir.resolve("flows1.json"));
        // A trace cut inside a record: the tap reports what it saw before the cut, as replay does.
        Path trace = dir.resolve("whole.trace");
        assertEquals("0", MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", f[1].toString(),
                "--record-trace", trace.toString())[0]);
        byte[] whole = Files.readAllBytes(trace);
        Path cutTrace = Files.write(dir.resolve("cut.trace"), Arrays.copyOf(whole, whole.length * 2 / 3 + 1));
        Path eve = dir.resolve("tap.json");
        String[] t = MainTest.run("tap", "--trace", cutTrace.toString(), "--eve", eve.toString());
        assertEquals("1", t[0], t[2]);
        assertTrue(t[1].contains("trace broken"), t[1]);
        Map<String, Long> s = EveStatsRecordTest.lastRecord(eve);
        assertEquals(1, s.get("capture.errors"));
        assertTrue(s.get("capture.kernel_packets") > 0 && s.get("decoder.pkts") > 0, s.toString());
        // Not a trace at all: nothing seen, which the log says as well.
        Path notTrace = Files.write(dir.resolve("not.trace"), "not a trace".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        t = MainTest.run("tap", "--trace", notTrace.toString(), "--eve", eve.toString());
        assertEquals("1", t[0], t[2]);
        s = EveStatsRecordTest.lastRecord(eve);
        assertEquals(1, s.get("capture.errors"));
        assertEquals(0, s.get("capture.kernel_packets"));
        assertEquals(1, EveStatsRecordTest.lines(eve).size(), "the stats record alone");
    }

    /**
     * The log of the broken input is that of its whole records alone, and both end with one stats
     * record: the same counts, but for the time taken and the broken input.
     */
    private static void assertSameLogButTheBrokenInput(Path broken, Path whole) throws Exception {
        List<String> b = EveStatsRecordTest.lines(broken), w = EveStatsRecordTest.lines(whole);
        assertEquals(w.subList(0, w.size() - 1), b.subList(0, b.size() - 1));
        Map<String, Long> bs = EveStatsRecordTest.lastRecord(broken), ws = EveStatsRecordTest.lastRecord(whole);
        assertEquals(1, bs.remove("capture.errors"));
        assertEquals(0, ws.remove("capture.errors"));
        bs.remove("uptime");
        ws.remove("uptime");
        assertEquals(ws, bs);
        assertTrue(bs.get("decoder.pkts") > 10, bs.toString());
    }

    @Test
    void trainWritesNoModelsOfACaptureCutShort() throws Exception {
        Path[] f = cutAndPrefix();
        Path models = dir.resolve("models");
        String[] r = MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", f[0].toString(), "--models", models.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("cut.pcap: offset "), r[2]);
        assertFalse(Files.exists(models));
    }

    private static byte[] frames(Path pcapng) throws Exception {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        try (CaptureReader r = CaptureReader.open(pcapng)) {
            while (r.next()) {
                all.write(r.array(), r.dataOffset(), r.capturedLength());
            }
        }
        return all.toByteArray();
    }
}
