package org.xenids.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code xenids bench overhead}: what continuous introspection costs the guest, measured as the
 * published experiment did (guest throughput by the wall clock, with and without a monitor),
 * with the monitor's own CPU time and walk latency beside it.
 */
@Command(name = "overhead", mixinStandardHelpOptions = true,
        description = {"Measure what introspection costs a live guest's benchmark throughput.",
            "Boots a QEMU guest (scripts/vmi-guest) with ~150 processes and a steady CPU benchmark",
            "whose completed units the host timestamps on the serial console, then runs interleaved",
            "rounds (none, watch 1 Hz, watch 10 Hz, watch 1 Hz --pause, none, ...) of --duration each.",
            "Each watch is a child JVM ('xenids vmi watch'); its CPU time is read from the OS.",
            "Writes DIR/overhead.csv, DIR/rounds.csv and DIR/overhead.svg; prints the table."})
final class BenchOverhead implements Callable<Integer> {
    /** One measured configuration. */
    record Mode(String name, double rateHz, boolean pause) {}

    static final List<Mode> MODES = List.of(new Mode("none", 0, false), new Mode("watch-1hz", 1, false),
            new Mode("watch-10hz", 10, false), new Mode("watch-1hz-pause", 1, true));

    /** One mode in one round: guest units/s, monitor CPU % of one core, walk latencies (µs). */
    record Sample(Mode mode, int round, double throughput, double monitorCpuPct, double guestCpuPct, long[] walkUs) {}

    @Option(names = "--duration", defaultValue = "30s", converter = VmiWatch.DurationConverter.class, paramLabel = "D",
            description = "Measured time per mode per round (at least 1s). Default: ${DEFAULT-VALUE}.")
    long durationNanos;

    @Option(names = "--rounds", defaultValue = "5", paramLabel = "N", description = "Rounds of all modes (at least 1). Default: ${DEFAULT-VALUE}.")
    int rounds;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for overhead.csv, rounds.csv, overhead.svg.")
    Path out;

    @Option(names = "--workers", defaultValue = "75", paramLabel = "N",
            description = "Guest worker loops, each with a sleep child (75: ~155 processes). Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--loop", defaultValue = "2000", paramLabel = "N",
            description = "Shell iterations per benchmark unit in the guest (at least 1). Default: ${DEFAULT-VALUE}.")
    int loop;

    @Option(names = "--settle", defaultValue = "3s", converter = VmiWatch.DurationConverter.class, paramLabel = "D",
            description = "Wait after a monitor's first walk (JVM start-up and discovery excluded). Default: ${DEFAULT-VALUE}.")
    long settleNanos;

    @Option(names = "--scan-every", defaultValue = "60s", converter = VmiWatch.DurationConverter.class, paramLabel = "D",
            description = "The watch's physical-scan period (as 'vmi watch --scan-every'). Default: ${DEFAULT-VALUE}.")
    long scanNanos;

    @Option(names = "--guest-script", paramLabel = "FILE", description = "scripts/vmi-guest (default: beside the jar's project).")
    Path guestScript;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String bad = rounds < 1 ? "--rounds must be at least 1, not " + rounds
                : durationNanos < 1_000_000_000L ? "--duration must be at least 1s"
                : workers < 0 ? "--workers must be 0 or more, not " + workers
                : loop < 1 ? "--loop must be at least 1, not " + loop
                : null;
        if (bad != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), bad);
        }
        // Everything is checked before the output folder is made; a run that fails having written
        // nothing in a folder it made removes it again.
        Path script = guestScript != null ? XenLabCommand.readable(guestScript, "bench: guest script") : defaultScript();
        XenLabCommand.OutDir made = XenLabCommand.OutDir.create(out);
        boolean ok = false;
        try {
            run(script);
            ok = true;
        } finally {
            if (!ok) {
                made.removeIfEmpty();
            }
        }
        return 0;
    }

    private void run(Path script) throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        List<Sample> samples = new ArrayList<>();
        err.println("bench: booting the guest (" + workers + " workers, benchmark loop " + loop + ")");
        err.flush();
        try (BenchGuest g = BenchGuest.start(script, "bench-" + ProcessHandle.current().pid(), workers, loop)) {
            for (int r = 1; r <= rounds; r++) {
                for (Mode m : MODES) {
                    Sample s = measure(g, m, r);
                    samples.add(s);
                    err.printf("bench: round %d/%d %-16s %.3f units/s, monitor %.2f%% CPU, QEMU %.1f%% CPU, %d walks%n", r, rounds,
                            m.name(), s.throughput(), s.monitorCpuPct(), s.guestCpuPct(), s.walkUs().length);
                    err.flush();
                }
            }
        }
        List<OverheadReport.Row> rows = OverheadReport.rows(samples, MODES);
        OverheadReport.writeCsv(out.resolve("overhead.csv"), rows);
        OverheadReport.writeRounds(out.resolve("rounds.csv"), samples);
        OverheadReport.writeSvg(out.resolve("overhead.svg"), rows, samples, durationNanos, rounds);
        PrintWriter o = spec.commandLine().getOut();
        o.print(OverheadReport.table(rows, samples));
        o.flush();
    }

    private Sample measure(BenchGuest g, Mode m, int round) throws Exception {
        Process child = null;
        Path stats = null;
        try {
            if (m.rateHz() > 0) {
                stats = Files.createTempFile(out, "walks-", ".csv");
                child = startWatch(g, m, stats);
                waitFirstWalk(child, stats);
            }
            Thread.sleep(settleNanos / 1_000_000);
            long cpu0 = cpuNanos(child);
            long q0 = g.qemuCpuNanos();
            long t0 = System.nanoTime();
            Thread.sleep(durationNanos / 1_000_000);
            long t1 = System.nanoTime();
            long cpu1 = cpuNanos(child);
            long q1 = g.qemuCpuNanos();
            double cpuPct = child == null ? 0 : (cpu1 - cpu0) * 100.0 / (t1 - t0);
            long[] walks = stats == null ? new long[0] : walksIn(stats, t0, t1);
            return new Sample(m, round, g.throughput(t0, t1), cpuPct, (q1 - q0) * 100.0 / (t1 - t0), walks);
        } finally {
            if (child != null) {
                child.destroy(); // SIGTERM: the watch finishes its walk (with --pause: resumes the guest) and exits
                if (!child.waitFor(30, TimeUnit.SECONDS)) {
                    child.destroyForcibly();
                }
            }
            if (stats != null) {
                Files.deleteIfExists(stats);
            }
        }
    }

    private Process startWatch(BenchGuest g, Mode m, Path stats) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "vmi", "watch", "--live",
                "--memory", g.ram().toString(), "--interval", Math.round(1000 / m.rateHz()) + "ms",
                "--stats", stats.toString(), "--scan-every", scanNanos / 1_000_000 + "ms"));
        if (m.pause()) {
            cmd.addAll(List.of("--qmp", g.qmp().toString(), "--pause"));
        }
        return new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.appendTo(out.resolve("watch-stderr.log").toFile())).start();
    }

    /** Waits (bounded, 300 s) until the watch has finished its first walk (discovery and the first scan done). */
    private static void waitFirstWalk(Process child, Path stats) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                throw new IllegalStateException("bench: the watch exited (status " + child.exitValue() + ") before its first walk; see watch-stderr.log");
            }
            if (Files.readAllLines(stats).size() >= 3) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("bench: the watch made no walk within 300 s");
    }

    /** The child's user + system CPU time (all its threads: JIT and GC included). */
    private static long cpuNanos(Process child) {
        if (child == null) {
            return 0;
        }
        return child.toHandle().info().totalCpuDuration()
                .orElseThrow(() -> new IllegalStateException("bench: no CPU time for the watch process")).toNanos();
    }

    /** Walk latencies (µs) of the walks that started inside the window [t0, t1] (host monotonic → wall via now). */
    private static long[] walksIn(Path stats, long t0, long t1) throws Exception {
        long wallNowMs = System.currentTimeMillis();
        long monoNow = System.nanoTime();
        long from = wallNowMs - (monoNow - t0) / 1_000_000;
        long to = wallNowMs - (monoNow - t1) / 1_000_000;
        List<Long> w = new ArrayList<>();
        for (String line : Files.readAllLines(stats)) {
            String[] f = line.split(",");
            if (f.length < 3 || f[0].equals("seq")) {
                continue;
            }
            long at = Long.parseLong(f[1]);
            if (at >= from && at <= to) {
                w.add(Long.parseLong(f[2]));
            }
        }
        return w.stream().mapToLong(Long::longValue).toArray();
    }

    /** scripts/vmi-guest of the project the classes were loaded from (target/classes or target/xenids.jar). */
    private static Path defaultScript() throws Exception {
        Path code = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (Path p = code; p != null; p = p.getParent()) {
            Path s = p.resolve("scripts/vmi-guest");
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        Path s = Path.of("scripts/vmi-guest").toAbsolutePath();
        if (!Files.isRegularFile(s)) {
            throw new IllegalStateException("bench: cannot find scripts/vmi-guest (give --guest-script FILE)");
        }
        return s;
    }
}
