package org.xenids.cli;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
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
        description = {"Run the tap on a recorded trace (xenids replay --record-trace).",
            "It discovers the rings, rebuilds the frames, reports hostile ring contents and prints the",
            "per-domain counters and the flows of its frames. A trace damaged part way is run up to the",
            "damage, its counters and flows printed (and written), then the error (exit 1)."})
final class TapCommand implements java.util.concurrent.Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--trace", paramLabel = "FILE", required = true, description = "The trace to read.")
    Path trace;

    @Option(names = "--write-pcap", paramLabel = "OUT.pcapng",
            description = "Write the frames: one interface per domain/vif/queue/direction, each ending with its"
                    + " statistics: frames its ring carried (isb_ifrecv) and those not rebuilt (isb_ifdrop).")
    Path writePcap;

    @Option(names = "--eve", paramLabel = "FILE", description = "Write anomalies and flow records as EVE JSON.")
    Path eve;

    @Override
    public Integer call() throws IOException {
        new Outputs(spec).input("--trace", trace).output("--write-pcap", writePcap).output("--eve", eve);
        PrintWriter out = spec.commandLine().getOut();
        Tap[] tap = new Tap[1];
        if (Files.isDirectory(trace)) {
            throw new IOException(trace + ": is a directory, not a trace file");
        }
        long started = System.nanoTime();
        long size = Files.size(trace);
        HostRun.Progress progress = new HostRun.Progress(spec.commandLine().getErr(), "tap " + trace.getFileName());
        try (TapOutputs outputs = new TapOutputs(writePcap, eve);
             InputStream in = new CountingInput(Files.newInputStream(trace), n -> progress.bytes(n, size))) {
            Trace.Summary s;
            try {
                s = Trace.replay(in, trace.toString(), mem -> tap[0] = new Tap(mem, outputs, outputs::anomaly));
            } catch (IOException e) {
                progress.done();
                // What came before the damage was seen: its flows end as at the end of a trace (their
                // records written), and it is reported, then the error, as replay does on a cut
                // capture. A trace refused before its first hypercall (not a trace, bad header) has
                // nothing to print; its EVE log still ends with the counts of a run that saw nothing.
                if (tap[0] != null && !tap[0].counters().isEmpty()) {
                    String flows = outputs.finishFlows();
                    outputs.writeStats(tap[0], stats(started, 1));
                    TapOutputs.print(out, tap[0], List.of(flows, "trace broken: the counters cover it up to the damage"));
                } else {
                    outputs.writeStats(null, stats(started, 1));
                }
                throw e;
            }
            progress.done();
            String flows = outputs.finishFlows();
            outputs.writeStats(tap[0], stats(started, 0));
            TapOutputs.print(out, tap[0], List.of(flows, String.format("trace: %d records, %d hypercalls, %d reads%s%s",
                    s.records(), s.calls(), s.reads(),
                    s.unknownRecords() > 0 ? ", " + s.unknownRecords() + " records of unknown type skipped" : "",
                    s.ended() ? "" : ", NO END RECORD (the recording stopped early)"),
                    "reads the trace could not serve: " + tap[0].failedReads()));
        }
        return 0;
    }

    /** The run's uptime and broken inputs (a trace holds no capturer's drops). */
    private static EveStats stats(long started, long broken) {
        return new EveStats().uptime((System.nanoTime() - started) / 1e9).errors(broken);
    }

    /** Counts the bytes read through it, for the progress line (long traces run for minutes). */
    private static final class CountingInput extends FilterInputStream {
        private final java.util.function.LongConsumer onRead;
        private long count;

        CountingInput(InputStream in, java.util.function.LongConsumer onRead) {
            super(in);
            this.onRead = onRead;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                onRead.accept(++count);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                onRead.accept(count += n);
            }
            return n;
        }
    }
}
