package org.xenids.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The overhead benchmark's statistics, CSV files, table and SVG plot. */
final class OverheadReport {
    static final String HEADER = "mode,rate_hz,pause,guest_throughput_median,guest_throughput_iqr,loss_pct,monitor_cpu_pct,walk_us_p50,walk_us_p99";

    /** One mode over all rounds: medians, IQR, loss against the "none" median. */
    record Row(BenchOverhead.Mode mode, double throughputMedian, double throughputIqr, double lossPct,
               double monitorCpuPct, long walkP50, long walkP99, int walks) {}

    private OverheadReport() {}

    static List<Row> rows(List<BenchOverhead.Sample> samples, List<BenchOverhead.Mode> modes) {
        double base = median(throughputs(samples, modes.get(0)));
        List<Row> rows = new ArrayList<>();
        for (BenchOverhead.Mode m : modes) {
            double[] t = throughputs(samples, m);
            double[] cpu = samples.stream().filter(s -> s.mode().equals(m)).mapToDouble(BenchOverhead.Sample::monitorCpuPct).toArray();
            long[] w = samples.stream().filter(s -> s.mode().equals(m)).flatMapToLong(s -> Arrays.stream(s.walkUs())).sorted().toArray();
            double med = median(t);
            rows.add(new Row(m, med, quantile(t, 0.75) - quantile(t, 0.25), (1 - med / base) * 100, median(cpu),
                    VmiWatch.pct(w, 50), VmiWatch.pct(w, 99), w.length));
        }
        return rows;
    }

    private static double[] throughputs(List<BenchOverhead.Sample> samples, BenchOverhead.Mode m) {
        return samples.stream().filter(s -> s.mode().equals(m)).mapToDouble(BenchOverhead.Sample::throughput)
                .filter(d -> !Double.isNaN(d)).toArray();
    }

    static double median(double[] v) {
        return quantile(v, 0.5);
    }

    /** Linear-interpolated quantile (NaN when empty). */
    static double quantile(double[] v, double q) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (s[hi] - s[lo]) * (pos - lo);
    }

    static void writeCsv(Path file, List<Row> rows) throws IOException {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%s,%s,%s,%.4f,%.4f,%.3f,%.3f,%d,%d%n", r.mode().name(), fmtRate(r.mode().rateHz()),
                    r.mode().pause(), r.throughputMedian(), r.throughputIqr(), r.lossPct(), r.monitorCpuPct(), r.walkP50(), r.walkP99()));
        }
        write(file, b);
    }

    static void writeRounds(Path file, List<BenchOverhead.Sample> samples) throws IOException {
        StringBuilder b = new StringBuilder("round,mode,guest_throughput,monitor_cpu_pct,qemu_cpu_pct,walks\n");
        for (BenchOverhead.Sample s : samples) {
            b.append(String.format(Locale.ROOT, "%d,%s,%.4f,%.3f,%.2f,%d%n", s.round(), s.mode().name(), s.throughput(),
                    s.monitorCpuPct(), s.guestCpuPct(), s.walkUs().length));
        }
        write(file, b);
    }

    private static String fmtRate(double hz) {
        return hz == Math.rint(hz) ? Long.toString((long) hz) : Double.toString(hz);
    }

    /** The table for people, with the machine's noise (spread of the no-introspection rounds). */
    static String table(List<Row> rows, List<BenchOverhead.Sample> samples) {
        StringBuilder b = new StringBuilder(String.format("%-16s %7s %5s %12s %10s %8s %8s %9s %9s%n", "mode", "rate_hz", "pause",
                "units/s med", "IQR", "loss %", "cpu %", "walk p50", "walk p99"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-16s %7s %5s %12.3f %10.3f %8.2f %8.2f %9d %9d%n", r.mode().name(),
                    fmtRate(r.mode().rateHz()), r.mode().pause(), r.throughputMedian(), r.throughputIqr(), r.lossPct(),
                    r.monitorCpuPct(), r.walkP50(), r.walkP99()));
        }
        Row base = rows.get(0);
        double[] t = throughputs(samples, base.mode());
        double min = Arrays.stream(t).min().orElse(Double.NaN);
        double max = Arrays.stream(t).max().orElse(Double.NaN);
        b.append(String.format(Locale.ROOT,
                "noise: no-introspection rounds spread IQR %.2f%% of the median, min..max %.2f%% (%d rounds); losses smaller than that are not resolved%n",
                base.throughputIqr() / base.throughputMedian() * 100, (max - min) / base.throughputMedian() * 100, t.length));
        double[] q = samples.stream().mapToDouble(BenchOverhead.Sample::guestCpuPct).toArray();
        b.append(String.format(Locale.ROOT,
                "contention: QEMU (one vCPU, one host core at most when unpaused) got %.1f%% of a core median, %.1f..%.1f%% over all windows%n",
                median(q), Arrays.stream(q).min().orElse(Double.NaN), Arrays.stream(q).max().orElse(Double.NaN)));
        return b.toString();
    }

    /** A bar per mode (loss %, with each round's own loss as dots) and the monitor's CPU %. */
    static void writeSvg(Path file, List<Row> rows, List<BenchOverhead.Sample> samples, long durationNanos, int rounds) throws IOException {
        int w = 760;
        int h = 440;
        int left = 80;
        int top = 60;
        int plotH = 260;
        int plotW = w - left - 40;
        double base = rows.get(0).throughputMedian();
        double hi = 1;
        double lo = -1;
        for (BenchOverhead.Sample s : samples) {
            double l = (1 - s.throughput() / base) * 100;
            if (!Double.isNaN(l)) {
                hi = Math.max(hi, l);
                lo = Math.min(lo, l);
            }
        }
        hi = Math.ceil(hi * 1.1);
        lo = Math.floor(lo * 1.1);
        double span = hi - lo;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"13\">%n", w, h));
        b.append(String.format("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Guest throughput loss under introspection (%d round(s) × %d s per mode)</text>%n",
                left - 60, rounds, durationNanos / 1_000_000_000L));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"44\" fill=\"#555\">bars: median loss vs. no introspection (below 0: faster, i.e. noise); dots: single rounds</text>%n", left - 60));
        double raw = span / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
        for (double v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
            double y = top + plotH - (v - lo) / span * plotH;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, left + plotW, y, y));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s %%</text>%n", left - 6, y + 4,
                    String.format(Locale.ROOT, step < 1 ? "%.1f" : "%.0f", Math.abs(v) < step / 2 ? 0.0 : v)));
        }
        double zeroY = top + plotH - (0 - lo) / span * plotH;
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>%n", left, left + plotW, zeroY, zeroY));
        int slot = plotW / rows.size();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            double cx = left + slot * (i + 0.5);
            double y = top + plotH - (r.lossPct() - lo) / span * plotH;
            b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>%n", cx - slot * 0.3,
                    Math.min(y, zeroY), (int) (slot * 0.6), Math.abs(zeroY - y), r.mode().pause() ? "#d9534f" : "#4a7ab5"));
            for (BenchOverhead.Sample s : samples) {
                if (s.mode().equals(r.mode()) && !Double.isNaN(s.throughput())) {
                    double ly = top + plotH - ((1 - s.throughput() / base) * 100 - lo) / span * plotH;
                    b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"black\" fill-opacity=\"0.6\"/>%n", cx, ly));
                }
            }
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", cx, top + plotH + 20, r.mode().name()));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">loss %.2f %%</text>%n", cx, top + plotH + 38, r.lossPct()));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">monitor cpu %.2f %%</text>%n",
                    cx, top + plotH + 56, r.monitorCpuPct()));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">walk p50 %d µs</text>%n",
                    cx, top + plotH + 74, r.walkP50()));
        }
        b.append("</svg>\n");
        write(file, b);
    }

    /** The report's text to {@code file}: a failure names the file, as the other outputs' do. */
    private static void write(Path file, CharSequence text) throws IOException {
        try (java.io.OutputStream o = org.xenids.io.OutputFile.open(file)) {
            o.write(text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
