package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MainTest {

    /** Runs the command line in-process: exit code, stdout, stderr. */
    static String[] run(String... args) {
        return org.xenids.testdata.Cli.run(args);
    }

    @Test
    void unknownCommandIsOneLineUsageErrorWithExit2() {
        String[] r = run("no-such-command");
        assertEquals("2", r[0]);
        assertEquals("xenids: unknown command 'no-such-command' (see 'xenids --help')", r[2].strip());
        r = run("vmi", "no-such-command");
        assertEquals("2", r[0]);
        assertEquals("xenids: unknown command 'no-such-command' (see 'xenids vmi --help')", r[2].strip());
    }

    @Test
    void noCommandIsAUsageErrorThatPointsToHelpOnce() {
        String[] r = run();
        assertEquals("2", r[0]);
        assertEquals("xenids: a command is required (see 'xenids --help')", r[2].strip());
    }

    @Test
    void aGuestRangeOrImageThatCannotBeIsAUsageErrorNamingTheOption() {
        String[][] cases = {{"--guests", "foo", "--guests: 'foo' is not an IPv4 CIDR"},
            {"--guests", "10.0.0.0/33", "--guests: '10.0.0.0/33' is not an IPv4 CIDR"},
            {"--image", "10.0.0.0/99=web", "--image: '10.0.0.0/99' is not an IPv4 CIDR"},
            {"--image", "10.0.0.11/32=", "--image 10.0.0.11/32=: no image name"},
            {"--image", "10.0.0.11/32", "Value for option '--image' (CIDR=NAME) should be in KEY=VALUE format"}};
        for (String[] c : cases) {
            String[] args = c[0].equals("--guests") ? new String[] {"replay", "--guests", c[1], "--pcap", "x.pcap"}
                    : new String[] {"replay", "--guests", "10.0.0.0/24", c[0], c[1], "--pcap", "x.pcap"};
            String[] r = run(args);
            assertEquals("2", r[0], r[2]);
            assertTrue(r[2].startsWith("xenids: " + c[2]), r[2]);
        }
    }

    @Test
    void helpListsCommandsAndExitsZero() {
        String[] r = run("--help");
        assertEquals("0", r[0]);
        // every command the README documents, each listed with its description
        for (String command : List.of("pcap", "vmi", "xen", "eval", "replay", "tap", "train", "detect", "demo", "bench")) {
            assertTrue(r[1].lines().anyMatch(l -> l.matches("  " + command + " +\\S.*")), command + " missing:\n" + r[1]);
        }
    }

    /** A command's line in a list of commands is a whole sentence, not the first line of a longer one. */
    @Test
    void everyCommandListsItsSummaryAsAWholeSentence() {
        for (String group : List.of("", "pcap", "vmi", "xen", "bench")) {
            String[] r = group.isEmpty() ? run("--help") : run(group, "--help");
            assertEquals("0", r[0], r[2]);
            List<String> entries = r[1].lines().dropWhile(l -> !l.equals("Commands:")).skip(1)
                    .filter(l -> l.matches("  \\S.*")).toList();
            assertTrue(!entries.isEmpty(), group + ": " + r[1]);
            for (String e : entries) {
                assertTrue(e.endsWith("."), group + " --help: " + e);
            }
        }
    }

    @Test
    void controlCharactersInAnErrorAreShownEscapedNotSentToTheTerminal(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String name = dir.resolve("a\u001b]0;owned\u0007b.pcap").toString();
        String[] r = run("pcap", "stats", name);
        assertEquals("1", r[0], r[2]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].contains("a\\x1b]0;owned\\x07b.pcap"), r[2]);
        assertTrue(r[2].chars().noneMatch(c -> c < 0x20 && c != '\n'), r[2]);
    }

    @Test
    void runningOutOfHeapIsOneLineNamingTheSettingNotAStackTrace() throws Exception {
        // picocli hands the error handler Exceptions only; an OutOfMemoryError went past it as a
        // stack trace. With an 8 MiB heap the emulated host cannot be built (the capture is plain:
        // an xz one's dictionary would fail first, and that has a message of its own).
        String capture = org.xenids.testdata.SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx8m", "-Dstderr.encoding=UTF-8", "-Dstdout.encoding=UTF-8", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "replay", "--guests", "10.0.0.0/8", "--pcap", capture);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertEquals("xenids: out of memory (Java heap space); raise the heap with XENIDS_JAVA_OPTS=-Xmx…", out);
    }

    @Test
    void aFileWhereAnOutputDirectoryIsWantedIsSaidSo(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        // Files.createDirectories reports it with the path alone: "xenids: /x/models". It is found
        // before any capture is read (this one does not exist), not after a long training.
        Path file = java.nio.file.Files.writeString(dir.resolve("models"), "x");
        String[] r = run("train", "--guests", "10.0.0.0/8", "--pcap", dir.resolve("absent.pcap").toString(),
                "--models", file.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: output " + file.resolve("payl.model") + " (--models): cannot create its folder: " + file
                + " is not a folder", r[2].strip());
    }
}
