package org.xenids.cli;

import org.xenids.flow.FlowConfig;
import picocli.CommandLine.Option;

/** What the TCP reassembly gives PAYL of urgent bytes: shared by train and detect. */
final class UrgentOption {
    @Option(names = "--tcp-urgent", paramLabel = "POLICY", defaultValue = "OUT_OF_BAND",
            description = "A TCP byte its sender marked urgent: OUT_OF_BAND takes it out of the stream, as a Linux"
                    + " application without SO_OOBINLINE reads it (one reading as data comes: every urgent byte);"
                    + " INLINE leaves it in, as an application with SO_OOBINLINE reads it. Either way it is counted, and by"
                    + " detect reported once per flow direction as a stream.urgent_data anomaly"
                    + " (default: ${DEFAULT-VALUE}).")
    FlowConfig.UrgentPolicy policy = FlowConfig.UrgentPolicy.OUT_OF_BAND;
}
