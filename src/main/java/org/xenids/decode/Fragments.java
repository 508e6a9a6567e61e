package org.xenids.decode;

/**
 * IPv4 and IPv6 fragment reassembly in a fixed number of slots, each with one pooled buffer of
 * the largest datagram (64 KiB), so memory is bounded by {@code slots × 64 KiB} and time per
 * fragment by the slot count plus {@link #MAX_RANGES}. Overlapping fragments are an evasion
 * technique (the target and the IDS may resolve them differently): they are reported, and the
 * bytes that arrived first are kept. A full table evicts its oldest datagram (counted).
 */
final class Fragments {
    /** The fragmentable part starts here in a slot buffer; the IP header is copied just before it. */
    static final int HDR_ROOM = 60;
    static final int MAX_PAYLOAD = 65535;
    static final int MAX_RANGES = 64;

    /** What {@link #add} did with a fragment. */
    static final int PENDING = 0, COMPLETE = 1, DROPPED = 2;

    private final int slots;
    private final long timeoutNanos;
    private final boolean[] used;
    private final int[] version, id, proto, total, hdrLen, nranges;
    private final long[] srcHi, srcLo, dstHi, dstLo, firstSeen;
    private final boolean[] overlapped;
    private final int[][] starts, ends;
    private final byte[][] bufs;
    private int live;

    /** Filled by {@link #add} on COMPLETE: the datagram is in {@code bufs[slot]} at [hdrStart, hdrStart+length). */
    byte[] doneBuf;
    int doneOff, doneLen, doneHdrLen;
    /** Events {@link #add} raised for the caller to count (bit set of local flags). */
    boolean evOverlap, evFull, evTooMany, evTooLarge;
    /** Datagrams of each IP version dropped unfinished by the timeout during the last {@link #add}. */
    int timedOut4, timedOut6;

    Fragments(int slots, long timeoutNanos) {
        this.slots = slots;
        this.timeoutNanos = timeoutNanos;
        used = new boolean[slots];
        version = new int[slots];
        id = new int[slots];
        proto = new int[slots];
        total = new int[slots];
        hdrLen = new int[slots];
        nranges = new int[slots];
        srcHi = new long[slots];
        srcLo = new long[slots];
        dstHi = new long[slots];
        dstLo = new long[slots];
        firstSeen = new long[slots];
        overlapped = new boolean[slots];
        starts = new int[slots][];
        ends = new int[slots][];
        bufs = new byte[slots][];
    }

    /** Datagrams being reassembled now. */
    int live() {
        return live;
    }

    /**
     * Adds one fragment: {@code hdr} bytes of IP header at {@code b[hdrOff..]} (kept from the
     * first fragment), fragment data at {@code b[dataOff, dataOff+dataLen)} belonging at
     * {@code fragOff} of the fragmentable part; {@code more} is the MF bit.
     */
    int add(Packet p, int v, int ident, int nextProto, byte[] b, int hdrOff, int hdr,
            int dataOff, int dataLen, int fragOff, boolean more, long now) {
        evOverlap = evFull = evTooMany = evTooLarge = false;
        timedOut4 = timedOut6 = 0;
        expire(now);
        int s = find(p, v, ident, nextProto);
        int end = fragOff + dataLen;
        if (end > MAX_PAYLOAD - hdr) {
            evTooLarge = true;
            if (s >= 0) release(s);
            return DROPPED;
        }
        if (s < 0) {
            s = allocate(p, v, ident, nextProto, now);
        }
        byte[] buf = bufs[s];
        if (fragOff == 0 && hdrLen[s] == 0) {
            hdrLen[s] = hdr;
            System.arraycopy(b, hdrOff, buf, HDR_ROOM - hdr, hdr);
        }
        if (!more) {
            if (total[s] >= 0 && total[s] != end) {
                evOverlap = true;
            } else {
                total[s] = end;
            }
        } else if (total[s] >= 0 && end > total[s]) {
            evOverlap = true; // data past the announced end: conflicting fragments
        }
        if (!insert(s, b, dataOff, fragOff, end)) {
            evTooMany = true;
            release(s);
            return DROPPED;
        }
        if (total[s] >= 0 && hdrLen[s] > 0 && nranges[s] == 1 && starts[s][0] == 0 && ends[s][0] >= total[s]) {
            int h = hdrLen[s];
            doneBuf = buf;
            doneOff = HDR_ROOM - h;
            doneLen = h + total[s];
            doneHdrLen = h;
            release(s);
            return COMPLETE;
        }
        return PENDING;
    }

    /** Copies the parts of [start,end) not yet held (first data wins) and merges the ranges. */
    private boolean insert(int s, byte[] b, int dataOff, int start, int end) {
        int[] st = starts[s], en = ends[s];
        int n = nranges[s];
        int pos = start;
        for (int i = 0; i < n && pos < end; i++) {
            if (en[i] <= pos) continue;
            if (st[i] >= end) break;
            if (st[i] > pos) {
                System.arraycopy(b, dataOff + (pos - start), bufs[s], HDR_ROOM + pos, st[i] - pos);
            }
            evOverlap = true;
            overlapped[s] = true;
            pos = Math.max(pos, en[i]);
        }
        if (pos < end) {
            System.arraycopy(b, dataOff + (pos - start), bufs[s], HDR_ROOM + pos, end - pos);
        }
        if (start == end) return true;
        // merge [start,end) into the sorted, disjoint list
        int i = 0;
        while (i < n && en[i] < start) i++;
        int j = i;
        int ms = start, me = end;
        while (j < n && st[j] <= end) {
            ms = Math.min(ms, st[j]);
            me = Math.max(me, en[j]);
            j++;
        }
        int removed = j - i;
        int newN = n - removed + 1;
        if (newN > MAX_RANGES) return false;
        if (removed == 0) {
            System.arraycopy(st, i, st, i + 1, n - i);
            System.arraycopy(en, i, en, i + 1, n - i);
        } else if (removed > 1) {
            System.arraycopy(st, j, st, i + 1, n - j);
            System.arraycopy(en, j, en, i + 1, n - j);
        }
        st[i] = ms;
        en[i] = me;
        nranges[s] = newN;
        return true;
    }

    private int find(Packet p, int v, int ident, int nextProto) {
        for (int s = 0; s < slots; s++) {
            if (used[s] && id[s] == ident && version[s] == v && proto[s] == nextProto
                    && srcLo[s] == p.srcLo && dstLo[s] == p.dstLo && srcHi[s] == p.srcHi && dstHi[s] == p.dstHi) {
                return s;
            }
        }
        return -1;
    }

    private int allocate(Packet p, int v, int ident, int nextProto, long now) {
        int s = -1;
        long oldest = Long.MAX_VALUE;
        int oldestSlot = 0;
        for (int i = 0; i < slots; i++) {
            if (!used[i]) { s = i; break; }
            if (firstSeen[i] < oldest) { oldest = firstSeen[i]; oldestSlot = i; }
        }
        if (s < 0) {
            evFull = true;
            s = oldestSlot;
            release(s);
        }
        if (bufs[s] == null) {
            bufs[s] = new byte[HDR_ROOM + MAX_PAYLOAD];
            starts[s] = new int[MAX_RANGES];
            ends[s] = new int[MAX_RANGES];
        }
        used[s] = true;
        live++;
        version[s] = v;
        id[s] = ident;
        proto[s] = nextProto;
        srcHi[s] = p.srcHi;
        srcLo[s] = p.srcLo;
        dstHi[s] = p.dstHi;
        dstLo[s] = p.dstLo;
        firstSeen[s] = now;
        total[s] = -1;
        hdrLen[s] = 0;
        nranges[s] = 0;
        overlapped[s] = false;
        return s;
    }

    private void expire(long now) {
        if (live == 0) return;
        for (int s = 0; s < slots; s++) {
            if (used[s] && now - firstSeen[s] > timeoutNanos) {
                if (version[s] == 4) timedOut4++; else timedOut6++;
                release(s);
            }
        }
    }

    private void release(int s) {
        if (used[s]) {
            used[s] = false;
            live--;
        }
    }
}
