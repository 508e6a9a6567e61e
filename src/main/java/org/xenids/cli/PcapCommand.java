package org.xenids.cli;

import picocli.CommandLine.Command;

/** {@code xenids pcap …}: the packet layer on capture files. */
@Command(name = "pcap", mixinStandardHelpOptions = true,
        description = "Read capture files (pcap, pcapng, optionally .xz-compressed): statistics and flow records.",
        subcommands = {PcapStatsCommand.class, PcapFlowsCommand.class})
final class PcapCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a sub-command is required");
    }
}
