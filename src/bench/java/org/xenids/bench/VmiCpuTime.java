package org.xenids.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * {@link VmiProcessListBench}'s two kernels timed by this thread's CPU time, interleaved round
 * by round, medians reported: on a shared, loaded machine wall-clock JMH numbers swing by more
 * than the differences being measured. {@code java -cp target/benchmarks.jar org.xenids.bench.VmiCpuTime [rounds]}.
 */
public final class VmiCpuTime {
    private VmiCpuTime() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        VmiProcessListBench b = new VmiProcessListBench();
        b.open();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int warm = 0; warm < 3000; warm++) {
            sink += b.processList() + b.rawReadsOfTheSameBytes();
        }
        double[][] us = new double[2][rounds];
        int reps = 50;
        for (int r = 0; r < rounds; r++) {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < reps; i++) {
                sink += b.processList();
            }
            long t1 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < reps; i++) {
                sink += b.rawReadsOfTheSameBytes();
            }
            long t2 = mx.getCurrentThreadCpuTime();
            us[0][r] = (t1 - t0) / 1e3 / reps;
            us[1][r] = (t2 - t1) / 1e3 / reps;
        }
        String[] names = {"processList (214 tasks)", "raw reads, same bytes"};
        System.out.printf(Locale.ROOT, "thread CPU time per op, median of %d rounds of %d:%n", rounds, reps);
        for (int k = 0; k < 2; k++) {
            double[] v = us[k].clone();
            Arrays.sort(v);
            System.out.printf(Locale.ROOT, "  %-26s %8.1f us  (min %.1f, max %.1f)%n", names[k], v[rounds / 2], v[0], v[rounds - 1]);
        }
        System.out.println("(sink " + (sink & 1) + ")");
    }
}
