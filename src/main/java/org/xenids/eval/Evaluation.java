package org.xenids.eval;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scores against labels: joins flow scores ({@link ScoresCsv}) and EVE alerts to a labelled
 * dataset's flows, and reports the ROC, its area, the detection rate at fixed false-positive
 * rates, overall and per attack type. Flows with no score rank below every scored flow (tied),
 * so a detector that never sees a flow's payload is charged for missing it.
 */
public final class Evaluation {
    /** False-positive rates the report gives detection rates at: 0.01%, 0.1%, 1%. */
    public static final double[] FPRS = {0.0001, 0.001, 0.01};

    /** A labelled flow (label CSV row); {@code attackType} is empty for benign flows. */
    public record Flow(String flowId, String proto, String srcIp, int srcPort, String dstIp, int dstPort,
                       double firstTs, double lastTs, boolean attack, String attackType) {}

    /** The joined data: flows, their scores ({@code -Infinity} = unscored), and the join counts. */
    public record Result(List<Flow> flows, double[] scores, Roc overall, Map<String, Roc> byType,
                         long scoreRows, long unmatchedRows, long alerts, long unmatchedAlerts) {

        /** Flows of an attack type (or "benign") that got a score. */
        public long scored(String type) {
            long n = 0;
            for (int i = 0; i < flows.size(); i++) {
                Flow f = flows.get(i);
                if ((f.attack() ? f.attackType() : "benign").equals(type) && scores[i] != Double.NEGATIVE_INFINITY) {
                    n++;
                }
            }
            return n;
        }

        /** Share of attack-type flows at or above the overall threshold for false-positive rate {@code fpr}. */
        public double detectionRate(String type, double fpr) {
            return byType.get(type).detectionRate(fpr);
        }

        public void report(PrintWriter out) {
            long benign = overall.negatives();
            long attacks = overall.positives();
            out.printf(Locale.ROOT, "flows %d: benign %d (%d scored), attack %d; score rows %d (%d matched no flow)"
                    + ", alerts %d (%d matched no flow)%n", flows.size(), benign, scored("benign"), attacks,
                    scoreRows, unmatchedRows, alerts, unmatchedAlerts);
            out.printf(Locale.ROOT, "%-28s %7s %7s %7s %7s %9s %9s %9s %9s%n", "attack type", "flows", "scored", "AUC",
                    "AUC(sc)", "DR@0.01%", "DR@0.1%", "DR@1%", "score>1");
            row(out, "all attacks", attacks, attacks - unscoredAttacks(), overall, scoredOnlyAuc("all attacks"),
                    alertedShare("all attacks"));
            for (Map.Entry<String, Roc> e : byType.entrySet()) {
                row(out, e.getKey(), e.getValue().positives(), scored(e.getKey()), e.getValue(), scoredOnlyAuc(e.getKey()),
                        alertedShare(e.getKey()));
            }
            out.println("AUC(sc): scored attack flows against scored benign flows only, i.e. how well the scores"
                    + " separate the flows the detector saw payload of");
            double fpr = alertedShare("benign");
            out.printf(Locale.ROOT, "at the detectors' own alert threshold (score > 1): %d of %d benign flows flagged (FPR %s)%n",
                    Double.isNaN(fpr) ? 0 : Math.round(fpr * benign), benign,
                    Double.isNaN(fpr) ? "-" : String.format(Locale.ROOT, "%.3f%%", 100 * fpr));
            out.print("operating points (benign flows flagged, threshold):");
            for (double f : FPRS) {
                Roc.Point p = overall.at(f);
                out.printf(Locale.ROOT, "  FPR≤%s: %d/%d at score ≥ %s;", pct(f), p.falsePositives(), benign,
                        Double.isInfinite(p.threshold()) ? "none" : String.format(Locale.ROOT, "%.4g", p.threshold()));
            }
            out.println();
            out.flush();
        }

        /** Share of the flows of a type ("benign", "all attacks" or an attack type) scored above 1. */
        public double alertedShare(String type) {
            long n = 0;
            long above = 0;
            for (int i = 0; i < flows.size(); i++) {
                Flow f = flows.get(i);
                boolean in = type.equals("all attacks") ? f.attack() : (f.attack() ? f.attackType() : "benign").equals(type);
                if (in) {
                    n++;
                    above += scores[i] > 1 ? 1 : 0;
                }
            }
            return n == 0 ? Double.NaN : (double) above / n;
        }

        private long unscoredAttacks() {
            long n = 0;
            for (int i = 0; i < flows.size(); i++) {
                n += flows.get(i).attack() && scores[i] == Double.NEGATIVE_INFINITY ? 1 : 0;
            }
            return n;
        }

        /** AUC of the scored flows of a type ("all attacks" or an attack type) against the scored benign flows. */
        public double scoredOnlyAuc(String type) {
            List<Double> s = new ArrayList<>();
            List<Boolean> a = new ArrayList<>();
            for (int i = 0; i < flows.size(); i++) {
                Flow f = flows.get(i);
                boolean in = !f.attack() || type.equals("all attacks") || f.attackType().equals(type);
                if (in && scores[i] != Double.NEGATIVE_INFINITY) {
                    s.add(scores[i]);
                    a.add(f.attack());
                }
            }
            boolean[] at = new boolean[a.size()];
            for (int i = 0; i < at.length; i++) {
                at[i] = a.get(i);
            }
            return Roc.of(s.stream().mapToDouble(Double::doubleValue).toArray(), at).auc();
        }

        private static void row(PrintWriter out, String name, long n, long scored, Roc roc, double scoredAuc, double alerted) {
            out.printf(Locale.ROOT, "%-28s %7d %7d %7s %7s %9s %9s %9s %9s%n", name, n, scored, auc(roc.auc()), auc(scoredAuc),
                    percent(n == 0 ? Double.NaN : roc.detectionRate(FPRS[0])),
                    percent(n == 0 ? Double.NaN : roc.detectionRate(FPRS[1])),
                    percent(n == 0 ? Double.NaN : roc.detectionRate(FPRS[2])), percent(alerted));
        }

        /** A figure with nothing to measure it on (no attack flow, no benign one) is shown as "-", not NaN. */
        private static String auc(double a) {
            return Double.isNaN(a) ? "-" : String.format(Locale.ROOT, "%.4f", a);
        }

        private static String percent(double share) {
            return Double.isNaN(share) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * share);
        }

        /** The overall ROC and each attack type's, one row per point: curve,threshold,fp,tp,fpr,tpr. */
        public void writeRocCsv(Path file) throws IOException {
            // Built in memory first: a PrintWriter straight on the file would swallow a write error.
            java.io.StringWriter text = new java.io.StringWriter();
            PrintWriter w = new PrintWriter(text);
            w.println("curve,threshold,fp,tp,fpr,tpr");
            rocCsv(w, "all", overall);
            byType.forEach((t, r) -> rocCsv(w, t, r));
            write(file, text.toString());
        }

        private static void rocCsv(PrintWriter w, String name, Roc r) {
            for (Roc.Point p : r.points()) {
                w.printf(Locale.ROOT, "%s,%s,%d,%d,%.8f,%.8f%n", Csv.field(name), p.threshold(), p.falsePositives(),
                        p.truePositives(), p.fpr(), p.tpr());
            }
        }

        /** The ROC as an SVG plot: linear axes beside a log false-positive axis (10⁻⁴…1). */
        public void writeRocSvg(Path file, String title) throws IOException {
            write(file, RocSvg.render(title, overall, byType));
        }

        private static void write(Path file, String text) throws IOException {
            try (java.io.OutputStream o = org.xenids.io.OutputFile.open(file)) {
                o.write(text.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private Evaluation() {}

    static String pct(double f) {
        return java.math.BigDecimal.valueOf(f * 100).stripTrailingZeros().toPlainString() + "%";
    }

    /** Joins score files and EVE logs to the labels and computes the curves. */
    public static Result run(Path labels, List<Path> scoreFiles, List<Path> eveFiles) throws IOException {
        Join j = Join.labels(labels);
        for (Path p : scoreFiles) {
            j.scores(p);
        }
        for (Path p : eveFiles) {
            j.eve(p);
        }
        return evaluate(j.flows, j.score, j.scoreRows, j.unmatchedRows, j.alerts, j.unmatchedAlerts);
    }

    /** Curves for flows already scored in memory ({@code -Infinity} = unscored). */
    public static Result evaluate(List<Flow> flows, double[] scores, long scoreRows, long unmatchedRows,
                                  long alerts, long unmatchedAlerts) {
        int n = flows.size();
        boolean[] attack = new boolean[n];
        TreeMap<String, List<Integer>> types = new TreeMap<>();
        List<Integer> benign = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Flow f = flows.get(i);
            attack[i] = f.attack();
            if (f.attack()) {
                types.computeIfAbsent(f.attackType(), k -> new ArrayList<>()).add(i);
            } else {
                benign.add(i);
            }
        }
        Roc overall = Roc.of(scores, attack);
        Map<String, Roc> byType = new TreeMap<>();
        types.forEach((t, idx) -> {
            int m = idx.size() + benign.size();
            double[] s = new double[m];
            boolean[] a = new boolean[m];
            int k = 0;
            for (int i : idx) {
                s[k] = scores[i];
                a[k++] = true;
            }
            for (int i : benign) {
                s[k++] = scores[i];
            }
            byType.put(t, Roc.of(s, a));
        });
        return new Result(List.copyOf(flows), scores.clone(), overall, byType, scoreRows, unmatchedRows, alerts, unmatchedAlerts);
    }
}
