package org.xenids.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;

/**
 * {@link TapBench}'s kernels timed by this thread's CPU time rather than wall time,
 * interleaved round by round, medians reported (on a shared, loaded machine wall-clock JMH numbers
 * swing by more than the differences being measured), with the bytes this thread allocated per
 * replay. {@code java -cp target/benchmarks.jar org.xenids.bench.TapCpuTime [rounds [sizes, e.g. 64,1514 [bursts, e.g. 1,32]]]}.
 */
public final class TapCpuTime {
    private TapCpuTime() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        String[] names = {"tapOnTrace", "tapAlone", "hostOnly", "traceReaderOnly", "baselinePlainCopy"};
        int kernels = names.length;
        int[] sizes = args.length > 1 ? java.util.Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {64, 1514};
        int[] bursts = args.length > 2 ? java.util.Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 32};
        for (int size : sizes) {
            for (int burst : bursts) {
                TapBench b = new TapBench();
                b.size = size;
                b.burst = burst;
                b.record();
                System.out.printf(Locale.ROOT, "%d-byte frames in bursts of %d: trace of %d bytes, %.1f trace bytes a frame%n",
                        size, burst, b.trace.length, b.trace.length / (double) TapBench.FRAMES);
                long sink = 0;
                for (int warm = 0; warm < 10; warm++) {
                    sink += b.tapOnTrace() + b.tapAlone() + b.hostOnly() + b.traceReaderOnly() + b.baselinePlainCopy()[warm];
                }
                double[][] ns = new double[kernels][rounds];
                long[] alloc = new long[kernels];
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < kernels; k++) {
                        long a0 = mx.getCurrentThreadAllocatedBytes();
                        long t0 = mx.getCurrentThreadCpuTime();
                        sink += switch (k) {
                            case 0 -> b.tapOnTrace();
                            case 1 -> b.tapAlone();
                            case 2 -> b.hostOnly();
                            case 3 -> b.traceReaderOnly();
                            default -> b.baselinePlainCopy()[r];
                        };
                        ns[k][r] = (double) (mx.getCurrentThreadCpuTime() - t0) / TapBench.FRAMES;
                        alloc[k] = mx.getCurrentThreadAllocatedBytes() - a0;
                    }
                }
                System.out.printf(Locale.ROOT, "%d-byte frames, %d per replay, median of %d rounds of thread CPU time"
                        + " (load average %s):%n", size, TapBench.FRAMES, rounds, loadAverage());
                double[] med = new double[kernels];
                for (int k = 0; k < kernels; k++) {
                    double[] v = ns[k].clone();
                    Arrays.sort(v);
                    med[k] = v[rounds / 2];
                    System.out.printf(Locale.ROOT, "  %-18s %7.1f ns/frame  %6.2f M frames/s  %6.2f Gbit/s"
                                    + "  (min %.1f ns = %.2f M/s = %.2f Gbit/s, max %.1f ns)  %d B allocated per replay"
                                    + " (%.2f B/frame)%n",
                            names[k], med[k], 1e3 / med[k], size * 8 / med[k], v[0], 1e3 / v[0], size * 8 / v[0],
                            v[rounds - 1], alloc[k], (double) alloc[k] / TapBench.FRAMES);
                }
                System.out.printf(Locale.ROOT, "  tap on trace/plain copy: %.3f; tap alone/plain copy: %.3f;"
                        + " tap on trace less the reader: %.1f ns/frame; tap alone less the host: %.1f ns/frame%n",
                        med[4] / med[0], med[4] / med[1], med[0] - med[3], med[1] - med[2]);
                // Per-frame allocation as a slope: the same replay cut at a record boundary halfway.
                byte[] whole = b.trace;
                b.trace = java.util.Arrays.copyOf(whole, halfway(whole));
                long a0 = mx.getCurrentThreadAllocatedBytes();
                sink += b.tapOnTrace();
                long half = mx.getCurrentThreadAllocatedBytes() - a0;
                b.trace = whole;
                System.out.printf(Locale.ROOT, "  tap allocation: %d B for the whole trace, %d B for its first half:"
                        + " %.3f B per frame beyond the fresh tap's setup%n", alloc[0], half,
                        (alloc[0] - half) / (TapBench.FRAMES / 2.0));
                System.out.println("  (sink " + (sink & 1) + ")");
            }
        }
    }

    /** The system's load averages (1, 5, 15 min), to read the figures against. */
    static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * The offset of the first call record at or past the middle of a trace (file header 32 bytes,
     * records 8 + L + 4, a call's type 1): cut there, no call loses records its tap reads, which
     * would send those reads to the memory image and count its pages as the tap's allocation.
     * The trace's length when no call follows the middle.
     */
    static int halfway(byte[] trace) {
        int pos = 32;
        while (pos < trace.length && (pos < trace.length / 2 || trace[pos] != 1)) {
            int len = (trace[pos + 4] & 0xff) | (trace[pos + 5] & 0xff) << 8 | (trace[pos + 6] & 0xff) << 16
                    | (trace[pos + 7] & 0xff) << 24;
            pos += 8 + len + 4;
        }
        return pos;
    }
}
