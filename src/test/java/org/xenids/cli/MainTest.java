package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

    /** Runs the command line in-process: exit code, stdout, stderr. */
    static String[] run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        return new String[] {String.valueOf(rc), out.toString(), err.toString()};
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
