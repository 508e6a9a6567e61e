package org.xenids.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class RocHandCheckedTest {

    static Roc roc(double[] attacks, double[] benign) {
        double[] s = new double[attacks.length + benign.length];
        boolean[] a = new boolean[s.length];
        for (int i = 0; i < attacks.length; i++) {
            s[i] = attacks[i];
            a[i] = true;
        }
        System.arraycopy(benign, 0, s, attacks.length, benign.length);
        return Roc.of(s, a);
    }

    @Test
    void perfectSeparationHasAreaOneAndDetectsEverythingAtZeroFalsePositives() {
        Roc r = roc(new double[] {3, 4}, new double[] {1, 2});
        assertEquals(1.0, r.auc());
        assertEquals(1.0, r.detectionRate(0));
        assertEquals(1.0, r.detectionRate(0.0001));
        assertEquals(3.0, r.at(0).threshold());
    }

    @Test
    void reversedSeparationHasAreaZero() {
        assertEquals(0.0, roc(new double[] {1, 2}, new double[] {3, 4}).auc());
    }

    @Test
    void allEqualScoresGiveTheDiagonalAndNoDetectionBelowFullFalsePositives() {
        Roc r = roc(new double[] {7, 7, 7}, new double[] {7, 7});
        assertEquals(0.5, r.auc());
        assertEquals(2, r.points().size(), "(0,0) and (1,1) only: a tie group cannot be split");
        assertEquals(0.0, r.detectionRate(0.5));
        assertEquals(1.0, r.detectionRate(1.0));
    }

    @Test
    void tiesAcrossClassesCountOneHalf() {
        // Pairs (attack, benign): (.9,.5)=1 (.9,.1)=1 (.5,.5)=½ (.5,.1)=1 (.5,.5)=½ (.5,.1)=1 → 5/6.
        Roc r = roc(new double[] {0.9, 0.5, 0.5}, new double[] {0.5, 0.1});
        assertEquals(5.0 / 6.0, r.auc(), 1e-12);
        List<Roc.Point> p = r.points();
        assertEquals(4, p.size());
        assertEquals(0.0, p.get(1).fpr());
        assertEquals(1.0 / 3, p.get(1).tpr(), 1e-12);
        assertEquals(0.5, p.get(2).fpr());
        assertEquals(1.0, p.get(2).tpr());
    }

    @Test
    void detectionRateTakesTheLowestThresholdWithinTheBudget() {
        double[] benign = new double[1000];
        for (int i = 0; i < 1000; i++) {
            benign[i] = i;
        }
        Roc r = roc(new double[] {999.5, 998.5, 5}, benign);
        // 0.1% of 1000 benign = one false positive allowed: flag ≥ 998.5 (benign 999 is the one).
        assertEquals(2.0 / 3, r.detectionRate(0.001), 1e-12);
        assertEquals(998.5, r.at(0.001).threshold());
        assertEquals(1, r.at(0.001).falsePositives());
        assertEquals(1.0 / 3, r.detectionRate(0.0001), 1e-12);
        // 1% = ten false positives: down to 990; 5 is far below.
        assertEquals(2.0 / 3, r.detectionRate(0.01), 1e-12);
    }

    @Test
    void unscoredFlowsTieAtTheBottom() {
        double ninf = Double.NEGATIVE_INFINITY;
        Roc r = roc(new double[] {5, ninf}, new double[] {1, ninf});
        // Pairs: (5,1)=1 (5,-inf)=1 (-inf,1)=0 (-inf,-inf)=½ → 2.5/4.
        assertEquals(0.625, r.auc(), 1e-12);
    }

    @Test
    void nanScoresAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Roc.of(new double[] {Double.NaN}, new boolean[] {true}));
    }

    @Property(tries = 200)
    void trapezoidAreaEqualsMannWhitneyWithHalfTies(@ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 6) Integer> a,
                                                    @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 6) Integer> b) {
        double[] as = a.stream().mapToDouble(Integer::doubleValue).toArray();
        double[] bs = b.stream().mapToDouble(Integer::doubleValue).toArray();
        double u = 0;
        for (double x : as) {
            for (double y : bs) {
                u += x > y ? 1 : x == y ? 0.5 : 0;
            }
        }
        Roc r = roc(as, bs);
        assertEquals(u / (as.length * (double) bs.length), r.auc(), 1e-12);
        // The curve is monotone and ends at (1,1).
        for (int i = 1; i < r.points().size(); i++) {
            assertTrue(r.points().get(i).fpr() >= r.points().get(i - 1).fpr());
            assertTrue(r.points().get(i).tpr() >= r.points().get(i - 1).tpr());
        }
        assertEquals(1.0, r.points().getLast().fpr());
        assertEquals(1.0, r.points().getLast().tpr());
    }
}
