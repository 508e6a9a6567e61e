package org.xenids.testdata;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code scripts/vmi-guest} for {@link LiveGuest} and cleans up after it. */
final class GuestScript {
    private GuestScript() {}

    record Run(int status, String out, String err) {}

    static Run run(Path runDir, List<String> cmd, long timeoutSeconds) {
        try {
            Path out = runDir.resolve("script.out");
            Path err = runDir.resolve("script.err");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("XENIDS_VMI_RUN", runDir.toString());
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException("live guest: " + String.join(" ", cmd) + " still running after " + timeoutSeconds + " s");
            }
            String e = Files.readString(err).strip();
            String lastErr = e.isEmpty() ? "exit " + p.exitValue() : e.substring(e.lastIndexOf('\n') + 1);
            return new Run(p.exitValue(), Files.readString(out), lastErr);
        } catch (IOException e) {
            throw new UncheckedIOException("live guest: cannot run " + cmd.get(1), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("live guest: interrupted", e);
        }
    }

    /** After a failed start: QEMU daemonizes, so a timed-out script can leave it running. */
    static void abandon(String name, Path runDir) {
        try {
            Path pidFile = runDir.resolve(name).resolve("qemu.pid");
            if (Files.isRegularFile(pidFile)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
            Files.deleteIfExists(Path.of("/dev/shm/xenids-" + name));
        } catch (IOException | NumberFormatException e) {
            System.err.println("live guest " + name + ": cleanup after a failed start: " + e.getMessage());
        }
        deleteTree(runDir);
    }

    static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover directory in /tmp is harmless; the RAM file was handled separately
        }
    }
}
