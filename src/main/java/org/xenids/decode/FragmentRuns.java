package org.xenids.decode;

import java.util.Arrays;

/**
 * The byte ranges one datagram holds, kept as Linux keeps its fragment runs
 * (net/ipv4/inet_fragment.c, {@code inet_frag_queue_insert}): a fragment that starts where the
 * last run ends extends it, any other fragment that touches no run starts a run of its own, a
 * fragment wholly inside one run is a duplicate (ignored), and any other overlap condemns the
 * whole datagram (RFC 5722, which Linux applies to IPv4 as well). Two runs that merely meet stay
 * two runs, so a fragment across their boundary is an overlap, as it is for Linux. Sorted arrays
 * searched by bisection: a fragment costs a search and at most one shift of the runs after it.
 */
final class FragmentRuns {
    /** What {@link #place} found. */
    static final int NEW = 0, DUPLICATE = 1, OVERLAP = 2;

    private int[] start = new int[8];
    private int[] end = new int[8];
    private int n;

    /** Bytes the run table takes (counted against the datagram's owner). */
    int bytes() {
        return 8 * start.length;
    }

    /** Forgets all runs, for the next datagram; a table grown large is given up. */
    void clear() {
        n = 0;
        if (start.length > 64) {
            start = new int[8];
            end = new int[8];
        }
    }

    /** Takes [s, e) (s &lt; e) as Linux would: {@link #NEW} when it is now held, else why not. */
    int place(int s, int e) {
        if (n == 0 || end[n - 1] < e) {
            int last = n == 0 ? -1 : end[n - 1];
            if (s < last) {
                return OVERLAP;
            }
            if (s == last) {
                end[n - 1] = e; // appended to the last run
            } else {
                insertAt(n, s, e);
            }
            return NEW;
        }
        int lo = 0, hi = n; // the first run that ends after s
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (end[mid] > s) hi = mid; else lo = mid + 1;
        }
        if (start[lo] < e) {
            return s >= start[lo] && e <= end[lo] ? DUPLICATE : OVERLAP;
        }
        insertAt(lo, s, e);
        return NEW;
    }

    private void insertAt(int i, int s, int e) {
        if (n == start.length) {
            start = Arrays.copyOf(start, n * 2);
            end = Arrays.copyOf(end, n * 2);
        }
        System.arraycopy(start, i, start, i + 1, n - i);
        System.arraycopy(end, i, end, i + 1, n - i);
        start[i] = s;
        end[i] = e;
        n++;
    }
}
