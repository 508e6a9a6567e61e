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
}
