package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.xenids.detect.Subject;

/**
 * Thresholds calibrated on the trainer's held-out slice give the target false-positive rate on
 * benign payloads the trainer never saw. Per-segment payloads (as the reassembly delivers them)
 * of the whole dev training capture
 * (every service, both directions) are split at random: 60% go to the trainer (which holds half of
 * them out for calibration), 40% are the fresh benign test set.
 *
 * <p>Tolerance: the threshold is an order statistic of the n calibration scores, so the rate it
 * really has is Beta-distributed around p with variance ≈ p(1−p)/n; the test rate adds binomial
 * variance p(1−p)/m. The observed rate must lie within 4 standard deviations of the combined
 * spread, sqrt(p(1−p)(1/n + 1/m)): a miscalibration (e.g. thresholds at the wrong quantile, or
 * pooling that ignores each model's scale) moves it further than that.
 */
class CalibrationHitsTargetRateTest {

    record Sample(Subject subject, byte[] payload) {}

    static List<Sample> perPacketSamples() {
        List<Sample> out = new ArrayList<>();
        for (DevTraffic.Piece p : DevTraffic.deliveries()) {
            out.add(new Sample(p.subject(), p.payload()));
        }
        return out;
    }

    double[] run(double target, long seed) {
        List<Sample> all = new ArrayList<>(perPacketSamples());
        Collections.shuffle(all, new Random(seed));
        int cut = all.size() * 6 / 10;
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults().withTargetFpr(target).withHoldout(0.5).withSeed(seed));
        for (Sample s : all.subList(0, cut)) {
            t.add(s.subject(), s.payload(), 0, s.payload().length);
        }
        PaylModels m = t.build();
        long above = 0;
        long scored = 0;
        for (Sample s : all.subList(cut, all.size())) {
            double score = m.score(s.subject(), s.payload(), 0, s.payload().length);
            if (!Double.isNaN(score)) {
                scored++;
                above += score > 1 ? 1 : 0;
            }
        }
        return new double[] {above / (double) scored, t.heldOutSamples(), scored};
    }

    void assertCalibrated(double p, long seed) {
        double[] r = run(p, seed);
        double n = r[1];
        double m = r[2];
        double sd = Math.sqrt(p * (1 - p) * (1 / n + 1 / m));
        System.out.printf("calibration at target %.4f: observed %.5f on %d fresh payloads (%d held out), ±4σ = %.5f%n",
                p, r[0], (long) m, (long) n, 4 * sd);
        assertTrue(Math.abs(r[0] - p) <= 4 * sd,
                "target " + p + ", observed " + r[0] + " on " + (long) m + " payloads, 4σ = " + 4 * sd);
    }

    @Test
    void onePercentTargetGivesOnePercentOnFreshBenignPayloads() {
        assertCalibrated(0.01, 11);
    }

    @Test
    void fivePercentTargetGivesFivePercentOnFreshBenignPayloads() {
        assertCalibrated(0.05, 12);
    }

    @Test
    void defaultTargetOfOnePerThousandIsNotExceededOnFreshBenignPayloads() {
        // At 0.1% the 4σ band reaches zero, so only the upper side is informative.
        assertCalibrated(0.001, 13);
    }
}
