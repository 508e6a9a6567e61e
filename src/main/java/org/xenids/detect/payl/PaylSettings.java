package org.xenids.detect.payl;

/**
 * How PAYL models are trained and calibrated. Defaults follow Wang and Stolfo (RAID 2004) where
 * the paper gives a value (smoothing α = 0.001) and are otherwise chosen a priori, not fitted to
 * any labelled data.
 *
 * @param alpha          smoothing factor in d = Σ|x−x̄|/(σ+α)
 * @param depth          bytes of a payload (stream direction) that are modelled and scored
 * @param minSamples     length bins with fewer training samples fold into their neighbours
 * @param mergeDistance  neighbouring bins whose means are closer than this (Manhattan, 0..2) merge
 * @param targetFpr      false-positive rate each threshold is calibrated to on held-out benign data
 * @param holdoutFraction share of training payloads kept aside for calibration
 * @param seed           seed of the held-out draw (reproducible training)
 * @param topBytes       byte values listed in an alert, by contribution to the distance
 */
public record PaylSettings(double alpha, int depth, int minSamples, double mergeDistance,
                           double targetFpr, double holdoutFraction, long seed, int topBytes) {
    /** Counts of held-out samples are packed in 24 bits. */
    public static final int MAX_DEPTH = (1 << 24) - 1;
    /** The smallest smoothing factor: weights up to 10⁶, distances far inside a float's range. */
    public static final double MIN_ALPHA = 1e-6;

    public PaylSettings {
        // The scorer keeps 1/(σ+α) as a float: below 1e-6 a byte value never seen in training (σ = 0)
        // would weigh up to infinity and turn a distance into an infinite or NaN score.
        if (!(alpha >= MIN_ALPHA && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [" + MIN_ALPHA + ", 1]: " + alpha);
        }
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("depth must be 1.." + MAX_DEPTH + ": " + depth);
        }
        if (minSamples < 1) {
            throw new IllegalArgumentException("minSamples must be ≥ 1: " + minSamples);
        }
        if (!(mergeDistance >= 0 && mergeDistance <= 2)) {
            throw new IllegalArgumentException("mergeDistance must be in [0, 2]: " + mergeDistance);
        }
        if (!(targetFpr > 0 && targetFpr < 0.5)) {
            throw new IllegalArgumentException("targetFpr must be in (0, 0.5): " + targetFpr);
        }
        if (!(holdoutFraction >= 0 && holdoutFraction < 1)) {
            throw new IllegalArgumentException("holdoutFraction must be in [0, 1): " + holdoutFraction);
        }
        if (topBytes < 0 || topBytes > 256) {
            throw new IllegalArgumentException("topBytes must be 0..256: " + topBytes);
        }
    }

    /** α 0.001, depth 4096, 32 samples per bin, merge below 0.5, 0.1% FPR, 20% held out, top 5 bytes. */
    public static PaylSettings defaults() {
        return new PaylSettings(0.001, 4096, 32, 0.5, 0.001, 0.2, 0x5EED_BA5EL, 5);
    }

    public PaylSettings withTargetFpr(double fpr) {
        return new PaylSettings(alpha, depth, minSamples, mergeDistance, fpr, holdoutFraction, seed, topBytes);
    }

    public PaylSettings withHoldout(double fraction) {
        return new PaylSettings(alpha, depth, minSamples, mergeDistance, targetFpr, fraction, seed, topBytes);
    }

    public PaylSettings withDepth(int d) {
        return new PaylSettings(alpha, d, minSamples, mergeDistance, targetFpr, holdoutFraction, seed, topBytes);
    }

    public PaylSettings withSeed(long s) {
        return new PaylSettings(alpha, depth, minSamples, mergeDistance, targetFpr, holdoutFraction, s, topBytes);
    }
}
