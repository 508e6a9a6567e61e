package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].startsWith("xenids: "), r[2]);
    }

    @Test
    void helpListsCommandsAndExitsZero() {
        String[] r = run("--help");
        assertEquals("0", r[0]);
        assertTrue(r[1].contains("pcap"), r[1]);
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
}
