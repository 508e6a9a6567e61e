package org.xenids.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluationJoinTest {
    static final String HEADER = "flow_id,proto,src_ip,src_port,dst_ip,dst_port,first_ts,last_ts,packets,bytes,label,attack_type,scenario\n";

    @TempDir
    Path dir;

    Path labels() throws IOException {
        return Files.writeString(dir.resolve("labels.csv"), HEADER
                + "0,tcp,203.0.113.5,40000,10.0.0.11,80,100.0,101.0,10,1000,benign,,benign_web\n"
                // The same 5-tuple reused later: an attack.
                + "1,tcp,203.0.113.5,40000,10.0.0.11,80,200.0,201.0,10,1000,attack,http_exploits,attack_http\n"
                + "2,udp,203.0.113.6,5353,10.0.0.15,53,150.0,150.1,2,200,benign,,benign_dns\n"
                + "3,tcp,203.0.113.170,41000,10.0.0.16,9000,160.0,161.0,10,900,attack,shellcode_tcp,attack_sc\n"
                + "4,tcp,203.0.113.171,1234,10.0.0.13,22,170.0,171.0,2,120,attack,nmap_syn_scan,attack_scan\n");
    }

    @Test
    void scoresJoinByEndpointsAndStartTimeAndAlertsByTheirTime() throws Exception {
        Path scores = dir.resolve("scores.csv");
        try (ScoresCsv w = ScoresCsv.create(scores)) {
            w.write(new ScoresCsv.Row("1:x", "tcp", "203.0.113.5", 40000, "10.0.0.11", 80, 100.0, "to_server", "nginx", "m", 0.2));
            w.write(new ScoresCsv.Row("1:x", "tcp", "203.0.113.5", 40000, "10.0.0.11", 80, 200.0, "to_server", "nginx", "m", 3.0));
            w.write(new ScoresCsv.Row("1:x", "tcp", "203.0.113.5", 40000, "10.0.0.11", 80, 200.0, "to_client", "nginx", "m", 0.1));
            // Reported server-first: still the same flow.
            w.write(new ScoresCsv.Row(null, "udp", "10.0.0.15", 53, "203.0.113.6", 5353, 150.0, "to_client", "dnsmasq", "m", 0.5));
            w.write(new ScoresCsv.Row(null, "tcp", "192.0.2.1", 1, "192.0.2.2", 2, 1.0, "to_server", "x", "m", 9.0));
        }
        Path eve = Files.writeString(dir.resolve("eve.json"),
                "{\"timestamp\":\"1970-01-01T00:02:40.500000+0000\",\"event_type\":\"alert\",\"src_ip\":\"203.0.113.170\","
                + "\"src_port\":41000,\"dest_ip\":\"10.0.0.16\",\"dest_port\":9000,\"proto\":\"TCP\","
                + "\"alert\":{\"signature_id\":9000001,\"context\":{\"score\":12.5}}}\n"
                + "{\"timestamp\":\"1970-01-01T00:02:40.500000+0000\",\"event_type\":\"flow\",\"src_ip\":\"1.2.3.4\"}\n");
        Evaluation.Result r = Evaluation.run(labels(), List.of(scores), List.of(eve));
        assertEquals(0.2, r.scores()[0]);
        assertEquals(3.0, r.scores()[1], "max of the flow's two directions");
        assertEquals(0.5, r.scores()[2]);
        assertEquals(12.5, r.scores()[3]);
        assertEquals(Double.NEGATIVE_INFINITY, r.scores()[4], "the scan has no payload: unscored");
        assertEquals(5, r.scoreRows());
        assertEquals(1, r.unmatchedRows());
        assertEquals(1, r.alerts());
        // Attacks 3.0, 12.5, -inf vs benign 0.2, 0.5: pairs won 2+2+0 of 6.
        assertEquals(4.0 / 6, r.overall().auc(), 1e-12);
        assertEquals(1.0, r.byType().get("shellcode_tcp").auc());
        assertEquals(0.0, r.byType().get("nmap_syn_scan").detectionRate(0.01));
        // Scored only: attacks 3.0 and 12.5 against benign 0.2 and 0.5 separate perfectly.
        assertEquals(1.0, r.scoredOnlyAuc("all attacks"));
        assertEquals(Double.NaN, r.scoredOnlyAuc("nmap_syn_scan"), "no scored scan flow");
        StringWriter out = new StringWriter();
        r.report(new PrintWriter(out));
        assertTrue(out.toString().contains("shellcode_tcp"), out.toString());
        assertTrue(out.toString().contains("score rows 5 (1 matched no flow)"), out.toString());
    }

    @Test
    void rocCsvAndSvgAreWrittenAndTheSvgIsWellFormed() throws Exception {
        double[] s = {5, 4, 3, 2, 1, 0.5};
        List<Evaluation.Flow> flows = new java.util.ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            flows.add(new Evaluation.Flow(Integer.toString(i), "tcp", "a", i, "b", 80, i, i, i % 2 == 0, i % 2 == 0 ? "t" : ""));
        }
        Evaluation.Result r = Evaluation.evaluate(flows, s, 0, 0, 0, 0);
        Path csv = dir.resolve("roc.csv");
        Path svg = dir.resolve("roc.svg");
        r.writeRocCsv(csv);
        r.writeRocSvg(svg, "test <&> curve");
        List<String> lines = Files.readAllLines(csv);
        assertEquals("curve,threshold,fp,tp,fpr,tpr", lines.get(0));
        assertEquals(1 + 2 * 7, lines.size(), "7 points (start + 6 scores) for 'all' and for type t");
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getNodeName());
        assertTrue(doc.getElementsByTagName("path").getLength() >= 4);
    }

    @Test
    void malformedLabelIsRefusedNamingFileAndLine() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.csv"), HEADER
                + "0,tcp,203.0.113.5,40000,10.0.0.11,80,100.0,101.0,10,1000,benign,,x\n"
                + "1,tcp,203.0.113.5,40000,10.0.0.11,80,100.0,101.0,10,1000,maybe,,x\n");
        IOException e = assertThrows(IOException.class, () -> Evaluation.run(bad, List.of(), List.of()));
        assertEquals("labels file " + bad + " line 3: label 'maybe' is neither benign nor attack", e.getMessage());
        Path port = Files.writeString(dir.resolve("port.csv"), HEADER
                + "0,tcp,203.0.113.5,99999,10.0.0.11,80,100.0,101.0,10,1000,benign,,x\n");
        assertTrue(assertThrows(IOException.class, () -> Evaluation.run(port, List.of(), List.of()))
                .getMessage().endsWith("line 2: bad port '99999'"));
    }
}
