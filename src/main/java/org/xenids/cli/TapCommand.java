package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code xenids tap}: the tap run on a recorded hypercall trace. */
@Command(name = "tap", mixinStandardHelpOptions = true,
        description = {"Run the tap on a recorded trace (xenids replay --record-trace): discover the rings,",
            "rebuild the frames, report hostile ring contents. Prints the per-domain counters."})
final class TapCommand implements java.util.concurrent.Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--trace", paramLabel = "FILE", required = true, description = "The trace to read.")
    Path trace;

    @Option(names = "--write-pcap", paramLabel = "OUT.pcapng",
            description = "Write the frames: one interface per domain/vif/queue/direction.")
    Path writePcap;

    @Option(names = "--eve", paramLabel = "FILE", description = "Write anomalies and flow records as EVE JSON.")
    Path eve;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Tap[] tap = new Tap[1];
        try (TapOutputs outputs = new TapOutputs(writePcap, eve)) {
            Trace.Summary s;
            try {
                s = Trace.replay(trace, mem -> tap[0] = new Tap(mem, outputs, outputs::anomaly));
            } catch (IOException e) {
                // What came before the damage was seen: report it, then the error.
                if (tap[0] != null) {
                    TapOutputs.print(out, tap[0], List.of("trace broken: the counters cover it up to the damage"));
                }
                throw e;
            }
            TapOutputs.print(out, tap[0], List.of(outputs.finishFlows(), String.format("trace: %d records, %d hypercalls, %d reads%s%s",
                    s.records(), s.calls(), s.reads(),
                    s.unknownRecords() > 0 ? ", " + s.unknownRecords() + " records of unknown type skipped" : "",
                    s.ended() ? "" : ", NO END RECORD (the recording stopped early)"),
                    "reads the trace could not serve: " + tap[0].failedReads()));
        }
        return 0;
    }
}
