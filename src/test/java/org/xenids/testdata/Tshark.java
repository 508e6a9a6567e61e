package org.xenids.testdata;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs tshark (Wireshark 4.0+) field extraction on a capture. The output is cached under
 * {@code target/tshark/} next to the decompressed capture, keyed by the capture's name, size and
 * time and by the fields asked, so a capture is dissected once per build directory.
 */
public final class Tshark {
    private Tshark() {}

    public static boolean installed() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, "tshark"))) return true;
        }
        return false;
    }

    public static void assumeInstalled() {
        assumeTrue(installed(), "tshark is not installed (scripts/install-test-deps installs it): skipping the comparison");
    }

    /**
     * One line per frame: the given fields separated by '|' (empty when absent), with the
     * Community ID dissector enabled (seed 0).
     */
    public static List<String> fields(Path capture, String... fields) throws IOException, InterruptedException {
        String key = capture.getFileName() + "." + Files.size(capture) + "." + Files.getLastModifiedTime(capture).toMillis()
                + "." + Integer.toHexString(String.join(",", fields).hashCode()) + ".txt";
        Path cache = Path.of("target", "tshark", key).toAbsolutePath();
        if (!Files.isRegularFile(cache)) {
            Files.createDirectories(cache.getParent());
            Path tmp = Files.createTempFile(cache.getParent(), key, ".part");
            List<String> cmd = new java.util.ArrayList<>(List.of("tshark", "-n", "-r", capture.toString(),
                    "--enable-protocol", "communityid", "-o", "communityid.seed:0", "-T", "fields", "-E", "separator=|"));
            for (String f : fields) {
                cmd.add("-e");
                cmd.add(f);
            }
            Path err = Files.createTempFile(cache.getParent(), key, ".err");
            Process p = new ProcessBuilder(cmd).redirectOutput(tmp.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("tshark timed out on " + capture);
            }
            String msg = Files.readString(err).lines().filter(l -> !l.startsWith("Running as user"))
                    .reduce("", (a, b) -> a + b + " ");
            Files.deleteIfExists(err);
            if (p.exitValue() != 0) throw new IOException("tshark failed on " + capture + ": " + msg.strip());
            Files.move(tmp, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return Files.readAllLines(cache, StandardCharsets.UTF_8);
    }
}
