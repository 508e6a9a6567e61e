package org.xenids.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * The kernels of {@link PaylBench} timed by this thread's CPU time rather than wall time,
 * interleaved round by round, medians reported: on a shared, loaded machine wall-clock JMH
 * numbers swing by more than the differences being measured, CPU time much less.
 * {@code java -cp target/benchmarks.jar org.xenids.bench.PaylCpuTime [rounds]}.
 */
public final class PaylCpuTime {
    private PaylCpuTime() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        PaylBench b = new PaylBench();
        b.load();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        String[] names = {"plainSum", "histogram", "score", "train", "scoreSame"};
        double[][] gbs = new double[names.length][rounds];
        long sink = 0;
        for (int warm = 0; warm < 20; warm++) {
            sink += b.plainSum() + b.histogram() + (long) b.score() + b.train();
        }
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < names.length; k++) {
                long t0 = mx.getCurrentThreadCpuTime();
                int reps = 3;
                for (int i = 0; i < reps; i++) {
                    sink += switch (k) {
                        case 0 -> b.plainSum();
                        case 1 -> b.histogram();
                        case 2 -> (long) b.score();
                        case 3 -> b.train();
                        default -> (long) b.scoreSameSubject();
                    };
                }
                long t = mx.getCurrentThreadCpuTime() - t0;
                gbs[k][r] = reps * (double) b.total / t;
            }
        }
        System.out.printf(Locale.ROOT, "CPU-time throughput, median of %d rounds (GB/s = bytes per ns of thread CPU time):%n", rounds);
        for (int k = 0; k < names.length; k++) {
            double[] v = gbs[k].clone();
            Arrays.sort(v);
            // The ratio to the plain loop of the same round: drift in the machine's speed between
            // rounds (other work, frequency) cancels out of it, which it does not of the rates.
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = gbs[k][r] / gbs[0][r];
            }
            Arrays.sort(ratio);
            // Fastest round against the plain loop's fastest: each kernel at its least disturbed,
            // which holds from run to run when contention on the host moves the medians.
            double[] plain = gbs[0].clone();
            Arrays.sort(plain);
            System.out.printf(Locale.ROOT, "  %-16s %6.3f GB/s  (min %.3f, max %.3f)   %5.1f%% of plainSum (rounds' quartiles %.1f..%.1f%%;"
                            + " fastest rounds %.1f%%)%n",
                    names[k], v[rounds / 2], v[0], v[rounds - 1], 100 * ratio[rounds / 2],
                    100 * ratio[rounds / 4], 100 * ratio[rounds * 3 / 4], 100 * v[rounds - 1] / plain[rounds - 1]);
        }
        System.out.println("(sink " + (sink & 1) + ")");
    }
}
