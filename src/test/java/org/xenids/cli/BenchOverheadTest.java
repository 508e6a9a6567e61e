package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short run of {@code xenids bench overhead} on a real QEMU guest: the files' shape and sane numbers. */
class BenchOverheadTest {

    @Test
    void shortRunWritesOneSaneRowPerModeAndAReadablePlot(@TempDir Path dir) throws Exception {
        String[] r = MainTest.run("bench", "overhead", "--duration", "2s", "--rounds", "1", "--settle", "1s",
                "--workers", "40", "--out", dir.toString());
        Assumptions.assumeFalse(r[2].contains("(exit 3)"), "QEMU cannot be installed: " + r[2]);
        assertEquals("0", r[0], r[2]);
        List<String> csv = Files.readAllLines(dir.resolve("overhead.csv"));
        assertEquals(OverheadReport.HEADER, csv.get(0));
        assertEquals("mode,rate_hz,pause,guest_throughput_median,guest_throughput_iqr,loss_pct,monitor_cpu_pct,walk_us_p50,walk_us_p99",
                csv.get(0), "the published column set");
        assertEquals(5, csv.size(), String.join("\n", csv));
        List<String> modes = csv.stream().skip(1).map(l -> l.split(",")[0] + "," + l.split(",")[1] + "," + l.split(",")[2]).toList();
        assertEquals(List.of("none,0,false", "watch-1hz,1,false", "watch-10hz,10,false", "watch-1hz-pause,1,true"), modes);
        double none = Double.parseDouble(csv.get(1).split(",")[3]);
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",");
            double throughput = Double.parseDouble(f[3]);
            assertTrue(throughput > 0.1 && throughput < 1000, "units/s: " + line);
            double loss = Double.parseDouble(f[5]);
            // Two seconds a mode on a loaded machine can differ by any factor, so no bound on the
            // sign: the loss must be what the medians say, and no mode can lose more than all.
            assertTrue(loss < 100, "loss %: " + line);
            assertEquals(100 * (none - throughput) / none, loss, 0.01 + 1e-3 * Math.abs(loss), "loss % from the medians: " + line);
            double cpu = Double.parseDouble(f[6]);
            assertTrue(cpu >= 0 && cpu <= 200, "monitor CPU % of one core: " + line);
            long p50 = Long.parseLong(f[7]);
            long p99 = Long.parseLong(f[8]);
            if (f[0].equals("none")) {
                assertEquals(0.0, loss, 1e-9);
                assertEquals(0.0, cpu, 1e-9, "no monitor, no monitor CPU");
            } else {
                assertTrue(p50 > 0 && p99 >= p50 && p99 < 10_000_000, "walk µs: " + line);
            }
        }
        assertTrue(Double.parseDouble(csv.get(3).split(",")[6]) > 0, "10 walks a second cost measurable CPU: " + csv.get(3));
        assertEquals(5, Files.readAllLines(dir.resolve("rounds.csv")).size());
        var svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(dir.resolve("overhead.svg").toFile());
        assertEquals("svg", svg.getDocumentElement().getTagName());
        assertTrue(r[1].contains("noise:"), r[1]);
    }

    @Test
    void countsBelowTheirMinimumAndTooShortADurationAreUsageErrorsThatMakeNoFolder(@TempDir Path dir) {
        Path out = dir.resolve("out");
        String[][] cases = {
            {"--workers", "-5", "--workers must be 0 or more, not -5"},
            {"--loop", "0", "--loop must be at least 1, not 0"},
            {"--loop", "-1", "--loop must be at least 1, not -1"},
            {"--rounds", "0", "--rounds must be at least 1, not 0"},
            {"--duration", "500ms", "--duration must be at least 1s"},
        };
        for (String[] c : cases) {
            String[] r = MainTest.run("bench", "overhead", "--out", out.toString(), c[0], c[1]);
            assertEquals("2", r[0], r[2]);
            assertEquals("xenids: " + c[2] + " (see 'xenids bench overhead --help')", r[2].strip());
            assertFalse(Files.exists(out), c[0] + " " + c[1] + " made the output folder");
        }
    }

    @Test
    void aMissingGuestScriptIsNamedAndMakesNoFolder(@TempDir Path dir) {
        Path out = dir.resolve("out");
        Path none = dir.resolve("none");
        String[] r = MainTest.run("bench", "overhead", "--out", out.toString(), "--guest-script", none.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: bench: guest script " + none + ": no such file", r[2].strip());
        assertFalse(Files.exists(out));
    }

    @Test
    void aGuestThatFailsToStartLeavesNoEmptyOutputFolder(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("guest.sh");
        Files.writeString(script, "echo 'vmi-guest: qemu: cannot start' >&2\nexit 1\n");
        Path out = dir.resolve("made/out");
        String[] r = MainTest.run("bench", "overhead", "--out", out.toString(), "--guest-script", script.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].strip().endsWith("start failed (exit 1): vmi-guest: qemu: cannot start"), r[2]);
        assertFalse(Files.exists(dir.resolve("made")), "the folders made for the run, empty, are removed");
        // A folder that was there before the run stays.
        Files.createDirectories(out);
        MainTest.run("bench", "overhead", "--out", out.toString(), "--guest-script", script.toString());
        assertTrue(Files.isDirectory(out));
    }

    @Test
    void quantilesInterpolateAndReportSpread() {
        double[] v = {4, 1, 3, 2};
        assertEquals(2.5, OverheadReport.median(v), 1e-12);
        assertEquals(1.75, OverheadReport.quantile(v, 0.25), 1e-12);
        assertEquals(3.25, OverheadReport.quantile(v, 0.75), 1e-12);
        assertTrue(Double.isNaN(OverheadReport.median(new double[0])));
    }
}
