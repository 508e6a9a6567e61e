package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.EveSchema;

/** {@code xenids vmi watch} on the recorded image with two processes hidden by DKOM. */
class VmiWatchTest {

    @Test
    void hiddenProcessesAreAlertedOnceOverSeveralWalksAndNothingStartsInAStillImage(@TempDir Path dir) throws Exception {
        Path eve = dir.resolve("eve.json");
        Path stats = dir.resolve("stats.csv");
        String[] r = MainTest.run("vmi", "watch", "--memory", VmiCommandTest.image("nokaslr-hidden.raw").toString(),
                "--interval", "50ms", "--count", "3", "--eve", eve.toString(), "--stats", stats.toString());
        assertEquals("0", r[0], r[2]);
        List<String> out = r[1].lines().toList();
        assertEquals(2, out.size(), r[1]);
        assertTrue(out.get(0).contains("hidden  pid=257 ppid=1 comm=hide-list"), r[1]);
        assertTrue(out.get(1).contains("hidden  pid=260 ppid=1 comm=hide-full"), r[1]);
        assertTrue(r[2].contains("watch: 3 walks"), r[2]);
        assertTrue(r[2].strip().endsWith("; 0 anomalies"), r[2]);

        List<String> lines = Files.readAllLines(eve);
        EveSchema.assertValid(lines);
        List<String> comms = new ArrayList<>();
        for (String l : lines) {
            JsonNode a = new ObjectMapper().readTree(l).path("alert");
            assertEquals(9100001, a.path("signature_id").asLong(), l);
            comms.add(a.path("context").path("comm").asText());
        }
        assertEquals(List.of("hide-list", "hide-full"), comms);

        List<String> csv = Files.readAllLines(stats);
        assertEquals("seq,unix_ms,walk_us,scan,processes,tasks,hidden,reads,page_walks,anomalies", csv.get(0));
        assertEquals(4, csv.size());
        String[] first = csv.get(1).split(",");
        String[] second = csv.get(2).split(",");
        assertEquals("1", first[3], "the first walk scans");
        assertEquals("0", second[3], "later walks read only what the walks need");
        assertEquals("214", second[5], "tasks on the list");
        assertEquals("2", second[6], "hidden");
        assertTrue(Long.parseLong(second[7]) < Long.parseLong(first[7]), "a walk without the scan reads less: " + csv);
        assertEquals("0", second[9], "anomalies");
    }

    /**
     * A task list with a torn link: each walk meets it, stderr says it once in the form vmi ps
     * uses, the summary counts it, and each walk's line of --stats counts what the walk met.
     */
    @Test
    void aWalkAnomalyIsPrintedOnceWhileItPersistsAndCounted(@TempDir Path dir) throws Exception {
        VmiCommandTest.Torn torn = VmiCommandTest.tornImage(dir, "worker-10");
        Path stats = dir.resolve("stats.csv");
        Path eve = dir.resolve("eve.json");
        String[] r = MainTest.run("vmi", "watch", "--memory", torn.image().toString(), "--interval", "10ms", "--count", "3",
                "--stats", stats.toString(), "--eve", eve.toString());
        assertEquals("0", r[0], r[2]);
        assertEquals(2, r[1].lines().count(), "only the two hidden processes: " + r[1]);
        List<String> err = r[2].lines().toList();
        assertEquals(2, err.size(), r[2]);
        assertEquals(VmiCommandTest.tornLine(torn), err.get(0));
        assertTrue(err.get(1).matches("watch: 3 walks; walk µs p50 \\d+, p99 \\d+, max \\d+; 1 anomaly, met in 3 walks"), err.get(1));
        List<String> csv = Files.readAllLines(stats);
        assertEquals(4, csv.size(), csv.toString());
        for (String line : csv.subList(1, 4)) {
            assertTrue(line.endsWith(",1"), "each walk met the torn link: " + line);
        }
        List<String> lines = Files.readAllLines(eve);
        EveSchema.assertValid(lines);
        List<JsonNode> anomalies = new ArrayList<>();
        for (String l : lines) {
            JsonNode n = new ObjectMapper().readTree(l);
            if (n.path("event_type").asText().equals("anomaly")) {
                anomalies.add(n);
            }
        }
        assertEquals(1, anomalies.size(), "logged once, as printed: " + lines);
        VmiCommandTest.assertTornRecord(torn, anomalies.get(0));
    }

    @Test
    void pauseWithoutQmpIsAUsageError() {
        String[] r = MainTest.run("vmi", "watch", "--memory", "/nonexistent", "--pause");
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains("--pause needs --qmp"), r[2]);
    }

    /**
     * SIGTERM (as Ctrl-C, bench overhead and service managers stop a watch) ends it with its summary
     * on stderr, once: the JVM halts when the shutdown hook returns, which used to race the line.
     * Signals land at different moments of the walk cycle (mid-walk at 10 ms, mostly asleep at 1 s).
     */
    @Test
    void aSigtermAlwaysLeavesTheSummaryOnStderrExactlyOnce(@TempDir Path dir) throws Exception {
        String img = VmiCommandTest.image("nokaslr-hidden.raw").toString();
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int i = 0; i < 4; i++) {
            Path stats = dir.resolve("stats" + i + ".csv");
            Path err = dir.resolve("stderr" + i + ".txt");
            Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "vmi", "watch", "--memory", img, "--interval", i % 2 == 0 ? "10ms" : "1s", "--stats", stats.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            try {
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (!(Files.exists(stats) && Files.readAllLines(stats).size() >= 2)) {
                    assertTrue(p.isAlive(), "the watch ended before its first walk: " + Files.readString(err));
                    assertTrue(System.nanoTime() < deadline, "no walk in 120 s");
                    Thread.sleep(20);
                }
                Thread.sleep(i * 40L);
                p.destroy(); // SIGTERM
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the watch did not stop on SIGTERM");
            } finally {
                p.destroyForcibly();
            }
            String e = Files.readString(err);
            assertEquals(143, p.exitValue(), e);
            assertEquals(1, e.lines().filter(l -> l.matches("watch: [1-9]\\d* walks; walk µs p50 \\d+, p99 \\d+, max \\d+; 0 anomalies")).count(),
                    "run " + i + ": " + e);
            assertEquals(1, e.lines().count(), "run " + i + ": " + e);
        }
    }

    @Test
    void aCountOrDurationThatAllowsNoWalkIsAUsageError() {
        String img = VmiCommandTest.image("nokaslr-hidden.raw").toString();
        String[][] cases = {
            {"--count", "-1", "--count must be at least 1, not -1"},
            {"--count", "0", "--count must be at least 1, not 0"},
            {"--duration", "0", "--duration must be more than 0"},
            {"--duration", "0ms", "--duration must be more than 0"},
        };
        for (String[] c : cases) {
            String[] r = MainTest.run("vmi", "watch", "--memory", img, c[0], c[1]);
            assertEquals("2", r[0], c[0] + " " + c[1] + ": " + r[2]);
            assertEquals(1, r[2].strip().lines().count(), r[2]);
            assertEquals("xenids: " + c[2] + "; leave it out to watch until interrupted (see 'xenids vmi watch --help')", r[2].strip());
            assertEquals("", r[1]);
        }
    }

    @Test
    void machineWithoutLiveIsAUsageError() {
        String img = VmiCommandTest.image("nokaslr-hidden.raw").toString();
        for (String cmd : List.of("watch", "ps", "psxview", "info")) {
            String[] r = MainTest.run("vmi", cmd, "--memory", img, "--machine", "q35");
            assertEquals("2", r[0], cmd + ": " + r[2]);
            assertEquals("xenids: --machine applies only to a --live guest's RAM file (see 'xenids vmi " + cmd + " --help')",
                    r[2].strip());
        }
    }

    @Test
    void qmpWithoutPauseIsAUsageError() {
        String[] r = MainTest.run("vmi", "watch", "--memory", "/nonexistent", "--qmp", "/nonexistent.sock", "--count", "1");
        assertEquals("2", r[0], r[2]);
        assertEquals("xenids: --qmp is used only with --pause (to watch a running guest without pausing it, give --live)"
                + " (see 'xenids vmi watch --help')", r[2].strip());
    }

    @Test
    void helpSaysTheWatchRunsUntilInterruptedWithoutCountOrDuration() {
        String[] r = MainTest.run("vmi", "watch", "--help");
        assertEquals("0", r[0], r[2]);
        String help = r[1].replaceAll("\\s+", " ");
        assertTrue(help.contains("Without --count or --duration it runs until interrupted (Ctrl-C or SIGTERM)"), r[1]);
    }

    @Test
    void durationsAcceptUnits() {
        VmiWatch.DurationConverter c = new VmiWatch.DurationConverter();
        assertEquals(1_000_000_000L, c.convert("1s"));
        assertEquals(100_000_000L, c.convert("100ms"));
        assertEquals(90_000_000_000L, c.convert("1.5m"));
        assertEquals(2_000_000_000L, c.convert("2"));
    }
}
