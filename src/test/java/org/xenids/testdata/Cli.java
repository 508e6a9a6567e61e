package org.xenids.testdata;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.xenids.cli.Main;

/** Runs the xenids command line in this JVM, as the launcher configures it. */
public final class Cli {
    private Cli() {}

    /** Exit code, stdout and stderr of {@code xenids args…}. */
    public static String[] run(String... args) {
        picocli.CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        return new String[] {String.valueOf(rc), out.toString(), err.toString()};
    }
}
