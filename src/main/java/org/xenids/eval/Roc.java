package org.xenids.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A receiver operating characteristic from scored, labelled items. Items are ranked by score,
 * highest first; items with equal scores form one step (a threshold cannot split them), so ties
 * give a diagonal segment, and the area under the curve by the trapezoid rule equals the
 * Mann–Whitney probability that an attack outranks a benign item, ties counting one half.
 * Unscored items carry {@code -Infinity}: they tie at the bottom. NaN is refused.
 */
public final class Roc {
    /** One operating point: flag every item with score ≥ {@code threshold}. */
    public record Point(double threshold, long falsePositives, long truePositives, double fpr, double tpr) {}

    private final long positives;
    private final long negatives;
    private final List<Point> points;

    private Roc(long positives, long negatives, List<Point> points) {
        this.positives = positives;
        this.negatives = negatives;
        this.points = points;
    }

    /** {@code attack[i]} says whether item {@code i} (score {@code scores[i]}) is an attack. */
    public static Roc of(double[] scores, boolean[] attack) {
        if (scores.length != attack.length) {
            throw new IllegalArgumentException(scores.length + " scores but " + attack.length + " labels");
        }
        int n = scores.length;
        Integer[] order = new Integer[n];
        long p = 0;
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(scores[i])) {
                throw new IllegalArgumentException("score " + i + " is NaN (use -Infinity for unscored items)");
            }
            order[i] = i;
            p += attack[i] ? 1 : 0;
        }
        long neg = n - p;
        Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
        List<Point> pts = new ArrayList<>();
        pts.add(new Point(Double.POSITIVE_INFINITY, 0, 0, 0, 0));
        long tp = 0;
        long fp = 0;
        int i = 0;
        while (i < n) {
            double s = scores[order[i]];
            int j = i;
            while (j < n && Double.compare(scores[order[j]], s) == 0) {
                if (attack[order[j]]) {
                    tp++;
                } else {
                    fp++;
                }
                j++;
            }
            pts.add(new Point(s, fp, tp, neg == 0 ? 0 : (double) fp / neg, p == 0 ? 0 : (double) tp / p));
            i = j;
        }
        return new Roc(p, neg, List.copyOf(pts));
    }

    public long positives() {
        return positives;
    }

    public long negatives() {
        return negatives;
    }

    /** The curve from (0,0) to (1,1), one point per distinct score, thresholds descending. */
    public List<Point> points() {
        return points;
    }

    /** Area under the curve by the trapezoid rule; NaN without positives or negatives. */
    public double auc() {
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        double a = 0;
        for (int i = 1; i < points.size(); i++) {
            Point l = points.get(i - 1);
            Point r = points.get(i);
            a += (r.fpr() - l.fpr()) * (r.tpr() + l.tpr()) / 2;
        }
        return a;
    }

    /**
     * The operating point with the highest detection rate whose false-positive rate does not
     * exceed {@code fpr}: the lowest threshold that stays within budget. No interpolation between
     * points: a tie group that would cross the budget is not split.
     */
    public Point at(double fpr) {
        Point best = points.get(0);
        for (Point pt : points) {
            if (pt.fpr() <= fpr + 1e-15) {
                best = pt;
            } else {
                break;
            }
        }
        return best;
    }

    /** Detection rate at a false-positive rate budget (see {@link #at}). */
    public double detectionRate(double fpr) {
        return at(fpr).tpr();
    }
}
