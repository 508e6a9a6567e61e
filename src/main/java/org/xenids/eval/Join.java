package org.xenids.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xenids.io.BoundedLineReader;

/**
 * Reads the dataset's flow labels and attaches scores to them. A score row or alert matches the
 * labelled flows with the same protocol and endpoint pair (either orientation); when a 5-tuple
 * was reused, the flow that started last at or before the row's time (1 ms slack) is chosen. A
 * flow's score is the highest of its rows. Rows and alerts that match no flow are counted.
 */
final class Join {
    /** An EVE record is one line; a longer one is not an xenids or Suricata record. */
    static final int MAX_EVE_LINE = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter EVE_TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ");
    private static final double SLACK = 0.001;

    final List<Evaluation.Flow> flows = new ArrayList<>();
    final double[] score;
    private final Map<String, List<Integer>> byKey = new HashMap<>();
    long scoreRows;
    long unmatchedRows;
    long alerts;
    long unmatchedAlerts;

    private Join(List<Evaluation.Flow> labelled) {
        flows.addAll(labelled);
        score = new double[labelled.size()];
        java.util.Arrays.fill(score, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < labelled.size(); i++) {
            Evaluation.Flow f = labelled.get(i);
            byKey.computeIfAbsent(key(f.proto(), f.srcIp(), f.srcPort(), f.dstIp(), f.dstPort()), k -> new ArrayList<>()).add(i);
        }
        byKey.values().forEach(l -> l.sort((a, b) -> Double.compare(flows.get(a).firstTs(), flows.get(b).firstTs())));
    }

    static String key(String proto, String a, int ap, String b, int bp) {
        String x = a + "|" + ap;
        String y = b + "|" + bp;
        return proto.toLowerCase(Locale.ROOT) + "|" + (x.compareTo(y) <= 0 ? x + "|" + y : y + "|" + x);
    }

    static Join labels(Path file) throws IOException {
        List<Evaluation.Flow> out = new ArrayList<>();
        try (BoundedLineReader r = Csv.lines(file, "labels file")) {
            String head = r.readLine();
            if (head == null) {
                throw new IOException("labels file " + file + ": empty (no header)");
            }
            List<String> h = Csv.split(head.strip(), "labels file " + file + " line 1");
            int[] c = Csv.columns(h, "labels file " + file, "flow_id", "proto", "src_ip", "src_port", "dst_ip",
                    "dst_port", "first_ts", "last_ts", "label", "attack_type");
            int n = 1;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String where = "labels file " + file + " line " + n;
                List<String> f = Csv.split(line, where);
                if (f.size() != h.size()) {
                    throw new IOException(where + ": " + f.size() + " fields, header has " + h.size());
                }
                String label = f.get(c[8]);
                if (!label.equals("benign") && !label.equals("attack")) {
                    throw new IOException(where + ": label '" + label + "' is neither benign nor attack");
                }
                boolean attack = label.equals("attack");
                String type = f.get(c[9]);
                if (attack && type.isEmpty()) {
                    type = "unknown";
                }
                out.add(new Evaluation.Flow(f.get(c[0]), f.get(c[1]).toLowerCase(Locale.ROOT), f.get(c[2]),
                        Csv.port(f.get(c[3]), where), f.get(c[4]), Csv.port(f.get(c[5]), where),
                        Csv.number(f.get(c[6]), where, "first_ts"), Csv.number(f.get(c[7]), where, "last_ts"),
                        attack, attack ? type : ""));
            }
        }
        return new Join(out);
    }

    /** The labelled flow a row seen at {@code ts} belongs to, or -1. */
    private int match(String proto, String a, int ap, String b, int bp, double ts) {
        List<Integer> cands = byKey.get(key(proto, a, ap, b, bp));
        if (cands == null) {
            return -1;
        }
        if (Double.isNaN(ts)) {
            return cands.getFirst();
        }
        int best = cands.getFirst();
        for (int i : cands) {
            if (flows.get(i).firstTs() <= ts + SLACK) {
                best = i;
            }
        }
        return best;
    }

    void scores(Path file) throws IOException {
        for (ScoresCsv.Row r : ScoresCsv.read(file)) {
            scoreRows++;
            int i = match(r.proto(), r.srcIp(), r.srcPort(), r.dstIp(), r.dstPort(), r.flowStart());
            if (i < 0) {
                unmatchedRows++;
            } else {
                score[i] = Math.max(score[i], r.score());
            }
        }
    }

    /** Alerts of an EVE log: the score in {@code alert.context.score}, or +Infinity for an alert without one. */
    void eve(Path file) throws IOException {
        try (BoundedLineReader r = BoundedLineReader.open(file, "EVE file", StandardCharsets.UTF_8, MAX_EVE_LINE)) {
            int n = 0;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String where = "EVE file " + file + " line " + n;
                JsonNode e;
                try {
                    e = JSON.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
                    throw new IOException(where + ": not JSON (" + ex.getOriginalMessage() + ")");
                }
                if (!"alert".equals(e.path("event_type").asText()) || !e.has("src_ip")) {
                    continue;
                }
                alerts++;
                double ts;
                try {
                    OffsetDateTime t = OffsetDateTime.parse(e.path("timestamp").asText(), EVE_TS);
                    ts = t.toEpochSecond() + t.getNano() / 1e9;
                } catch (RuntimeException ex) {
                    throw new IOException(where + ": bad timestamp '" + e.path("timestamp").asText() + "'");
                }
                JsonNode s = e.path("alert").path("context").path("score");
                double sc = s.isNumber() ? s.asDouble() : Double.POSITIVE_INFINITY;
                int i = match(e.path("proto").asText(), e.path("src_ip").asText(), e.path("src_port").asInt(0),
                        e.path("dest_ip").asText(), e.path("dest_port").asInt(0), ts);
                if (i < 0) {
                    unmatchedAlerts++;
                } else {
                    score[i] = Math.max(score[i], sc);
                }
            }
        }
    }
}
