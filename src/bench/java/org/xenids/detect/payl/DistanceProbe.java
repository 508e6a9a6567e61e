package org.xenids.detect.payl;

import java.lang.management.ManagementFactory;
import java.util.Random;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/** CPU time of the 256-term distance alone (one model, random text-like counts). */
public final class DistanceProbe {
    private DistanceProbe() {}

    public static void main(String[] args) {
        Random r = new Random(1);
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        Subject s = new Subject("x", Direction.TO_SERVER, 6, 80);
        byte[] p = new byte[1200];
        for (int i = 0; i < 2000; i++) {
            for (int j = 0; j < p.length; j++) {
                p[j] = (byte) (32 + r.nextInt(90));
            }
            t.add(s, p, 0, p.length);
        }
        PaylModel m = t.build().models.get(0);
        int[] c = new int[256];
        for (byte b : p) {
            c[b & 0xFF]++;
        }
        float[] tmp = new float[256];
        var mx = ManagementFactory.getThreadMXBean();
        double sink = 0;
        for (int round = 0; round < 8; round++) {
            long t0 = mx.getCurrentThreadCpuTime();
            int n = 2_000_000;
            for (int i = 0; i < n; i++) {
                c[i & 255]++;
                sink += m.distance(c, 1200 + (i & 7), tmp);
            }
            long dt = mx.getCurrentThreadCpuTime() - t0;
            System.out.printf("distance: %.1f ns per call%n", dt / (double) n);
        }
        System.out.println(sink > 0);
    }
}
