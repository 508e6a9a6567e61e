package org.xenids.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The benchmark guest: booted by {@code scripts/vmi-guest} with {@code bench=N} (a steady shell
 * loop in the guest printing {@code ==XENIDS-BENCH n==} per completed unit on its serial console),
 * and a host thread that timestamps those lines as they appear in the serial log. Throughput is
 * then units per second of host wall-clock time, which also counts the time the guest was paused
 * (a guest's own clocks would not).
 */
final class BenchGuest implements AutoCloseable {
    private static final Pattern UNIT = Pattern.compile("==XENIDS-BENCH (\\d+)==");
    private final Path script;
    private final String name;
    final Map<String, String> facts;
    private final Thread tailer;
    private volatile boolean stop;
    /** Unit number and host nanoTime when its line was seen; guarded by this. */
    private long[] units = new long[4096];
    private long[] times = new long[4096];
    private int n;
    private volatile String tailError;

    private BenchGuest(Path script, String name, Map<String, String> facts) {
        this.script = script;
        this.name = name;
        this.facts = facts;
        this.tailer = Thread.ofPlatform().daemon().name("bench-serial").start(this::tail);
    }

    static BenchGuest start(Path script, String name, int workers, int loop) throws IOException, InterruptedException {
        List<String> cmd = List.of("bash", script.toString(), "start", name, "--mem", "256M", "--workers",
                Integer.toString(workers), "--nokaslr", "--append", "bench=" + loop, "--timeout", "300");
        Path out = Files.createTempFile("xenids-bench", ".out");
        Path err = Files.createTempFile("xenids-bench", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(900, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("bench guest: " + script + " start did not finish in 900 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("bench guest: " + script + " start failed (exit " + p.exitValue() + "): "
                        + Files.readString(err).strip());
            }
            Map<String, String> facts = new LinkedHashMap<>();
            for (String line : Files.readAllLines(out)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    facts.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            for (String k : List.of("ram", "serial", "qmp", "pid")) {
                if (!facts.containsKey(k)) {
                    throw new IllegalStateException("bench guest: start printed no " + k + "=");
                }
            }
            return new BenchGuest(script, name, facts);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    Path ram() { return Path.of(facts.get("ram")); }

    Path qmp() { return Path.of(facts.get("qmp")); }

    /** QEMU's CPU time so far (all its threads; with TCG, mostly the one vCPU thread). */
    long qemuCpuNanos() {
        return ProcessHandle.of(Long.parseLong(facts.get("pid"))).flatMap(h -> h.info().totalCpuDuration())
                .orElseThrow(() -> new IllegalStateException("bench guest: QEMU (pid " + facts.get("pid") + ") is gone")).toNanos();
    }

    private void tail() {
        byte[] buf = new byte[1 << 16];
        StringBuilder line = new StringBuilder();
        try (RandomAccessFile f = new RandomAccessFile(facts.get("serial"), "r")) {
            long pos = 0;
            while (!stop) {
                long len = f.length();
                if (len <= pos) {
                    Thread.sleep(5); // a 5 ms poll: timestamps are within 5 ms of the line's write
                    continue;
                }
                f.seek(pos);
                int r = f.read(buf, 0, (int) Math.min(buf.length, len - pos));
                long now = System.nanoTime();
                pos += r;
                for (int i = 0; i < r; i++) {
                    char c = (char) (buf[i] & 0xff);
                    if (c == '\n') {
                        Matcher m = UNIT.matcher(line);
                        if (m.find()) {
                            record(Long.parseLong(m.group(1)), now);
                        }
                        line.setLength(0);
                    } else if (line.length() < 4096) {
                        line.append(c);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            tailError = "bench guest: reading " + facts.get("serial") + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void record(long unit, long at) {
        if (n == units.length) {
            units = Arrays.copyOf(units, n * 2);
            times = Arrays.copyOf(times, n * 2);
        }
        units[n] = unit;
        times[n] = at;
        n++;
    }

    /**
     * Units per second completed between host times {@code t0} and {@code t1}: from the first
     * unit line seen at or after t0 to the last seen at or before t1 (NaN when fewer than two).
     */
    synchronized double throughput(long t0, long t1) {
        if (tailError != null) {
            throw new IllegalStateException(tailError);
        }
        int first = -1;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (times[i] >= t0 && first < 0) {
                first = i;
            }
            if (times[i] <= t1) {
                last = i;
            }
        }
        if (first < 0 || last <= first || times[last] == times[first]) {
            return Double.NaN;
        }
        return (units[last] - units[first]) * 1e9 / (times[last] - times[first]);
    }

    @Override
    public void close() {
        stop = true;
        try {
            new ProcessBuilder("bash", script.toString(), "stop", name).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(60, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("bench guest: stopping " + name + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
