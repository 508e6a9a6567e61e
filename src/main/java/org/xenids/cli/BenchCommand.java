package org.xenids.cli;

import picocli.CommandLine.Command;

/** {@code xenids bench …}: reproducible measurements of xenids' own cost. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure what xenids costs the guests it watches."},
        subcommands = {BenchOverhead.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a sub-command is required (overhead)");
    }
}
