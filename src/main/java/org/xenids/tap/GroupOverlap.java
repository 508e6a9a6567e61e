package org.xenids.tap;

import java.util.Arrays;

/**
 * Whether any two READ or READ FAILED records of one call's group may name a common byte, worked
 * out by the trace reader as it meets them, on the page indexes it already holds for the page
 * limit (so no second pass over the records and no hash look-up of its own). When none may, no
 * record changes what the memory image holds for another, and {@link ReplayMemory} answers each
 * read from its own record.
 *
 * <p>Each page keeps the bytes the group's records gave as up to {@link #RUNS} runs, a record
 * extending a run it touches: a ring's slots are read in ascending order and, once the ring wraps,
 * from its first slot again. A record meeting a run, or needing a run more than its page may keep,
 * makes the group overlapping, as does a failed read of a page the reader has not met (no index to
 * track it by): the image answers then, which is always right, only slower.
 *
 * <p>Most pages of a group are given as one run (a packet's page once, a ring's slots in order):
 * one long per page index holds it with the group's stamp, so groups need no clearing and the
 * common case touches 8 bytes. Pages given in separate runs (a ring's indexes and its slots, a
 * backend page holding two packets) move to a table of the group's own, grown as needed: each such
 * page took two of the group's records.
 */
final class GroupOverlap {
    /** Runs of bytes a page keeps: a ring page read to its end and from its first slot again, after its header, needs three. */
    static final int RUNS = 4;
    /** A page's word: stamp << 32 | multi-run flag << 31 | run start << 16 | run end (0..4096 each); multi: an index into the table. */
    private static final long MULTI = 1L << 31;

    private long[] page = new long[256];
    private int stamp;
    private boolean overlapping;
    /** The group's pages given in separate runs: runs in use, the run ending highest, then RUNS × (lo, hi). */
    private int[] multiCount = new int[16], multiTop = new int[16];
    private int[] runLo = new int[16 * RUNS], runHi = new int[16 * RUNS];
    private int multi;

    /** A new group begins (a call record was met). */
    void start() {
        if (++stamp == 0) { // wrapped after 2^32 groups: old stamps could match again
            Arrays.fill(page, 0);
            stamp = 1;
        }
        overlapping = false;
        multi = 0;
    }

    /** Whether two records of the group since {@link #start} may name a common byte. */
    boolean overlapping() {
        return overlapping;
    }

    /** The group's record gave (or failed to give) bytes {@code [lo, hi)} of page {@code p} (an index from {@link TraceStore}), within the page. */
    void add(int p, int lo, int hi) {
        if (overlapping) {
            return;
        }
        if (p >= page.length) {
            page = Arrays.copyOf(page, Math.max(p + 1, 2 * page.length));
        }
        long v = page[p], mine = (long) stamp << 32;
        if ((v & 0xFFFFFFFF00000000L) != mine) {
            page[p] = mine | (long) lo << 16 | hi;
            return;
        }
        if ((v & MULTI) == 0) {
            int runLo0 = (int) (v >>> 16) & 0x7FFF, runHi0 = (int) v & 0xFFFF;
            if (lo == runHi0) { // on from the run's end, as a ring's next slot is
                page[p] = mine | (long) runLo0 << 16 | hi;
                return;
            }
            if (hi == runLo0) {
                page[p] = mine | (long) lo << 16 | runHi0;
                return;
            }
            if (lo < runHi0 && hi > runLo0) {
                overlapping = true;
                return;
            }
            if (multi == multiCount.length) {
                int n = 2 * multi;
                multiCount = Arrays.copyOf(multiCount, n);
                multiTop = Arrays.copyOf(multiTop, n);
                runLo = Arrays.copyOf(runLo, n * RUNS);
                runHi = Arrays.copyOf(runHi, n * RUNS);
            }
            int m = multi++;
            multiCount[m] = 2;
            runLo[m * RUNS] = runLo0;
            runHi[m * RUNS] = runHi0;
            runLo[m * RUNS + 1] = lo;
            runHi[m * RUNS + 1] = hi;
            multiTop[m] = hi > runHi0 ? m * RUNS + 1 : m * RUNS;
            page[p] = mine | MULTI | m;
            return;
        }
        addRun((int) v & 0xFFFF, lo, hi);
    }

    /** As {@link #add} for a page in the group's table: {@code m} its entry. */
    private void addRun(int m, int lo, int hi) {
        int top = multiTop[m];
        if (lo == runHi[top]) { // on from the highest run's end: no other run reaches past it
            runHi[top] = hi;
            return;
        }
        int at = m * RUNS, k = multiCount[m], touching = -1;
        for (int i = at; i < at + k; i++) {
            if (lo < runHi[i] && hi > runLo[i]) {
                overlapping = true;
                return;
            }
            if (lo == runHi[i] || hi == runLo[i]) {
                touching = i;
            }
        }
        if (touching < 0) {
            if (k == RUNS) {
                overlapping = true;
                return;
            }
            touching = at + k;
            multiCount[m] = k + 1;
            runLo[touching] = lo;
            runHi[touching] = hi;
        } else {
            runLo[touching] = Math.min(runLo[touching], lo);
            runHi[touching] = Math.max(runHi[touching], hi);
        }
        if (runHi[touching] > runHi[top]) {
            multiTop[m] = touching;
        }
    }

    /** A record whose page cannot be tracked (a failed read of a page no record has named): assume the worst. */
    void untracked() {
        overlapping = true;
    }
}
