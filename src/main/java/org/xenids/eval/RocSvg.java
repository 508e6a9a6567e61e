package org.xenids.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws ROC curves as a self-contained SVG (no plotting library): on the left linear axes, on the
 * right the false-positive rate on a log axis from 10⁻⁴ to 1, where the operating points that
 * matter for an IDS lie. The overall curve is thick and black, each attack type has its colour;
 * the legend gives each curve's AUC.
 */
final class RocSvg {
    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
    private static final int PW = 400;
    private static final int PH = 400;
    private static final int TOP = 60;
    private static final int LEFT1 = 70;
    private static final int LEFT2 = 560;
    private static final double LOG_MIN = -4;

    private RocSvg() {}

    static String render(String title, Roc overall, Map<String, Roc> byType) {
        int legendRows = byType.size() + 1;
        int width = LEFT2 + PW + 40;
        int height = TOP + PH + 70 + 18 * ((legendRows + 1) / 2) + 20;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">%n",
                width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">%s</text>%n",
                width / 2, esc(title)));
        axes(s, LEFT1, false);
        axes(s, LEFT2, true);
        // Chance line on the linear panel.
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>%n",
                LEFT1, TOP + PH, LEFT1 + PW, TOP));
        List<String> names = new ArrayList<>();
        List<String> colours = new ArrayList<>();
        List<Roc> rocs = new ArrayList<>();
        int c = 0;
        for (Map.Entry<String, Roc> e : byType.entrySet()) {
            names.add(e.getKey());
            colours.add(COLOURS[c++ % COLOURS.length]);
            rocs.add(e.getValue());
        }
        names.add("all attacks");
        colours.add("#000000");
        rocs.add(overall);
        for (int i = 0; i < rocs.size(); i++) {
            double w = i == rocs.size() - 1 ? 2.5 : 1.3;
            s.append(curve(rocs.get(i), colours.get(i), w, false));
            s.append(curve(rocs.get(i), colours.get(i), w, true));
        }
        int ly = TOP + PH + 60;
        for (int i = rocs.size() - 1, k = 0; i >= 0; i--, k++) {
            int x = k % 2 == 0 ? LEFT1 : LEFT1 + 460;
            int y = ly + 18 * (k / 2);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"/>%n",
                    x, y - 4, x + 24, y - 4, colours.get(i), i == rocs.size() - 1 ? "2.5" : "1.5"));
            Roc r = rocs.get(i);
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s (n=%d, AUC %.3f, DR@0.1%%FPR %.1f%%)</text>%n",
                    x + 30, y, esc(names.get(i)), r.positives(), r.auc(), 100 * r.detectionRate(0.001)));
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static void axes(StringBuilder s, int left, boolean log) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>%n",
                left, TOP, PW, PH));
        for (int i = 0; i <= 5; i++) {
            double v = i / 5.0;
            int y = (int) Math.round(TOP + PH - v * PH);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>%n", left, y, left + PW, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.1f</text>%n", left - 6, y + 4, v));
        }
        if (log) {
            String[] labels = {"0.01%", "0.1%", "1%", "10%", "100%"};
            for (int i = 0; i <= 4; i++) {
                int x = left + (int) Math.round(i / 4.0 * PW);
                s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" %s/>%n",
                        x, TOP, x, TOP + PH, i < 3 ? "#c44" : "#ddd", i < 3 ? "stroke-dasharray=\"3 3\"" : ""));
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                        x, TOP + PH + 18, labels[i]));
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">false-positive rate (log; below 0.01%% drawn at the left edge)</text>%n",
                    left + PW / 2, TOP + PH + 38));
        } else {
            for (int i = 0; i <= 5; i++) {
                double v = i / 5.0;
                int x = (int) Math.round(left + v * PW);
                s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>%n", x, TOP, x, TOP + PH));
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.1f</text>%n", x, TOP + PH + 18, v));
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">false-positive rate</text>%n",
                    left + PW / 2, TOP + PH + 38));
        }
        s.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">detection rate (true-positive rate)</text>%n",
                left - 40, TOP + PH / 2));
    }

    private static double x(double fpr, int left, boolean log) {
        if (!log) {
            return left + fpr * PW;
        }
        double l = fpr <= 0 ? LOG_MIN : Math.max(LOG_MIN, Math.log10(fpr));
        return left + (l - LOG_MIN) / -LOG_MIN * PW;
    }

    private static double y(double tpr) {
        return TOP + PH - tpr * PH;
    }

    private static String curve(Roc r, String colour, double width, boolean log) {
        int left = log ? LEFT2 : LEFT1;
        StringBuilder d = new StringBuilder();
        List<Roc.Point> pts = r.points();
        Roc.Point prev = null;
        for (Roc.Point p : pts) {
            if (prev == null) {
                d.append(String.format(Locale.ROOT, "M%.1f,%.1f", x(p.fpr(), left, log), y(p.tpr())));
            } else if (log && p.fpr() > prev.fpr() && p.tpr() > prev.tpr()) {
                // A tie group is a straight segment in linear space: bend it as the log axis does.
                for (int k = 1; k <= 16; k++) {
                    double t = k / 16.0;
                    d.append(String.format(Locale.ROOT, " L%.1f,%.1f", x(prev.fpr() + t * (p.fpr() - prev.fpr()), left, true),
                            y(prev.tpr() + t * (p.tpr() - prev.tpr()))));
                }
            } else {
                d.append(String.format(Locale.ROOT, " L%.1f,%.1f", x(p.fpr(), left, log), y(p.tpr())));
            }
            prev = p;
        }
        return String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" stroke-linejoin=\"round\"/>%n",
                d, colour, width);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
