package org.xenids.tap;

import static org.xenids.tap.Tap.*;
import static org.xenids.xen.abi.Xen.DOMID_FIRST_RESERVED;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tap's counters per domain ({@code Tap.C_*} indices), indexed by domid and grown to the
 * largest domid seen, so a tap's setup stays small. An impossible domid (a hostile trace's) is
 * counted under domain 0 rather than dropped.
 */
final class DomainCounters {
    private long[][] byDomid = new long[16][];

    long[] of(int domid) {
        if (domid < 0 || domid >= DOMID_FIRST_RESERVED) {
            domid = 0;
        }
        if (domid >= byDomid.length) {
            byDomid = Arrays.copyOf(byDomid, Math.min(DOMID_FIRST_RESERVED, Integer.highestOneBit(domid) << 1));
        }
        long[] c = byDomid[domid];
        if (c == null) {
            c = new long[C_N];
            byDomid[domid] = c;
        }
        return c;
    }

    /** Counters of every domain seen, by domid. */
    List<Tap.Counters> report() {
        List<Tap.Counters> out = new ArrayList<>();
        for (int d = 0; d < byDomid.length; d++) {
            long[] c = byDomid[d];
            if (c != null) {
                out.add(new Tap.Counters(d, c[C_FRAMES], c[C_BYTES], c[C_COPIES], c[C_MAPS], c[C_SENDS],
                        c[C_UNCLASSIFIED], c[C_ANOMALIES], c[C_DROPS], c[C_REFUSED], c[C_LOST]));
            }
        }
        return out;
    }
}
