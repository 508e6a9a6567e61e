package org.xenids.detect.payl;

/**
 * Mean and sum of squared deviations of the 256 relative byte frequencies, by Welford's update, so
 * that two sets of samples merge exactly (Chan, Golub and LeVeque's parallel formula): statistics
 * from many guests of one image, or from several days, combine without the samples.
 */
final class Moments {
    long n;
    final double[] mean = new double[256];
    final double[] m2 = new double[256];

    /** Adds one payload given its byte counts and length (> 0). */
    void add(int[] counts, int len) {
        n++;
        double invN = 1.0 / n;
        double invLen = 1.0 / len;
        double[] mu = mean;
        double[] s = m2;
        for (int i = 0; i < 256; i++) {
            double x = counts[i] * invLen;
            double d = x - mu[i];
            double m = mu[i] + d * invN;
            mu[i] = m;
            s[i] += d * (x - m);
        }
    }

    void merge(Moments o) {
        if (o.n == 0) {
            return;
        }
        if (n == 0) {
            n = o.n;
            System.arraycopy(o.mean, 0, mean, 0, 256);
            System.arraycopy(o.m2, 0, m2, 0, 256);
            return;
        }
        long nn = n + o.n;
        double fb = (double) o.n / nn;
        double cross = (double) n * (double) o.n / nn;
        for (int i = 0; i < 256; i++) {
            double d = o.mean[i] - mean[i];
            mean[i] += d * fb;
            m2[i] += o.m2[i] + d * d * cross;
        }
        n = nn;
    }

    Moments copy() {
        Moments c = new Moments();
        c.merge(this);
        return c;
    }

    /** Sample standard deviation of byte value {@code i} (0 with fewer than two samples). */
    double sd(int i) {
        return n > 1 ? Math.sqrt(Math.max(0, m2[i]) / (n - 1)) : 0;
    }

    /** Manhattan distance between the two means (0..2 for frequency vectors). */
    double manhattan(Moments o) {
        double s = 0;
        for (int i = 0; i < 256; i++) {
            s += Math.abs(mean[i] - o.mean[i]);
        }
        return s;
    }
}
