package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.detect.payl.PaylFlows;
import org.xenids.detect.payl.PaylModels;
import org.xenids.detect.payl.PaylSettings;
import org.xenids.detect.payl.PaylTrainer;
import org.xenids.eval.ScoresCsv;
import org.xenids.flow.FlowConfig;
import org.xenids.xen.emu.Topology;

/** PAYL training and detection on frames rebuilt by the tap (shared by train, detect and demo). */
final class PaylRun {
    /** The model file inside a --models folder. */
    static final String MODEL_FILE = "payl.model";

    private PaylRun() {}

    /** Summary lines of what the reassembly could not vouch for inside the scored or trained payload, if any. */
    static void print(PaylFlows.ReassemblyDoubts d, PrintWriter out, String indent, String what) {
        if (d.gaps() > 0) {
            out.printf("%sreassembly gaps inside %s payload: %,d (%,d bytes) in %,d flow directions%n",
                    indent, what, d.gaps(), d.gapBytes(), d.gapDirections());
        }
        if (d.differingBytes() > 0) {
            out.printf("%soverlapping segments with different data inside %s payload: %,d bytes in %,d flow"
                    + " directions (the bytes seen first were used)%n", indent, what, d.differingBytes(),
                    d.differingDirections());
        }
        if (d.notComparedBytes() > 0) {
            out.printf("%slater copies of unacknowledged bytes inside %s payload that could not be compared (no"
                    + " reassembly buffer was free to keep them): %,d bytes in %,d flow directions%n", indent, what,
                    d.notComparedBytes(), d.notComparedDirections());
        }
        if (d.refusedPackets() > 0) {
            out.printf("%spackets their receiver's stack drops (bad checksums, options, PAWS, ...): %,d in %,d"
                    + " flow directions; they fed nothing%n", indent, d.refusedPackets(), d.refusedDirections());
        }
        if (d.urgentBytes() > 0) {
            out.printf("%sTCP urgent bytes inside %s payload: %,d in %,d flow directions, %s%n", indent, what,
                    d.urgentBytes(), d.urgentDirections(), d.urgentTakenOut() == d.urgentBytes()
                            ? "taken out of the streams (an application without SO_OOBINLINE skips them)"
                            : "left in the streams (--tcp-urgent INLINE)");
        }
    }

    /**
     * The line on flows no VM image judged because none of their endpoints is a known guest's
     * address (a broadcast or another host's traffic flooded to a guest, an address the topology
     * does not name), if there were any: {@code what} is "scored" or "trained on".
     */
    static void printUnmonitored(PrintWriter out, String indent, long flows, long bytes, String what) {
        if (flows > 0) {
            out.printf("%s%,d %s (%,d payload bytes) not %s: no endpoint is a known guest address%n", indent, flows,
                    flows == 1 ? "flow" : "flows", bytes, what);
        }
    }

    record Trained(PaylModels models, PaylTrainer trainer, HostRun.Result run, PaylFlows.ReassemblyDoubts doubts,
                   long unmonitoredFlows, long unmonitoredBytes) {

        /** The summary lines of what training saw and could not vouch for or use. */
        void printRun(PrintWriter out, String indent, String what) {
            run.print(out, indent + what);
            PaylRun.print(doubts, out, indent, "trained");
            printUnmonitored(out, indent, unmonitoredFlows, unmonitoredBytes, "trained on");
        }
    }

    static Trained train(Topology t, List<Path> pcaps, PaylSettings settings, boolean perPacket,
                         FlowConfig.UrgentPolicy urgent, PrintWriter err)
            throws IOException {
        PaylTrainer trainer = new PaylTrainer(settings);
        PaylFlows flows = PaylFlows.training(trainer, f -> GuestOptions.imageOf(t, f), perPacket);
        FlowConfig cfg = PaylFlows.flowConfig(settings, perPacket).withUrgent(urgent);
        HostRun.Result r = HostRun.run(t, pcaps, cfg, flows, a -> { }, err, "train");
        if (r.broken() != null) {
            throw r.broken(); // models of a capture cut short are not what was asked for: none are written
        }
        if (trainer.trainedSamples() == 0) {
            throw new IllegalStateException("no guest payload in the training captures: nothing to train on"
                    + " (are the guests' addresses right?)");
        }
        return new Trained(trainer.build(), trainer, r, flows.doubts(), flows.unmonitoredFlows(),
                flows.unmonitoredBytes());
    }

    record Detected(HostRun.Result run, long scoredDirections, long alerts, Map<String, Long> alertsByImage,
                    PaylModels.Counters counters, PaylFlows.ReassemblyDoubts doubts, long unmonitoredFlows,
                    long unmonitoredBytes) {}

    static Detected detect(Topology t, List<Path> pcaps, PaylModels models, boolean perPacket,
                           FlowConfig.UrgentPolicy urgent, EveWriter eve, ScoresCsv scores, PrintWriter err)
            throws IOException {
        Map<String, Long> byImage = new TreeMap<>();
        long[] alerts = new long[1];
        PaylFlows flows = PaylFlows.detecting(models, f -> GuestOptions.imageOf(t, f), perPacket,
                s -> {
                    if (scores != null) {
                        scores.write(new ScoresCsv.Row(s.communityId(), s.ipProto() == 6 ? "tcp" : "udp", s.client(),
                                s.clientPort(), s.server(), s.serverPort(), s.flowStartNanos() / 1e9,
                                s.direction().label(), s.image(), String.valueOf(s.model()), s.score()));
                    }
                },
                (EveEvent.Alert a) -> {
                    alerts[0]++;
                    Object image = a.context().get("vm_image");
                    byImage.merge((image == null ? "?" : image) + " / " + a.signature().signature(), 1L, Long::sum);
                    eve.write(a);
                }).placedBy(f -> GuestOptions.placeOf(t, f)).anomaliesTo(eve::write);
        FlowConfig cfg = PaylFlows.flowConfig(models.settings(), perPacket).withUrgent(urgent);
        HostRun.Result r = HostRun.run(t, pcaps, cfg, flows, eve::write, err, "detect");
        return new Detected(r, flows.scoredDirections(), alerts[0], byImage, models.counters(), flows.doubts(),
                flows.unmonitoredFlows(), flows.unmonitoredBytes());
    }
}
