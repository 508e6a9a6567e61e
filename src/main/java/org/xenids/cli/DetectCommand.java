package org.xenids.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.xenids.alert.EveWriter;
import org.xenids.detect.payl.PaylModels;
import org.xenids.eval.ScoresCsv;
import org.xenids.xen.emu.Topology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code xenids detect}: score guests' traffic, seen by the tap, against trained PAYL models. */
@Command(name = "detect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Watch guests' traffic through the tap and score its payloads against trained models.",
            "Every flow direction of a guest whose payload is farther from its VM image's model than the",
            "calibrated threshold is an EVE alert (signature 9000001; 9000002/9000003 when a fallback",
            "model judged it); alert.context names the domain, VM image, vif, model, distance,",
            "threshold, score (distance/threshold) and the byte values that weigh most. Ring anomalies",
            "the tap meets are EVE anomaly records, and so is, once per flow direction, a hole the TCP",
            "reassembly had to give up or an overlap with different bytes inside the scored payload",
            "(stream.reassembly_seq_gap, stream.reassembly_overlap_different_data): that score may",
            "have missed bytes the guest received. So is the first packet in a flow direction that",
            "its receiver's stack drops (a bad checksum, IP options or IPv6 headers it rejects, a stale",
            "timestamp, no ACK flag: decode or stream anomaly by name): it is scored as nothing, as the",
            "guest takes nothing of it, but a sender may be showing the detector bytes the guest never",
            "sees. So is the first TCP urgent byte in a flow direction's scored payload",
            "(stream.urgent_data): the guest's application skips it unless it set SO_OOBINLINE (see",
            "--tcp-urgent). A capture damaged part way is watched up to the damage (its alerts and",
            "scores written, its counts printed), then the error (exit 1)."})
final class DetectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    GuestOptions guests;

    @Option(names = "--models", paramLabel = "DIR", required = true, description = "Folder written by 'xenids train'.")
    Path models;

    @Option(names = "--pcap", paramLabel = "FILE", required = true, split = ",",
            description = "Capture(s) to watch (pcap/pcapng, plain or .xz; merged by timestamp; each file once).")
    List<Path> pcaps;

    @Option(names = "--eve", paramLabel = "OUT", required = true, description = "EVE JSON log to write.")
    Path eve;

    @Option(names = "--scores", paramLabel = "FILE.csv",
            description = "Also write one row per scored flow direction (alerted or not), for ROC curves ('xenids eval').")
    Path scoresFile;

    @Option(names = "--per-packet", description = "Score every packet's payload instead of each reassembled flow direction.")
    boolean perPacket;

    @Mixin
    UrgentOption urgent;

    @Override
    public Integer call() throws Exception {
        new Outputs(spec).inputs("--pcap", pcaps).input("--topology", guests.topology)
                .input("--models", models.resolve(PaylRun.MODEL_FILE)).output("--eve", eve).output("--scores", scoresFile);
        Topology t = guests.topology(pcaps);
        PaylModels m = PaylModels.load(models.resolve(PaylRun.MODEL_FILE));
        PrintWriter out = spec.commandLine().getOut();
        PaylRun.Detected d;
        try (EveWriter w = EveWriter.open(eve); ScoresCsv s = scoresFile == null ? null : ScoresCsv.create(scoresFile)) {
            d = PaylRun.detect(t, pcaps, m, perPacket, urgent.policy, w, s, spec.commandLine().getErr());
            // The counts printed below, also for a capture broken part way: the log's last record.
            w.write(d.run().stats().alerts(w.alertsWritten()).event());
        }
        d.run().print(out, "detect");
        PaylRun.print(d.doubts(), out, "", "scored");
        out.printf("scored %,d flow directions: %,d alerts -> %s%n", d.scoredDirections(), d.alerts(), eve);
        for (Map.Entry<String, Long> e : d.alertsByImage().entrySet()) {
            out.printf("  %6d  %s%n", e.getValue(), e.getKey());
        }
        var c = d.counters();
        out.printf("payloads: %,d scored (%,d anomalous; %,d by a port's all-lengths model, %,d by an image's"
                + " all-ports model), %,d with no model, %,d empty%n", c.scored(), c.anomalous(), c.fallbackLength(),
                c.fallbackPort(), c.noModel(), c.empty());
        PaylRun.printUnmonitored(out, "", d.unmonitoredFlows(), d.unmonitoredBytes(), "scored");
        if (d.run().broken() != null) {
            // Everything before the damage was watched and is reported above and in the outputs.
            out.println("capture broken: the counts and alerts cover it up to the damage");
            out.flush();
            throw d.run().broken();
        }
        out.flush();
        return 0;
    }
}
