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
 * <p>Most pages of a group are given in one or two runs of bytes: a packet's page once, a ring's
 * indexes and then its slots in order, a backend page holding two packets' heads. Two longs per
 * page index hold up to two runs with the group's stamp, side by side in one cache line, so groups
 * need no clearing. A page needing a third run (a ring read to its end and on from its first slot)
 * moves to a table of the group's own, grown as needed: each such page took three of the group's
 * records.
 */
final class GroupOverlap {
    /** Runs of bytes a page keeps: a ring page read to its end and from its first slot again, after its header, needs three. */
    static final int RUNS = 4;
    /** A page's state word's low half: one run, two runs, or (this and up) an entry of the table. */
    private static final int ONE = 1, TWO = 2, TABLE = 3;

    /**
     * Per page index {@code p}: {@code state[2p]} = stamp << 32 | ONE, TWO or TABLE + entry;
     * {@code state[2p+1]} = the runs, lo1 | hi1 << 16 | lo2 << 32 | hi2 << 48 (0..4096 each).
     */
    private long[] state = new long[512];
    private int stamp;
    private boolean overlapping;
    /** The group's pages of more than two runs: runs in use, the run ending highest, then RUNS × (lo, hi). */
    private int[] tableCount = new int[16], tableTop = new int[16];
    private int[] runLo = new int[16 * RUNS], runHi = new int[16 * RUNS];
    private int entries;

    /** A new group begins (a call record was met). */
    void start() {
        if (++stamp == 0) { // wrapped after 2^32 groups: old stamps could match again
            Arrays.fill(state, 0);
            stamp = 1;
        }
        overlapping = false;
        entries = 0;
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
        int i = 2 * p;
        if (i >= state.length) {
            state = Arrays.copyOf(state, Math.max(i + 2, 2 * state.length));
        }
        long head = state[i], mine = (long) stamp << 32;
        if ((head & 0xFFFFFFFF00000000L) != mine) {
            state[i] = mine | ONE;
            state[i + 1] = lo | (long) hi << 16;
            return;
        }
        int kind = (int) head;
        long r = state[i + 1];
        int lo1 = (int) r & 0xFFFF, hi1 = (int) (r >>> 16) & 0xFFFF;
        if (kind == ONE) {
            if (lo == hi1 || hi == lo1) { // on from the run's end (a ring's next slot), or just before it
                state[i + 1] = Math.min(lo, lo1) | (long) Math.max(hi, hi1) << 16;
            } else if (lo < hi1 && hi > lo1) {
                overlapping = true;
            } else {
                state[i] = mine | TWO;
                state[i + 1] = r & 0xFFFFFFFFL | (long) lo << 32 | (long) hi << 48;
            }
            return;
        }
        if (kind == TWO) {
            int lo2 = (int) (r >>> 32) & 0xFFFF, hi2 = (int) (r >>> 48);
            if (lo < hi1 && hi > lo1 || lo < hi2 && hi > lo2) {
                overlapping = true;
            } else if (lo == hi2 || hi == lo2) { // the second run first: a ring's slots after its indexes
                state[i + 1] = r & 0xFFFFFFFFL | (long) Math.min(lo, lo2) << 32 | (long) Math.max(hi, hi2) << 48;
            } else if (lo == hi1 || hi == lo1) {
                state[i + 1] = r & 0xFFFFFFFF00000000L | Math.min(lo, lo1) | (long) Math.max(hi, hi1) << 16;
            } else {
                state[i] = mine | (TABLE + toTable(lo1, hi1, lo2, hi2, lo, hi));
            }
            return;
        }
        addRun(kind - TABLE, lo, hi);
    }

    /** A table entry for a page of three runs (none meeting another): its index. */
    private int toTable(int lo1, int hi1, int lo2, int hi2, int lo3, int hi3) {
        if (entries == tableCount.length) {
            int n = 2 * entries;
            tableCount = Arrays.copyOf(tableCount, n);
            tableTop = Arrays.copyOf(tableTop, n);
            runLo = Arrays.copyOf(runLo, n * RUNS);
            runHi = Arrays.copyOf(runHi, n * RUNS);
        }
        int m = entries++, at = m * RUNS;
        tableCount[m] = 3;
        runLo[at] = lo1;
        runHi[at] = hi1;
        runLo[at + 1] = lo2;
        runHi[at + 1] = hi2;
        runLo[at + 2] = lo3;
        runHi[at + 2] = hi3;
        tableTop[m] = hi1 >= hi2 && hi1 >= hi3 ? at : hi2 >= hi3 ? at + 1 : at + 2;
        return m;
    }

    /** As {@link #add} for a page in the group's table: {@code m} its entry. */
    private void addRun(int m, int lo, int hi) {
        int top = tableTop[m];
        if (lo == runHi[top]) { // on from the highest run's end: no other run reaches past it
            runHi[top] = hi;
            return;
        }
        int at = m * RUNS, k = tableCount[m], touching = -1;
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
            tableCount[m] = k + 1;
            runLo[touching] = lo;
            runHi[touching] = hi;
        } else {
            runLo[touching] = Math.min(runLo[touching], lo);
            runHi[touching] = Math.max(runHi[touching], hi);
        }
        if (runHi[touching] > runHi[top]) {
            tableTop[m] = touching;
        }
    }

    /** A record whose page cannot be tracked (a failed read of a page no record has named): assume the worst. */
    void untracked() {
        overlapping = true;
    }
}
