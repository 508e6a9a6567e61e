package org.xenids.detect.payl;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xenids.detect.Subject;

/**
 * Sets each model's threshold so that a share {@code p} (the target false-positive rate) of
 * held-out benign payloads score above it. A model with at least 10/p held-out samples of its own
 * gets its own empirical quantile (then at least ten samples lie above it, so the estimate is not
 * just the maximum). The others are calibrated together: their distances are divided by each
 * model's scale Σσ/(σ+α) (the distance a typical sample of that model has), the quantile is taken
 * over the pooled, scaled distances and multiplied back by each model's scale. Primary models and
 * fallbacks are pooled separately. Every held-out payload is scored against the model that would
 * score it and against its port and image fallbacks.
 */
final class Calibration {
    private Calibration() {}

    static void calibrate(PaylModels set, Map<Subject, HeldOut> heldOut, double p) {
        Map<PaylModel, DoubleList> scores = new HashMap<>();
        int[] counts = new int[256];
        float[] terms = new float[256];
        heldOut.forEach((s, h) -> h.forEach(counts, len -> {
            PaylModel m = set.lookup(s, len);
            if (m == null) {
                return; // an image never trained: it has no model to calibrate
            }
            record(scores, m, m.distance(counts, len, terms));
            PaylModel port = set.portFallback(s);
            if (port != null && port != m) {
                record(scores, port, port.distance(counts, len, terms));
            }
            PaylModel image = set.imageFallback(s);
            if (image != null && image != m) {
                record(scores, image, image.distance(counts, len, terms));
            }
        }));
        long ownMin = (long) Math.ceil(10 / p);
        DoubleList primaryPool = new DoubleList();
        DoubleList fallbackPool = new DoubleList();
        for (PaylModel m : set.models) {
            DoubleList d = scores.get(m);
            if (d != null && d.size >= ownMin) {
                m.threshold = quantile(d.sorted(), p);
                m.calSamples = d.size;
                m.ownQuantile = true;
            } else if (d != null) {
                DoubleList pool = m.role == PaylModel.Role.PRIMARY ? primaryPool : fallbackPool;
                for (int i = 0; i < d.size; i++) {
                    pool.add(d.values[i] / m.scale);
                }
            }
        }
        double[] primarySorted = primaryPool.sorted();
        double[] fallbackSorted = fallbackPool.sorted();
        for (PaylModel m : set.models) {
            if (m.ownQuantile) {
                continue;
            }
            boolean primary = m.role == PaylModel.Role.PRIMARY;
            double[] pool = primary ? primarySorted : fallbackSorted;
            if (pool.length == 0) {
                // One pool empty: the other still says how far benign payloads stray from their model.
                pool = primary ? fallbackSorted : primarySorted;
            }
            if (pool.length == 0) {
                throw new IllegalStateException("cannot calibrate thresholds: no held-out payload"
                        + " (holdout fraction " + set.settings.holdoutFraction() + ")");
            }
            m.threshold = quantile(pool, p) * m.scale;
            m.calSamples = pool.length;
        }
        for (PaylModel m : set.models) {
            // Held-out payloads all identical to the mean (σ = 0, quantile 0) would give a threshold
            // of 0 and scores in the hundreds of millions for any change; the model's resolution
            // (one byte replaced) is the least distance that can mean anything.
            double floor = m.resolution(set.settings.depth());
            if (!(m.threshold >= floor) || Double.isInfinite(m.threshold)) {
                m.threshold = floor;
            }
        }
    }

    /** The value with at most floor(p·n) of the n sorted values above it. */
    static double quantile(double[] sortedAscending, double p) {
        int n = sortedAscending.length;
        int above = (int) Math.floor(p * n);
        return sortedAscending[n - 1 - above];
    }

    private static void record(Map<PaylModel, DoubleList> scores, PaylModel m, double d) {
        scores.computeIfAbsent(m, k -> new DoubleList()).add(d);
    }

    static final class DoubleList {
        double[] values = new double[16];
        int size;

        void add(double v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        double[] sorted() {
            double[] s = Arrays.copyOf(values, size);
            Arrays.sort(s);
            return s;
        }
    }

}
