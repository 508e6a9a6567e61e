package org.xenids.testdata;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A live Linux guest booted by {@code scripts/vmi-guest} (QEMU, software emulation) whose RAM is
 * the file {@link #ramFile()} (guest physical address = file offset below 3 GiB), readable while
 * the guest runs. The guest's own process lists come from its serial console; commands (start or
 * kill a named process, a shell line) go through its second serial port.
 *
 * <pre>{@code
 * try (LiveGuest g = LiveGuest.options().workers(40).start("vmi")) {
 *     PhysicalMemory ram = ...open(g.ramFile());
 *     g.startProcess("evil");   // returns the guest's process list taken right after
 * }
 * }</pre>
 *
 * {@link Options#start} skips the calling test (JUnit assumption) only when QEMU or the kernel cannot
 * be installed (not root, no network); any other failure fails it, with the script's one-line reason.
 */
public final class LiveGuest implements AutoCloseable {

    /**
     * One row of the guest's own process list ({@code /proc/PID/stat}: pid, ppid, name as /proc shows
     * it: kernel threads with their full name, workqueue workers with "-" or "+" and their last workqueue).
     */
    public record Proc(int pid, int ppid, String comm) {
        /** The kernel's {@code task->comm} for this row: what introspection reads (at most 15 bytes). */
        public String taskComm() {
            String c = comm;
            for (int i = c.startsWith("kworker/") ? 8 : c.length(); i < c.length(); i++) {
                if (c.charAt(i) == '-' || c.charAt(i) == '+') {
                    c = c.substring(0, i);
                    break;
                }
            }
            return c.length() > 15 ? c.substring(0, 15) : c;
        }
    }

    /** The guest's answer to a command: its ACK fields and the process list it printed right after. */
    public record Ack(String verb, String arg, String info, List<Proc> ps) {
        public boolean ok() { return info.startsWith("rc=0"); }
    }

    /** Boot options; defaults as the script's: 256M, 80 workers, vmi-canary, KASLR on, 4-level. */
    public static final class Options {
        private String mem = "256M";
        private int workers = 80;
        private String named = "vmi-canary";
        private int psEvery = 0;
        private boolean kaslr = true;
        private boolean la57 = false;
        private boolean bzImage = false;
        private String append = "";
        private int timeoutSeconds = 180;
        private String flavour = "amd64";
        private String kernel = "";
        private boolean hideModule = false;

        public Options mem(String m) { mem = m; return this; }
        public Options workers(int n) { workers = n; return this; }
        /** Idle processes started at boot (comm = name, at most 15 of [A-Za-z0-9._-]). */
        public Options named(String... names) { named = String.join(",", names); return this; }
        public Options psEvery(int seconds) { psEvery = seconds; return this; }
        public Options kaslr(boolean on) { kaslr = on; return this; }
        /** 5-level paging: {@code -cpu max} exposes LA57 under software emulation. */
        public Options la57(boolean on) { la57 = on; return this; }
        /** With KASLR off, boot vmlinuz (through the decompressor) instead of vmlinux directly. */
        public Options bzImage(boolean on) { bzImage = on; return this; }
        /** Extra kernel parameters, e.g. {@code init_on_free=1}. */
        public Options append(String words) { append = words; return this; }
        public Options timeoutSeconds(int s) { timeoutSeconds = s; return this; }
        /** Debian's kernel flavour: {@code amd64} (default), {@code cloud} or {@code rt}. */
        public Options flavour(String f) { flavour = f; return this; }
        /** Kernel version prefix, e.g. {@code 6.12}: the newest such Debian package of the flavour (default: the flavour's metapackage). */
        public Options kernel(String versionPrefix) { kernel = versionPrefix; return this; }
        /** Build the DKOM test module for the booted kernel into the initramfs (see {@link Dkom}). */
        public Options hideModule(boolean on) { hideModule = on; return this; }

        /** Boots guest {@code name} (made unique per JVM) and waits for its ready marker. */
        public LiveGuest start(String name) { return LiveGuest.start(name, this); }
    }

    public static Options options() { return new Options(); }

    private static LiveGuest shared;
    private static RuntimeException sharedFailure;

    /**
     * One guest per test JVM for every class that needs no special boot: 256M, 80 workers, vmi-canary,
     * KASLR off (the fast direct boot), the DKOM test module in its initramfs ({@link Dkom}). Booted
     * on first use, killed when the JVM exits; its {@link #close()} does nothing. Users share it: start
     * processes under names of their own, resume what they pause, and unhide what they hide. A failed (or skipped) boot is reported again to later callers, not retried.
     */
    public static synchronized LiveGuest shared() {
        if (sharedFailure != null) throw sharedFailure;
        if (shared == null || !shared.running()) {
            try {
                shared = options().kaslr(false).hideModule(true).start("shared");
                shared.isShared = true;
            } catch (RuntimeException e) {
                sharedFailure = e;
                throw e;
            }
        }
        return shared;
    }

    private static final int EXIT_CANNOT_INSTALL = 3;
    private static final Pattern ACK = Pattern.compile("^==XENIDS-ACK (\\S+) (\\S+) ?(.*?) (rc=\\S+.*?) ps=(\\d+|none)==$", Pattern.MULTILINE);
    private static final AtomicInteger TOKENS = new AtomicInteger();

    private final String name;
    private final Path runDir;
    private final Map<String, String> facts;
    private final long qemuPid;
    /**
     * How long one guest command may take. Under software emulation on a loaded 2-core machine a
     * shell line over /proc/kallsyms has taken more than a minute; the boot timeout bounds it.
     */
    private final long commandTimeoutSeconds;
    private final Thread cleanup;
    private volatile boolean closed;
    private volatile boolean isShared;

    private LiveGuest(String name, Path runDir, Map<String, String> facts, int timeoutSeconds) {
        this.commandTimeoutSeconds = Math.max(60, timeoutSeconds);
        this.name = name;
        this.runDir = runDir;
        this.facts = facts;
        this.qemuPid = Long.parseLong(facts.get("pid"));
        this.cleanup = new Thread(this::kill, "live-guest-cleanup-" + name);
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** The project's {@code scripts/vmi-guest} (tests run in the project directory). */
    public static Path script() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("scripts/vmi-guest").normalize();
    }

    static LiveGuest start(String base, Options o) {
        String name = base + "-" + ProcessHandle.current().pid();
        Path runDir;
        try {
            runDir = Files.createTempDirectory(Path.of("/tmp"), "xv"); // short: unix socket paths ≤ 107 bytes
        } catch (IOException e) {
            throw new UncheckedIOException("live guest: cannot create a run directory in /tmp", e);
        }
        List<String> cmd = new ArrayList<>(List.of("bash", script().toString(), "start", name,
                "--mem", o.mem, "--workers", Integer.toString(o.workers), "--named", o.named,
                "--ps-every", Integer.toString(o.psEvery), o.kaslr ? "--kaslr" : "--nokaslr",
                "--timeout", Integer.toString(o.timeoutSeconds)));
        if (o.la57) cmd.add("--la57");
        if (o.bzImage) cmd.add("--bzimage");
        if (!o.flavour.equals("amd64")) { cmd.add("--flavour"); cmd.add(o.flavour); }
        if (!o.kernel.isEmpty()) { cmd.add("--kernel"); cmd.add(o.kernel); }
        if (o.hideModule) cmd.add("--hide-module");
        if (!o.append.isBlank()) { cmd.add("--append"); cmd.add(o.append); }
        GuestScript.Run r;
        try {
            r = GuestScript.run(runDir, cmd, o.timeoutSeconds + 900L); // + first-run install and kernel download
        } catch (RuntimeException e) {
            GuestScript.abandon(name, runDir);
            throw e;
        }
        if (r.status() == EXIT_CANNOT_INSTALL) {
            GuestScript.abandon(name, runDir);
            Assumptions.abort("live guest unavailable: " + r.err());
        }
        if (r.status() != 0) {
            GuestScript.abandon(name, runDir);
            throw new IllegalStateException("live guest " + name + ": " + r.err());
        }
        Map<String, String> facts = new LinkedHashMap<>();
        for (String line : r.out().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) facts.put(line.substring(0, eq), line.substring(eq + 1));
        }
        if (!facts.containsKey("pid") || !facts.containsKey("ram")) {
            GuestScript.abandon(name, runDir);
            throw new IllegalStateException("live guest " + name + ": start printed no pid/ram: " + r.out());
        }
        return new LiveGuest(name, runDir, facts, o.timeoutSeconds);
    }

    public String name() { return name; }
    /** The guest's RAM: physical address = file offset (below the 3 GiB PCI hole). */
    public Path ramFile() { return Path.of(facts.get("ram")); }
    public long ramSize() { return parseSize(facts.get("mem")); }
    public Path serialLog() { return Path.of(facts.get("serial")); }
    public Path kernelImage() { return Path.of(facts.get("kernel")); }
    public String kernelCommandLine() { return facts.get("cmdline"); }
    /** One of the facts {@code vmi-guest start} printed (key=value), e.g. {@code hide_module}. */
    public java.util.Optional<String> fact(String key) { return java.util.Optional.ofNullable(facts.get(key)); }
    /** From QEMU's start to the guest's ready marker (all processes up and listed). */
    public Duration bootToReady() { return Duration.ofMillis(Math.round(Double.parseDouble(facts.get("ready_seconds")) * 1000)); }

    /** The latest complete process list the guest printed, sorted by pid. */
    public List<Proc> ps() {
        String log = serial();
        int end = log.lastIndexOf("\n==XENIDS-PS-END seq=");
        if (end < 0) throw new IllegalStateException("live guest " + name + ": no process list in " + serialLog());
        String seq = log.substring(end + 21, log.indexOf("==", end + 21));
        return psBlock(log, seq);
    }

    /** Asks the guest for a fresh process list. */
    public List<Proc> psNow() { return command("ps", "").ps(); }

    /** Starts an idle process named {@code comm} in the guest; returns the list taken after it exec'd. */
    public Ack startProcess(String comm) { return require(command("start", comm)); }

    /** Kills (and reaps) every process {@link #startProcess} started under {@code comm}. */
    public Ack killProcess(String comm) { return require(command("kill", comm)); }

    /** Runs one shell line in the guest (busybox sh, as root) and returns its output (stdout+stderr). */
    public String shell(String line) {
        String tok = token();
        Ack a = command(tok, "sh", line);
        String log = serial();
        String begin = "==XENIDS-OUT-BEGIN " + tok + "==\n";
        int b = log.indexOf(begin);
        int e = log.indexOf("==XENIDS-OUT-END " + tok + "==", b);
        if (b < 0 || e < 0) throw new IllegalStateException("live guest " + name + ": no output markers for " + line);
        if (!a.ok()) throw new IllegalStateException("live guest " + name + ": '" + line + "' " + a.info());
        return log.substring(b + begin.length(), e);
    }

    /** Addresses of kernel symbols from the guest's /proc/kallsyms (as root: real, KASLR applied). */
    public Map<String, Long> kallsyms(String... symbols) {
        for (String s : symbols) {
            if (!s.matches("[A-Za-z0-9_]{1,100}")) throw new IllegalArgumentException("symbol name " + s);
        }
        // awk stops once all are found: a full pass over kallsyms is slow under emulation.
        String want = String.join("|", symbols);
        String out = shell("awk -v n=" + symbols.length + " '$3 ~ /^(" + want + ")$/ && !s[$3]++ {print; if (++k == n) exit}' /proc/kallsyms");
        Map<String, Long> m = new LinkedHashMap<>();
        for (String l : out.split("\n")) {
            String[] f = l.trim().split("\\s+");
            if (f.length >= 3) m.putIfAbsent(f[2], Long.parseUnsignedLong(f[0], 16));
        }
        return m;
    }

    /** Sends one command (ps, start NAME, kill NAME, sh LINE) and waits for its ACK and list. */
    public Ack command(String verb, String arg) { return command(token(), verb, arg); }

    private Ack command(String tok, String verb, String arg) {
        if (arg.indexOf('\n') >= 0 || arg.indexOf('\r') >= 0) throw new IllegalArgumentException("command argument must be one line");
        ensureRunning("command " + verb);
        // Read-write open of the FIFO never blocks, even if QEMU (its reader) is gone.
        try (FileChannel ch = FileChannel.open(Path.of(facts.get("cmd")), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap((tok + " " + verb + " " + arg + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("live guest " + name + ": cannot write command to " + facts.get("cmd"), e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(commandTimeoutSeconds);
        while (System.nanoTime() < deadline) {
            String log = serial();
            int at = log.indexOf("==XENIDS-ACK " + tok + " ");
            // The serial port is slow under emulation: a long ACK line may be only partly written yet.
            if (at >= 0 && log.indexOf('\n', at) >= 0) {
                Matcher m = ACK.matcher(log);
                if (!m.find(at)) throw new IllegalStateException("live guest " + name + ": malformed ACK at " + at);
                String seq = m.group(5);
                if (seq.equals("none")) return new Ack(m.group(2), m.group(3), m.group(4), List.of());
                if (log.contains("\n==XENIDS-PS-END seq=" + seq + "==")) {
                    return new Ack(m.group(2), m.group(3), m.group(4), psBlock(log, seq));
                }
            }
            ensureRunning("command " + verb);
            sleep(100);
        }
        throw new IllegalStateException("live guest " + name + ": no answer to '" + verb + " " + arg
                + "' after " + commandTimeoutSeconds + " s; last serial lines: " + tail());
    }

    /** QEMU's QMP socket (one client at a time: close your connection before calling {@link #qmp}). */
    public Path qmpSocket() { return Path.of(facts.get("qmp")); }

    /** QMP {@code stop}: the guest's CPU halts, its RAM file stays readable and unchanging. */
    public void pause() { qmp("stop", null); }
    /** QMP {@code cont}. */
    public void resume() { qmp("cont", null); }

    /** One QMP command with optional JSON arguments; returns QEMU's reply line. */
    public String qmp(String command, String jsonArgs) {
        ensureRunning("qmp " + command);
        return Qmp.call(Path.of(facts.get("qmp")), command, jsonArgs, Duration.ofSeconds(60));
    }

    /** Copies the RAM while the guest is paused (a consistent raw image), then resumes it. */
    public void snapshot(Path out) {
        pause();
        try {
            Files.copy(ramFile(), out, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("live guest " + name + ": cannot copy " + ramFile() + " to " + out, e);
        } finally {
            resume();
        }
    }

    public boolean running() { return ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false); }

    /** Kills QEMU and removes the RAM file and run directory; safe to call twice; not for {@link #shared()}. */
    @Override
    public void close() {
        if (isShared) return;
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run: nothing left to undo
        }
    }

    private synchronized void kill() {
        if (closed) return;
        closed = true;
        ProcessHandle.of(qemuPid).ifPresent(p -> {
            p.destroyForcibly();
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // reported below if the RAM file cannot go
            }
        });
        try {
            Files.deleteIfExists(ramFile());
        } catch (IOException e) {
            System.err.println("live guest " + name + ": cannot remove " + ramFile() + ": " + e.getMessage());
        }
        GuestScript.deleteTree(runDir);
    }

    private List<Proc> psBlock(String log, String seq) {
        String begin = "\n==XENIDS-PS-BEGIN seq=" + seq + " ";
        int b = log.lastIndexOf(begin);
        int e = log.indexOf("\n==XENIDS-PS-END seq=" + seq + "==", b);
        if (b < 0 || e < 0) throw new IllegalStateException("live guest " + name + ": process list " + seq + " incomplete");
        List<Proc> out = new ArrayList<>();
        String[] lines = log.substring(log.indexOf('\n', b + 1) + 1, e).split("\n");
        for (String l : lines) {
            String t = l.strip();
            if (t.isEmpty() || t.startsWith("PID")) continue;
            String[] f = t.split("\\s+", 3);
            if (f.length < 3) throw new IllegalStateException("live guest " + name + ": bad process line '" + l + "'");
            out.add(new Proc(Integer.parseInt(f[0]), Integer.parseInt(f[1]), f[2]));
        }
        out.sort(Comparator.comparingInt(Proc::pid));
        return List.copyOf(out);
    }

    private String serial() {
        try {
            return new String(Files.readAllBytes(serialLog()), StandardCharsets.ISO_8859_1).replace("\r", "");
        } catch (IOException e) {
            throw new UncheckedIOException("live guest " + name + ": cannot read " + serialLog(), e);
        }
    }

    private String tail() {
        String[] l = serial().split("\n");
        return String.join(" | ", List.of(l).subList(Math.max(0, l.length - 6), l.length));
    }

    private void ensureRunning(String what) {
        if (closed) throw new IllegalStateException("live guest " + name + " is closed (" + what + ")");
        if (!running()) throw new IllegalStateException("live guest " + name + ": QEMU exited (" + what + "); last serial lines: " + tail());
    }

    private Ack require(Ack a) {
        if (!a.ok()) throw new IllegalStateException("live guest " + name + ": " + a.verb() + " " + a.arg() + " " + a.info());
        return a;
    }

    private static String token() { return "j" + ProcessHandle.current().pid() + "-" + TOKENS.incrementAndGet(); }

    static long parseSize(String s) {
        long n = Long.parseLong(s.substring(0, s.length() - 1));
        return switch (s.charAt(s.length() - 1)) {
            case 'M' -> n << 20;
            case 'G' -> n << 30;
            default -> throw new IllegalArgumentException("size " + s);
        };
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("live guest: interrupted", e);
        }
    }
}
