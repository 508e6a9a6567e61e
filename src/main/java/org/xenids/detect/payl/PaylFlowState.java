package org.xenids.detect.payl;

import org.xenids.detect.Subject;

/** A flow's PAYL state: the subjects and histograms of both directions (pooled, reset per flow). */
final class PaylFlowState {
    final ByteHistogram[] hist = new ByteHistogram[2];
    final Subject[] subject = new Subject[2];
    final double[] max = new double[2];
    final long[] bytes = new long[2];
    final boolean[] alerted = new boolean[2];
    /** The direction's stream histogram was trained or scored (it reached the depth). */
    final boolean[] done = new boolean[2];
    /**
     * By kind (GAP, DIFFERING, REFUSED, URGENT, NOT_COMPARED) and direction: already reported (a gap
     * or differing bytes inside the scored bytes, a packet its receiver drops, an urgent byte, a
     * copy that could not be compared).
     */
    final boolean[][] reported = new boolean[5][2];
    boolean monitored;

    /** Ready for a new flow: histograms of {@code depth} bytes, emptied; nothing scored or reported. */
    void reset(int depth) {
        for (int d = 0; d < 2; d++) {
            max[d] = Double.NaN;
            bytes[d] = 0;
            alerted[d] = false;
            done[d] = false;
            for (boolean[] r : reported) {
                r[d] = false;
            }
            if (hist[d] == null) {
                hist[d] = new ByteHistogram(depth);
            } else {
                hist[d].reset();
            }
        }
    }
}
