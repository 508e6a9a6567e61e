package org.xenids.detect.payl;

/**
 * One PAYL model: the byte-frequency statistics of the payloads of one key, the weights used to
 * score against it and its calibrated threshold. Scoring reads float copies of the mean and of
 * 1/(σ+α), laid out for a tight loop; the double statistics stay exact for the file and merges.
 */
final class PaylModel {
    /** What a model stands for; a fallback's name goes into the alert. */
    enum Role {
        /** A length range of one service port. */
        PRIMARY("none"),
        /** All lengths of one port: a length the port never showed in training. */
        PORT_ALL_LENGTHS("length"),
        /** All ports of an image and direction: a port never seen in training. */
        IMAGE_ALL_PORTS("port");

        final String fallback;

        Role(String fallback) {
            this.fallback = fallback;
        }
    }

    final ModelKey key;
    final Role role;
    final Moments stats;
    final float[] mean = new float[256];
    final float[] weight = new float[256];
    /** Σ σ/(σ+α): the distance scale a typical sample of this model has (used to pool calibration). */
    final double scale;
    double threshold = Double.NaN;
    /** Held-out samples this model's threshold was set from (its own, or the pool's when pooled). */
    int calSamples;
    boolean ownQuantile;

    PaylModel(ModelKey key, Role role, Moments stats, double alpha) {
        this.key = key;
        this.role = role;
        this.stats = stats;
        double sc = 0;
        for (int i = 0; i < 256; i++) {
            double sd = stats.sd(i);
            mean[i] = (float) stats.mean[i];
            weight[i] = (float) (1.0 / (sd + alpha));
            sc += sd / (sd + alpha);
        }
        // A model of identical samples has σ = 0 everywhere; any positive floor keeps the scale usable.
        this.scale = Math.max(sc, 1e-6);
    }

    /**
     * The smallest distance other than 0 a payload this model scores can have: one byte of the
     * longest such payload replaced by another moves two frequencies by 1/len each. A threshold
     * below this would call a single changed byte anomalous.
     */
    double resolution(int depth) {
        float minWeight = Float.MAX_VALUE;
        for (float w : weight) {
            minWeight = Math.min(minWeight, w);
        }
        long longest = Math.max(1, Math.min(key.lenHi(), depth));
        return 2.0 * minWeight / longest;
    }

    /**
     * d = Σ |c/len − x̄| / (σ + α) for byte counts {@code c} of a payload of {@code len} bytes.
     * Summed as a tree of elementwise halvings (256 → 128 → … → 8 → 1), each a loop the JIT
     * vectorises: it cannot vectorise a running float sum, whose order it must keep. The first
     * halving is done while the terms are computed (int→float, multiply, abs).
     */
    double distance(int[] c, int len, float[] tmp) {
        float il = 1f / len;
        float[] m = mean;
        float[] w = weight;
        float[] t = tmp;
        for (int i = 0; i < 128; i++) {
            t[i] = Math.abs(c[i] * il - m[i]) * w[i] + Math.abs(c[i + 128] * il - m[i + 128]) * w[i + 128];
        }
        for (int i = 0; i < 64; i++) {
            t[i] += t[i + 64];
        }
        for (int i = 0; i < 32; i++) {
            t[i] += t[i + 32];
        }
        for (int i = 0; i < 16; i++) {
            t[i] += t[i + 16];
        }
        for (int i = 0; i < 8; i++) {
            t[i] += t[i + 8];
        }
        return (double) ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
    }

    /** The distance with a scratch array of its own (calibration, explanations). */
    double distance(int[] c, int len) {
        return distance(c, len, new float[256]);
    }

    /** Each byte value's term of the distance, in double (for explanations, not the hot path). */
    double[] contributions(int[] c, int len, double alpha) {
        double[] out = new double[256];
        for (int i = 0; i < 256; i++) {
            out[i] = Math.abs((double) c[i] / len - stats.mean[i]) / (stats.sd(i) + alpha);
        }
        return out;
    }

    /** Bytes this model takes in a model file (key, role, counts, 256 means and 256 M2 as float64, threshold). */
    int fileBytes() {
        return ModelFile.modelRecordBytes(key);
    }
}
