package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class LengthBinGroupingTest {

    @Property
    void everyLengthFallsInTheBinWhoseRangeHoldsIt(@ForAll @IntRange(min = 1) int len) {
        int b = LengthBins.of(len);
        assertTrue(b >= 0 && b < LengthBins.COUNT);
        assertTrue(LengthBins.lo(b) <= len && len <= LengthBins.hi(b), len + " in bin " + b);
        // No bin wider than a quarter of its smallest length (above 16): byte frequencies stay comparable.
        if (b >= 16 && b + 1 < LengthBins.COUNT) {
            assertTrue(LengthBins.hi(b) - LengthBins.lo(b) + 1 <= Math.max(1, LengthBins.lo(b) / 4 + 1));
        }
    }

    @Test
    void binsAreContiguous() {
        assertEquals(1, LengthBins.lo(0));
        for (int b = 0; b + 1 < LengthBins.COUNT; b++) {
            assertEquals(LengthBins.hi(b) + 1, LengthBins.lo(b + 1), "after bin " + b);
        }
        assertEquals(Integer.MAX_VALUE, LengthBins.hi(LengthBins.COUNT - 1));
    }

    static Moments samples(int n, int hot) {
        Moments m = new Moments();
        int[] c = new int[256];
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(c, 0);
            c[hot] = 90 + i % 7;
            c['x'] = 10;
            m.add(c, c[hot] + 10);
        }
        return m;
    }

    @Test
    void sparseBinsFoldIntoNeighboursAndTheTailIntoThePreviousRange() {
        Moments[] bins = new Moments[LengthBins.COUNT];
        bins[LengthBins.of(100)] = samples(3, 'a');
        bins[LengthBins.of(200)] = samples(40, 'b');
        bins[LengthBins.of(1000)] = samples(50, 'c');
        bins[LengthBins.of(3000)] = samples(2, 'c');
        List<PaylTrainer.Group> g = BinGrouping.groups(bins, 32, 0);
        assertEquals(2, g.size());
        assertEquals(43, g.get(0).stats.n);
        assertEquals(52, g.get(1).stats.n);
        assertEquals(LengthBins.lo(LengthBins.of(100)), g.get(0).lenLo);
        assertEquals(LengthBins.lo(LengthBins.of(1000)) - 1, g.get(0).lenHi, "gap belongs to a range");
        assertEquals(LengthBins.hi(LengthBins.of(3000)), g.get(1).lenHi);
    }

    @Test
    void neighboursWithCloseMeansMergeAndDistantOnesStayApart() {
        Moments[] bins = new Moments[LengthBins.COUNT];
        bins[LengthBins.of(100)] = samples(40, 'a');
        bins[LengthBins.of(200)] = samples(40, 'a');
        bins[LengthBins.of(400)] = samples(40, 'b');
        List<PaylTrainer.Group> g = BinGrouping.groups(bins, 32, 0.5);
        assertEquals(2, g.size(), "a-a merge (distance 0), a-b do not (distance ≈ 1.8)");
        assertEquals(80, g.get(0).stats.n);
        assertEquals(1, BinGrouping.groups(bins, 32, 2.0).size());
        assertEquals(3, BinGrouping.groups(bins, 32, 0.0).size());
    }
}
