package org.xenids.pcap;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Wireshark's command-line tools (tshark, editcap, capinfos) that tests compare against. */
final class Tools {
    private Tools() {}

    static boolean installed(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Skips the calling test, with the reason, when {@code tool} is not installed. */
    static void assumeInstalled(String tool) {
        assumeTrue(installed(tool), tool + " is not installed (scripts/install-test-deps installs it): skipping the comparison");
    }

    /** Runs a command, fails on a non-zero exit, returns its stdout lines. */
    static List<String> run(String... cmd) throws IOException, InterruptedException {
        Path err = Files.createTempFile("tool", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            List<String> lines = new ArrayList<>();
            try (var r = p.inputReader(StandardCharsets.UTF_8)) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            }
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
            if (p.exitValue() != 0) {
                String msg = Files.readString(err).lines()
                        .filter(l -> !l.startsWith("Running as user")).reduce("", (a, b) -> a + b + "\n");
                throw new IOException(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + msg.strip());
            }
            return lines;
        } finally {
            Files.deleteIfExists(err);
        }
    }

    /** What xzcat decodes of a .xz file (cut or damaged ones too), and whether it found the file whole. */
    record Xzcat(byte[] out, boolean ok) {}

    /** Runs xzcat on {@code file}: its output up to where it stopped, whatever its exit status. */
    static Xzcat xzcat(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("xzcat", file.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        byte[] out;
        try (var in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("xzcat " + file + ": timed out");
        }
        return new Xzcat(out, p.exitValue() == 0);
    }

    /** Packets in a capture, as Wireshark's capinfos counts them. */
    static long capinfosCount(Path file) throws IOException, InterruptedException {
        List<String> out = run("capinfos", "-c", "-M", "-T", "-r", file.toString());
        String[] cols = out.get(out.size() - 1).split("\t");
        return Long.parseLong(cols[cols.length - 1].strip());
    }

    /** tshark's view of each frame: "epoch-seconds.nanos<TAB>len<TAB>caplen<TAB>interface". */
    static List<String> tsharkFrames(Path file) throws IOException, InterruptedException {
        return run("tshark", "-n", "-r", file.toString(), "-T", "fields",
                "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len");
    }
}
