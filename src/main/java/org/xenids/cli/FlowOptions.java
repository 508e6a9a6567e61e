package org.xenids.cli;

import org.xenids.flow.FlowConfig;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Flow-table options shared by the pcap commands. */
final class FlowOptions {
    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "Idle time after which a flow ends (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(names = "--split", paramLabel = "POLICY", defaultValue = "NEW_ISN",
            description = "When a TCP SYN on a known 5-tuple starts a new flow: NEW_ISN (new initial sequence number, "
                    + "as Wireshark's tcp.stream), AFTER_CLOSE (after FIN or RST), NEW_ISN_OR_AFTER_CLOSE "
                    + "(either, but a SYN inside an established connection, which its receiver ignores, "
                    + "never splits it: what train and detect use) (default: ${DEFAULT-VALUE}).")
    FlowConfig.SplitPolicy split;

    @Option(names = "--max-flows", paramLabel = "N", defaultValue = "262144",
            description = "Flows held at once; beyond, the least recently active is ended early and counted (default: ${DEFAULT-VALUE}).")
    int maxFlows;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Community ID seed, 0..65535 (default: ${DEFAULT-VALUE}).")
    int seed;

    @Spec(Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    /** The flow-table settings; bad values are usage errors (exit 2). */
    FlowConfig config() {
        if (!(timeoutSeconds > 0) || timeoutSeconds > 1e9) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--timeout must be more than 0 and at most 1e9 seconds: " + timeoutSeconds);
        }
        if (seed < 0 || seed > 0xFFFF) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--seed must be 0..65535");
        }
        if (maxFlows < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-flows must be at least 1");
        }
        long t = (long) (timeoutSeconds * 1e9);
        return FlowConfig.defaults().withTimeouts(t, t, t).withSplit(split).withMaxFlows(maxFlows)
                .withCommunityIdSeed(seed);
    }
}
