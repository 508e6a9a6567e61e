package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveWriter;
import org.xenids.eval.Evaluation;
import org.xenids.eval.ScoresCsv;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;

/**
 * The whole offline path on the dev set with default settings: the project's reader, decoder,
 * flow table and reassembly feed PAYL, trained on train_benign (seed 1101) and run over
 * test_mixed (seed 2202 + attacks); scores and alerts are evaluated against test_mixed.csv. The
 * figures are printed and the curves written to target/dev-e2e/; nothing here is tuned to the
 * labels, and the assertions are about the pipeline, not about how good the figures are.
 */
class DevSetEndToEndTest {
    static final Path OUT = Path.of("target", "dev-e2e");
    static final Function<Flow, String> IMAGES = f -> DevTraffic.IMAGE_OF.get(f.serverAddress());

    /** The flow settings `xenids train` and `detect` use. */
    static void replay(String capture, PaylFlows listener, boolean perPacket) throws Exception {
        FlowConfig cfg = PaylFlows.flowConfig(PaylSettings.defaults(), perPacket);
        Pipeline p = new Pipeline(cfg, listener);
        try (CaptureReader r = CaptureReader.open(SharedData.file(capture))) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
            }
        }
        p.finish();
    }

    static String run(boolean perPacket) throws Exception {
        Files.createDirectories(OUT);
        String tag = perPacket ? "packet" : "stream";
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        long t0 = System.nanoTime();
        PaylFlows train = PaylFlows.training(t, IMAGES, perPacket);
        replay(DevTraffic.TRAIN, train, perPacket);
        Path modelFile = OUT.resolve("dev-" + tag + ".payl");
        t.build().save(modelFile);
        PaylModels models = PaylModels.load(modelFile);
        long t1 = System.nanoTime();
        Path scores = OUT.resolve("scores-" + tag + ".csv");
        Path eve = OUT.resolve("eve-" + tag + ".json");
        PaylFlows detect;
        try (ScoresCsv csv = ScoresCsv.create(scores); EveWriter w = EveWriter.open(eve)) {
            detect = PaylFlows.detecting(models, IMAGES, perPacket, s -> csv.write(new ScoresCsv.Row(s.communityId(),
                    s.ipProto() == 6 ? "tcp" : "udp", s.client(), s.clientPort(), s.server(), s.serverPort(),
                    s.flowStartNanos() / 1e9, s.direction().label(), s.image(), String.valueOf(s.model()), s.score())), w::write);
            replay("traffic/dev/test/test_mixed.pcap.xz", detect, perPacket);
        }
        long t2 = System.nanoTime();
        List<String> alerts = Files.readAllLines(eve);
        assertTrue(!alerts.isEmpty(), "no alert on the dev set's attacks");
        // Up to 200 alerts spread over the whole file (validating all of them takes longer than the run).
        int step = Math.max(1, (alerts.size() + 199) / 200);
        EveSchema.assertValid(java.util.stream.IntStream.iterate(0, i -> i < alerts.size(), i -> i + step)
                .mapToObj(alerts::get).toList());
        Evaluation.Result r = Evaluation.run(SharedData.file("traffic/dev/test/test_mixed.csv"), List.of(scores), List.of());
        r.writeRocCsv(OUT.resolve("roc-" + tag + ".csv"));
        r.writeRocSvg(OUT.resolve("roc-" + tag + ".svg"), "PAYL (" + tag + " scoring) on dev test_mixed, trained on train_benign");
        StringWriter sw = new StringWriter();
        PrintWriter pw = new PrintWriter(sw);
        pw.printf(Locale.ROOT, "== PAYL %s scoring: %d models (%d trained, %d held out), train %.1f s, detect %.1f s;"
                + " %d directions scored, %d alerts, %d flows skipped (no guest); reassembly gaps inside the payload"
                + " trained %d, scored %d; overlapping bytes that differ trained %d, scored %d%n", tag, models.models().size(),
                t.trainedSamples(), t.heldOutSamples(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, detect.scoredDirections(),
                alerts.size(), detect.unmonitoredFlows(), train.doubts().gaps(), detect.doubts().gaps(), train.doubts().differingBytes(),
                detect.doubts().differingBytes());
        pw.println(models.counters());
        r.report(pw);
        System.out.print(sw);
        Files.writeString(OUT.resolve("report-" + tag + ".txt"), sw.toString());

        // Every scored direction belongs to a labelled flow: decoder, flow table and join agree with the labels.
        assertEquals(0, r.unmatchedRows(), "score rows that match no labelled flow");
        // The injected shellcode flows all carry payload and get a score.
        assertEquals(r.byType().get("shellcode_tcp").positives(), r.scored("shellcode_tcp"));
        // SYN floods carry no payload: nothing to score.
        assertEquals(0, r.scored("syn_flood"));
        assertTrue(models.counters().scored() > 0);
        return sw.toString();
    }

    @Test
    void streamScoringScoresEveryLabelledFlowItSeesAndEveryShellcodeFlowOfTheDevSet() throws Exception {
        run(false);
    }

    @Test
    void perPacketScoringScoresEveryLabelledFlowItSeesAndEveryShellcodeFlowOfTheDevSet() throws Exception {
        run(true);
    }
}
