package org.xenids.detect.payl;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a port's fine length bins into model ranges: bins with too few samples fold into the next
 * ones (a short tail into the previous range), then neighbouring ranges whose mean frequency
 * vectors are closer than the merge distance (Manhattan) merge. The ranges cover every length
 * from the shortest to the longest bin seen, gaps included; outside that the port's all-lengths
 * fallback applies. A port with fewer than {@code minSamples} payloads in all gets no ranges.
 */
final class BinGrouping {
    private BinGrouping() {}

    static List<PaylTrainer.Group> groups(Moments[] bins, int minSamples, double mergeDistance) {
        List<PaylTrainer.Group> folded = new ArrayList<>();
        List<Integer> firstBins = new ArrayList<>();
        PaylTrainer.Group cur = null;
        int last = -1;
        for (int b = 0; b < bins.length; b++) {
            if (bins[b] == null || bins[b].n == 0) {
                continue;
            }
            if (cur == null) {
                cur = new PaylTrainer.Group();
                firstBins.add(b);
            }
            cur.stats.merge(bins[b]);
            last = b;
            if (cur.stats.n >= minSamples) {
                folded.add(cur);
                cur = null;
            }
        }
        if (cur != null) {
            if (folded.isEmpty()) {
                // The whole port saw fewer than minSamples payloads: a model of so few has no spread
                // (σ = 0 on most byte values) and would call everything anomalous. No per-length
                // model; the port's traffic falls back to a broader one.
                return List.of();
            } else {
                folded.getLast().stats.merge(cur.stats);
                firstBins.removeLast();
            }
        }
        // Neighbour merge: compare the growing range with the next one.
        List<PaylTrainer.Group> out = new ArrayList<>();
        List<Integer> outFirst = new ArrayList<>();
        for (int i = 0; i < folded.size(); i++) {
            PaylTrainer.Group g = folded.get(i);
            if (!out.isEmpty() && out.getLast().stats.manhattan(g.stats) < mergeDistance) {
                out.getLast().stats.merge(g.stats);
            } else {
                out.add(g);
                outFirst.add(firstBins.get(i));
            }
        }
        for (int i = 0; i < out.size(); i++) {
            PaylTrainer.Group g = out.get(i);
            g.lenLo = LengthBins.lo(outFirst.get(i));
            g.lenHi = i + 1 < out.size() ? LengthBins.lo(outFirst.get(i + 1)) - 1 : LengthBins.hi(last);
        }
        return out;
    }
}
