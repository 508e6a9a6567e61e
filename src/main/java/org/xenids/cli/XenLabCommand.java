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
        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "900", description = "Whole run bound (default ${DEFAULT-VALUE}).")
        int timeout;
        @Option(names = "--script", paramLabel = "FILE", description = "The lab script (default: scripts/xen-lab of this installation).")
        Path script;

        static final Path MAP = Path.of("/usr/lib/debug/boot/xen-syms-4.17-amd64.map");
        static final Path SYMS = Path.of("/usr/lib/debug/boot/xen-syms-4.17-amd64");
        static final Path XEN = Path.of("/boot/xen-4.17-amd64.gz");

        @Override
        public Integer call() throws Exception {
            Path lab = script != null ? script : findScript();
            Files.createDirectories(out);
            List<String> cmd = new ArrayList<>(List.of(lab.toString(), "run", "--out", out.toString(),
                    "--timeout", Integer.toString(timeout)));
            if (guestScript != null) {
                cmd.addAll(List.of("--guest-script", guestScript.toString()));
            }
            if (dom0Script != null) {
                cmd.addAll(List.of("--dom0-script", dom0Script.toString()));
            }
            if (noProbe) {
                return waitFor(start(cmd));
            }
            // The packages must be there before the build-ids can be compared.
            int prep = waitFor(start(List.of(lab.toString(), "prepare")));
            if (prep != 0) {
                throw new IOException("xen lab: preparing the lab failed (exit " + prep + ")");
            }
            String buildId = XenProbe.requireSameBuild(XEN, SYMS);
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path ram = Path.of("/dev/shm", "xenids-xen-lab-" + ProcessHandle.current().pid());
            cmd.addAll(List.of("--gdb", Integer.toString(port), "--ram", ram.toString()));
            Process p = start(cmd);
            long t0 = System.nanoTime();
            try {
                waitForFile(ram, p);
                try (XenProbe probe = XenProbe.attach("127.0.0.1", port, MAP, SYMS, ram, Duration.ofSeconds(30));
                     OutputStream trace = Files.newOutputStream(out.resolve("trace.bin"))) {
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
                return waitFor(p);
            } finally {
                p.destroy();
                Files.deleteIfExists(ram);
            }
        }

        private static Process start(List<String> cmd) throws IOException {
            return new ProcessBuilder(cmd).inheritIO().start();
        }

        private static int waitFor(Process p) throws InterruptedException {
            return p.waitFor();
        }

        private static void waitForFile(Path f, Process p) throws IOException, InterruptedException {
            for (int i = 0; i < 1200 && !Files.exists(f); i++) {
                if (!p.isAlive()) {
                    throw new IOException("xen lab: the lab script ended (exit " + p.exitValue() + ") before QEMU started");
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
}
