package org.xenids.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;
import org.xenids.xen.probe.XenProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code xenids xen lab …}: a real Xen 4.17 under QEMU, observed from outside. */
@Command(name = "lab", mixinStandardHelpOptions = true,
        description = "A real Xen 4.17 with dom0 and a PV guest under QEMU (Debian packages).",
        subcommands = {XenLabCommand.Run.class})
final class XenLabCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a sub-command is required");
    }

    /** {@code f} as a file that exists and can be read, or an error that begins with {@code what}. */
    static Path readable(Path f, String what) throws IOException {
        if (Files.isDirectory(f)) {
            throw new IOException(what + " " + f + " is a directory");
        }
        if (!Files.exists(f)) {
            throw new IOException(what + " " + f + ": no such file");
        }
        if (!Files.isReadable(f)) {
            throw new IOException(what + " " + f + ": permission denied");
        }
        return f;
    }

    /** {@code f} as a program that can be run, or an error that begins with {@code what}. */
    static Path executable(Path f, String what) throws IOException {
        readable(f, what);
        if (!Files.isExecutable(f)) {
            throw new IOException(what + " " + f + " is not executable");
        }
        return f;
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Boot Xen + dom0 + a PV guest (10.0.0.2) on dom0's bridge (10.0.0.1), run traffic,",
                "and write DIR/vif.pcap (tcpdump on the guest's vif in dom0), DIR/serial.log and, unless",
                "--no-probe, DIR/trace.bin: the hypercall stream read through QEMU's gdbstub from boot,",
                "in the trace format of 'xenids replay --record-trace'."})
    static final class Run implements Callable<Integer> {
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
        Path out;
        @Option(names = "--guest-script", paramLabel = "FILE", description = "Shell script the guest runs instead of the default traffic.")
        Path guestScript;
        @Option(names = "--dom0-script", paramLabel = "FILE", description = "Shell script dom0 runs instead of the default traffic.")
        Path dom0Script;
        @Option(names = "--no-probe", description = "Boot and capture only (no gdbstub, no trace).")
        boolean noProbe;
        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "900",
                description = "Whole run bound, at least 1 (default ${DEFAULT-VALUE}).")
        int timeout;
        @Option(names = "--script", paramLabel = "FILE", description = "The lab script (default: scripts/xen-lab of this installation).")
        Path script;
        @Spec
        CommandSpec spec;

        static final Path MAP = Path.of("/usr/lib/debug/boot/xen-syms-4.17-amd64.map");
        static final Path SYMS = Path.of("/usr/lib/debug/boot/xen-syms-4.17-amd64");
        static final Path XEN = Path.of("/boot/xen-4.17-amd64.gz");

        @Override
        public Integer call() throws Exception {
            if (timeout < 1) {
                throw new ParameterException(spec.commandLine(), "--timeout must be at least 1 second, not " + timeout);
            }
            // Everything the run needs is checked before anything runs or the output folder is made.
            Path lab = script != null ? executable(script, "xen lab: lab script") : findScript();
            if (guestScript != null) {
                readable(guestScript, "xen lab: guest script");
            }
            if (dom0Script != null) {
                readable(dom0Script, "xen lab: dom0 script");
            }
            OutDir made = OutDir.create(out);
            boolean ok = false;
            try {
                run(lab);
                ok = true;
                return 0;
            } finally {
                if (!ok) {
                    made.removeIfEmpty();
                }
            }
        }

        private void run(Path lab) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(lab.toString(), "run", "--out", out.toString(),
                    "--timeout", Integer.toString(timeout)));
            if (guestScript != null) {
                cmd.addAll(List.of("--guest-script", guestScript.toString()));
            }
            if (dom0Script != null) {
                cmd.addAll(List.of("--dom0-script", dom0Script.toString()));
            }
            if (noProbe) {
                Script.start(lab, cmd).requireSuccess("run");
                return;
            }
            // The packages must be there before the build-ids can be compared.
            Script.start(lab, List.of(lab.toString(), "prepare")).requireSuccess("prepare");
            String buildId = XenProbe.requireSameBuild(XEN, SYMS);
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path ram = Path.of("/dev/shm", "xenids-xen-lab-" + ProcessHandle.current().pid());
            cmd.addAll(List.of("--gdb", Integer.toString(port), "--ram", ram.toString()));
            Script s = Script.start(lab, cmd);
            Process p = s.process;
            long t0 = System.nanoTime();
            try {
                waitForFile(ram, s);
                try (XenProbe probe = XenProbe.attach("127.0.0.1", port, MAP, SYMS, ram, Duration.ofSeconds(30));
                     OutputStream trace = org.xenids.io.OutputFile.open(out.resolve("trace.bin"))) {
                    Trace.Recorder rec = Trace.recorder(probe.memory(), trace);
                    long[] frames = new long[1];
                    Tap tap = new Tap(rec.memory(), (buf, off, len, domid, vif, queue, dir, peer, ts) -> frames[0]++, a -> { });
                    probe.progress(x -> System.err.printf("xen lab: probe %d stops, %d calls (%d grant, %d event), %d sends skipped%n",
                            x.stops(), x.calls(), x.grantCalls(), x.eventCalls(), x.skippedSends()));
                    XenProbe.Stats st;
                    try {
                        st = probe.run(rec.around(tap), () -> !p.isAlive(), Duration.ofSeconds(5),
                                Duration.ofSeconds(timeout));
                    } finally {
                        rec.close();
                    }
                    System.err.printf("xen lab: build-id %s; %d stops, %d calls (%d grant, %d event), %d unknown stops, "
                            + "%d read failures, %d sends on other ports skipped, %d preempted batches resumed, %d lost; "
                            + "tap rebuilt %d frames; %d s%n", buildId, st.stops(),
                            st.calls(), st.grantCalls(), st.eventCalls(), st.unknownStops(), st.readFailures(),
                            st.skippedSends(), st.continuations(), st.lostContinuations(), frames[0],
                            (System.nanoTime() - t0) / 1_000_000_000L);
                }
                s.requireSuccess("run");
            } finally {
                p.destroy();
                Files.deleteIfExists(ram);
            }
        }

        private static void waitForFile(Path f, Script s) throws IOException, InterruptedException {
            for (int i = 0; i < 1200 && !Files.exists(f); i++) {
                if (!s.process.isAlive()) {
                    s.requireSuccess("run");
                    throw new IOException("xen lab: '" + s.script + " run' ended (status 0) before QEMU started");
                }
                Thread.sleep(100);
            }
            if (!Files.exists(f)) {
                throw new IOException("xen lab: QEMU did not create its RAM file " + f + " in 120 s");
            }
        }

        private static Path findScript() throws IOException {
            List<Path> tried = new ArrayList<>();
            try {
                Path jar = Path.of(XenLabCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                for (Path d = jar.getParent(); d != null; d = d.getParent()) {
                    tried.add(d.resolve("scripts/xen-lab"));
                }
            } catch (URISyntaxException | SecurityException e) {
                // fall back to the working directory
            }
            tried.add(Path.of("scripts/xen-lab").toAbsolutePath());
            for (Path t : tried) {
                if (Files.isExecutable(t)) {
                    return t;
                }
            }
            throw new IOException("xen lab: scripts/xen-lab not found (give --script)");
        }
    }

    /**
     * A run of the lab script: its stdout and stdin are the user's; its stderr is passed through as
     * it comes and its last lines are kept, so that a failure's one-line error can quote them.
     */
    static final class Script {
        private static final int KEEP = 3;
        final Path script;
        final Process process;
        private final Thread copier;
        private final java.util.ArrayDeque<String> last = new java.util.ArrayDeque<>();

        private Script(Path script, Process process) {
            this.script = script;
            this.process = process;
            this.copier = Thread.ofPlatform().daemon().name("xen-lab-stderr").start(this::copy);
        }

        static Script start(Path script, List<String> cmd) throws IOException {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
            return new Script(script, p);
        }

        private void copy() {
            byte[] buf = new byte[8192];
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
            try (java.io.InputStream in = process.getErrorStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    System.err.write(buf, 0, n);
                    System.err.flush();
                    for (int i = 0; i < n; i++) {
                        if (buf[i] == '\n') {
                            keep(line.toString(java.nio.charset.StandardCharsets.UTF_8));
                            line.reset();
                        } else if (line.size() < 400) {
                            line.write(buf[i]);
                        }
                    }
                }
            } catch (IOException e) {
                // The pipe closed under us: what was kept stays.
            }
            keep(line.toString(java.nio.charset.StandardCharsets.UTF_8));
        }

        private synchronized void keep(String l) {
            if (l.isBlank()) {
                return;
            }
            if (last.size() == KEEP) {
                last.removeFirst();
            }
            last.addLast(l.strip());
        }

        /** Waits for the script; a non-zero status is an error naming it, with the last lines it wrote on stderr. */
        void requireSuccess(String what) throws IOException, InterruptedException {
            int rc = process.waitFor();
            // A child the script left running (QEMU) may hold the pipe open: the copy is not waited for long.
            copier.join(2000);
            if (rc != 0) {
                String tail;
                synchronized (this) {
                    tail = last.isEmpty() ? " and wrote nothing on stderr" : "; its stderr ended: " + String.join(" | ", last);
                }
                throw new IOException("xen lab: '" + script + " " + what + "' exited with status " + rc + tail);
            }
        }
    }

    /**
     * An output folder a command makes for itself: if the command fails having written nothing in
     * it, it goes again, with the parent folders made for it; a folder that was there stays.
     */
    static final class OutDir {
        private final Path dir;
        private final Path firstMade;

        private OutDir(Path dir, Path firstMade) {
            this.dir = dir;
            this.firstMade = firstMade;
        }

        static OutDir create(Path dir) throws IOException {
            Path abs = dir.toAbsolutePath().normalize();
            Path first = null;
            for (Path p = abs; p != null && !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
                first = p;
            }
            Files.createDirectories(dir);
            return new OutDir(abs, first);
        }

        /** Removes the folders {@link #create} made, innermost first, as long as they are empty. */
        void removeIfEmpty() {
            if (firstMade == null) {
                return;
            }
            for (Path p = dir; p != null && p.startsWith(firstMade); p = p.getParent()) {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    return; // not empty (the command wrote something): kept, with its parents
                }
            }
        }
    }
}
