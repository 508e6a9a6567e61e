package org.xenids.cli;

import java.io.BufferedWriter;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.io.Printable;
import org.xenids.vmi.linux.Anomaly;
import org.xenids.vmi.linux.Task;
import org.xenids.vmi.watch.ProcessWatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code xenids vmi watch}: the process list and the cross-view check, every interval. */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = {"Continuous introspection: process starts, exits and hidden processes, every interval.",
            "Each interval the task list, the pid IDR and the children tree are read and cross-checked.",
            "Prints (and with --eve logs) each process start and exit",
            "and each newly hidden process. Kernel discovery happens once at start; each interval reads",
            "only the pages the walks need; the physical scan (all of RAM) runs every --scan-every.",
            "The guest is never paused unless --pause is given. A status line on stderr when a TTY.",
            "Walk anomalies (cycles, torn links, faults) go to stderr as vmi ps prints them, each once",
            "while later walks keep meeting it, and again if it comes back after a walk without it.",
            "Without --count or --duration it runs until interrupted (Ctrl-C or SIGTERM); however it stops,",
            "it prints a summary of the walks' latencies and of the anomalies on stderr."})
final class VmiWatch implements Callable<Integer> {
    @Mixin
    VmiCommand.Source source = new VmiCommand.Source();

    @Option(names = "--interval", defaultValue = "1s", converter = DurationConverter.class, paramLabel = "D",
            description = "Time between walks (e.g. 1s, 100ms). Default: ${DEFAULT-VALUE}.")
    long intervalNanos;

    @Option(names = "--scan-every", defaultValue = "60s", converter = DurationConverter.class, paramLabel = "D",
            description = "Period of the physical scan view (reads all RAM); 0: only at the first walk. Default: ${DEFAULT-VALUE}.")
    long scanNanos;

    @Option(names = "--count", paramLabel = "N", description = "Stop after N walks (N ≥ 1). Default: until interrupted.")
    Long count;

    @Option(names = "--duration", converter = DurationConverter.class, paramLabel = "D",
            description = "Stop after D (more than 0). Default: until interrupted.")
    Long durationNanos;

    @Option(names = "--qmp", paramLabel = "SOCKET", description = "QEMU QMP socket of the guest, used only with --pause (implies --live).")
    Path qmp;

    @Option(names = "--pause", description = "Pause the guest (QMP stop/cont) around each walk, as LibVMI does on Xen.")
    boolean pause;

    @Option(names = "--eve", paramLabel = "OUT", description = "EVE JSON log: process starts/exits (informational alerts), hidden processes, walk anomalies (each once, as on stderr).")
    Path eve;

    @Option(names = "--stats", paramLabel = "CSV", description = "One line per walk: " + STATS_HEADER + " (anomalies: those the walk met, reported or not).")
    Path stats;

    /** The --stats columns; new ones go at the end, so that readers by position keep working. */
    static final String STATS_HEADER = "seq,unix_ms,walk_us,scan,processes,tasks,hidden,reads,page_walks,anomalies";

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (pause && qmp == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--pause needs --qmp SOCKET");
        }
        if (qmp != null && !pause) {
            // The socket serves only to stop and resume the guest; accepted alone it would do nothing.
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--qmp is used only with --pause (to watch a running guest without pausing it, give --live)");
        }
        if (intervalNanos <= 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--interval must be positive");
        }
        source.outputs(spec).output("--eve", eve).output("--stats", stats);
        if (count != null && count < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--count must be at least 1, not " + count
                    + "; leave it out to watch until interrupted");
        }
        if (durationNanos != null && durationNanos <= 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--duration must be more than 0; leave it out to watch until interrupted");
        }
        if (qmp != null) {
            source.live = true;
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean tty = System.console() != null && System.console().isTerminal();
        Summary summary = new Summary(err, tty, pause);
        long start = System.nanoTime();
        long next = start;
        // SIGTERM/Ctrl-C: finish the walk in progress (with --pause: resume the guest), print the
        // summary, then stop. The hook is in place before the (slow) opening, and the JVM halts as
        // soon as it returns: it returns only once the summary is out, which it prints itself if the
        // walk in progress does not end in time.
        AtomicBoolean stopping = new AtomicBoolean();
        AtomicBoolean watching = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<ProcessWatch> opened = new java.util.concurrent.atomic.AtomicReference<>();
        Thread hook = new Thread(() -> {
            stopping.set(true);
            if (!watching.get()) {
                // Still opening (an image decompressed, the kernel found): no walk, no output open,
                // nothing to wait for.
                summary.print();
                return;
            }
            try {
                if (!done.await(15, TimeUnit.SECONDS)) {
                    // The JVM halts when this returns: a guest the walk paused is resumed first.
                    ProcessWatch w = opened.get();
                    if (pause && w != null) {
                        try {
                            err.println("watch: the walk in progress did not end in 15 s and was abandoned"
                                    + (w.release() ? "; the guest it had paused was resumed" : ""));
                        } catch (RuntimeException e) {
                            err.println("watch: the guest may still be paused (resume it with the QMP command cont): "
                                    + e.getMessage());
                        }
                    }
                    summary.print();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                summary.print();
            }
        }, "watch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            VmiCommand.Source.Opened o = source.open(spec.commandLine());
            try (ProcessWatch w = ProcessWatch.open(o.guest(), o.kernel().kernel(), source.memory.getFileName().toString(),
                    scanNanos, pause ? qmp : null);
                 EveWriter eveOut = eve == null ? null : EveWriter.open(eve);
                 BufferedWriter st = stats == null ? null : new BufferedWriter(new java.io.OutputStreamWriter(
                         org.xenids.io.OutputFile.open(stats), java.nio.charset.StandardCharsets.UTF_8))) {
                if (st != null) {
                    st.write(STATS_HEADER + "\n");
                    st.flush();
                }
                opened.set(w);
                watching.set(true);
                while (!stopping.get() && (count == null || summary.walks() < count)
                        && (durationNanos == null || System.nanoTime() - start < durationNanos)) {
                    long nowWall = System.currentTimeMillis() * 1_000_000L;
                    ProcessWatch.Tick t = w.tick(nowWall);
                    summary.add(t.walkNanos(), t.anomalies() > 0, t.newAnomalies().size());
                    for (ProcessWatch.Change c : t.changes()) {
                        Task k = c.task();
                        out.printf("%s %-7s pid=%d ppid=%d comm=%s%n", EveWriter.timestamp(nowWall),
                                c.kind().name().toLowerCase(Locale.ROOT), k.pid(), k.ppid(), Printable.ascii(k.comm()));
                    }
                    out.flush();
                    if (!t.newAnomalies().isEmpty()) {
                        if (tty) {
                            err.print("\r\033[K"); // the status line, rewritten below
                        }
                        for (Anomaly a : t.newAnomalies()) {
                            err.println("xenids: anomaly: " + a);
                        }
                        err.flush();
                    }
                    if (eveOut != null) {
                        for (EveEvent e : t.events()) {
                            eveOut.write(e);
                        }
                    }
                    if (st != null) {
                        st.write(t.seq() + "," + nowWall / 1_000_000 + "," + t.walkNanos() / 1000 + "," + (t.scanned() ? 1 : 0)
                                + "," + t.processes() + "," + t.tasks() + "," + t.hidden() + "," + t.reads() + "," + t.pageWalks()
                                + "," + t.anomalies() + "\n");
                        st.flush();
                    }
                    if (tty) {
                        err.printf("\rwalk %d: %d processes (%d tasks), %d hidden, %d anomalies, %d µs%s, %d reads, %d page walks   ",
                                t.seq(), t.processes(), t.tasks(), t.hidden(), t.anomalies(), t.walkNanos() / 1000,
                                t.scanned() ? " (scan)" : "", t.reads(), t.pageWalks());
                        err.flush();
                    }
                    next += intervalNanos;
                    long now = System.nanoTime();
                    if (next < now) {
                        next = now; // late (a slow walk): no burst of catch-up walks
                    }
                    boolean more = (count == null || summary.walks() < count) && (durationNanos == null || next - start < durationNanos);
                    while (more && !stopping.get() && (now = System.nanoTime()) < next) {
                        long ns = Math.min(next - now, 100_000_000L);
                        Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
                    }
                }
            }
            summary.print();
        } finally {
            done.countDown();
            if (!stopping.get()) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // A signal came just now: the hook runs, finds the summary printed and returns.
                }
            }
        }
        return 0;
    }

    /**
     * The walks' latencies, the anomalies and the end-of-run line, printed once: by the watch when
     * it stops, or by the shutdown hook when a signal's walk does not end in time (the two may race).
     */
    static final class Summary {
        private final PrintWriter err;
        private final boolean tty;
        private final boolean pause;
        private long[] walks = new long[1024];
        private int n;
        private long anomalies;
        private int walksWithAnomalies;
        private boolean printed;

        Summary(PrintWriter err, boolean tty, boolean pause) {
            this.err = err;
            this.tty = tty;
            this.pause = pause;
        }

        /**
         * One walk: its latency, whether it met any anomaly, and how many of those were reported
         * (the ones the previous walk did not meet).
         */
        synchronized void add(long walkNanos, boolean metAnomalies, int reported) {
            if (n == walks.length) {
                walks = Arrays.copyOf(walks, n * 2);
            }
            walks[n++] = walkNanos;
            anomalies += reported;
            if (metAnomalies) {
                walksWithAnomalies++;
            }
        }

        synchronized int walks() {
            return n;
        }

        /** Prints the summary the first time it is called; later calls do nothing. */
        synchronized void print() {
            if (printed) {
                return;
            }
            printed = true;
            long[] sorted = Arrays.copyOf(walks, n);
            Arrays.sort(sorted);
            err.printf("%swatch: %d walks; walk µs p50 %d, p99 %d, max %d%s; %s%n", tty ? "\n" : "", n,
                    pct(sorted, 50) / 1000, pct(sorted, 99) / 1000, n == 0 ? 0 : sorted[n - 1] / 1000,
                    pause ? " (guest paused during each walk)" : "",
                    anomalies == 0 ? "0 anomalies"
                            : anomalies + (anomalies == 1 ? " anomaly" : " anomalies") + ", met in " + walksWithAnomalies
                                    + (walksWithAnomalies == 1 ? " walk" : " walks"));
            err.flush();
        }
    }

    /** Nearest-rank percentile of a sorted array (0 when empty). */
    static long pct(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** Durations as people write them: 1s, 100ms, 2m, 1.5s, 500us; a bare number is seconds. */
    static final class DurationConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String v) {
            String s = v.strip().toLowerCase(Locale.ROOT);
            String[][] units = {{"ms", "1000000"}, {"us", "1000"}, {"µs", "1000"}, {"ns", "1"}, {"s", "1000000000"},
                {"m", "60000000000"}, {"h", "3600000000000"}};
            long scale = 1_000_000_000L;
            for (String[] u : units) {
                if (s.endsWith(u[0])) {
                    s = s.substring(0, s.length() - u[0].length());
                    scale = Long.parseLong(u[1]);
                    break;
                }
            }
            try {
                double d = Double.parseDouble(s);
                if (!(d >= 0) || d * scale > Long.MAX_VALUE / 2.0) {
                    throw new IllegalArgumentException();
                }
                return Math.round(d * scale);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("not a duration: '" + v + "' (e.g. 1s, 100ms, 2m)");
            }
        }
    }
}
