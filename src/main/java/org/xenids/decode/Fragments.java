package org.xenids.decode;

/**
 * IPv4 and IPv6 fragment reassembly in a fixed number of slots, each with one pooled buffer of
 * the largest datagram (64 KiB) and a bitmap of the bytes it holds (8 KiB), so memory is bounded
 * by {@code slots × 72 KiB} and time per fragment by the slot count plus its length / 64. A
 * bitmap rather than a list of runs: a datagram cut into thousands of tiny pieces sent out of
 * order (an evasion the target host reassembles) is reassembled here too, at no more work per
 * byte. Overlapping fragments are an evasion technique as well (the target and the IDS may
 * resolve them differently): they are reported, and the bytes that arrived first are kept. A
 * full table evicts its oldest datagram (counted).
 */
final class Fragments {
    /** The fragmentable part starts here in a slot buffer; the IP header is copied just before it. */
    static final int HDR_ROOM = 60;
    static final int MAX_PAYLOAD = 65535;

    /** What {@link #add} did with a fragment. */
    static final int PENDING = 0, COMPLETE = 1, DROPPED = 2;

    private final int slots;
    private final long timeoutNanos;
    private final boolean[] used;
    private final int[] version, id, proto, total, hdrLen, held, reach;
    private final long[] srcHi, srcLo, dstHi, dstLo, firstSeen;
    private final boolean[] overlapped;
    /** Per slot, bit i set when byte i of the fragmentable part is held. */
    private final long[][] have;
    private final byte[][] bufs;
    private int live;

    /** Filled by {@link #add} on COMPLETE: the datagram is in {@code bufs[slot]} at [hdrStart, hdrStart+length). */
    byte[] doneBuf;
    int doneOff, doneLen, doneHdrLen;
    /** Events {@link #add} raised for the caller to count (bit set of local flags). */
    boolean evOverlap, evFull, evTooLarge;
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
        held = new int[slots];
        reach = new int[slots];
        srcHi = new long[slots];
        srcLo = new long[slots];
        dstHi = new long[slots];
        dstLo = new long[slots];
        firstSeen = new long[slots];
        overlapped = new boolean[slots];
        have = new long[slots][];
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
        evOverlap = evFull = evTooLarge = false;
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
        insert(s, b, dataOff, fragOff, end);
        if (total[s] >= 0 && hdrLen[s] > 0 && held[s] >= total[s] && count(have[s], total[s]) == total[s]) {
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

    /** Copies the bytes of [start,end) not yet held (first data wins), run by run, and marks them held. */
    private void insert(int s, byte[] b, int dataOff, int start, int end) {
        long[] m = have[s];
        for (int pos = start; pos < end; ) {
            boolean in = (m[pos >>> 6] & 1L << pos) != 0;
            int run = runEnd(m, pos, end, in);
            if (in) {
                evOverlap = true;
                overlapped[s] = true;
            } else {
                System.arraycopy(b, dataOff + (pos - start), bufs[s], HDR_ROOM + pos, run - pos);
                mark(m, pos, run);
                held[s] += run - pos;
                reach[s] = Math.max(reach[s], run);
            }
            pos = run;
        }
    }

    /** The first index in (pos, end] whose bit differs from {@code in} (or {@code end}). */
    private static int runEnd(long[] m, int pos, int end, boolean in) {
        int w = pos >>> 6;
        long word = (in ? ~m[w] : m[w]) & -1L << pos; // bits that end the run, from pos on
        while (word == 0) {
            if (++w << 6 >= end) {
                return end;
            }
            word = in ? ~m[w] : m[w];
        }
        return Math.min(end, (w << 6) + Long.numberOfTrailingZeros(word));
    }

    /** Sets bits [from, to). */
    private static void mark(long[] m, int from, int to) {
        int w0 = from >>> 6, w1 = (to - 1) >>> 6;
        long first = -1L << from, last = -1L >>> -to;
        if (w0 == w1) {
            m[w0] |= first & last;
            return;
        }
        m[w0] |= first;
        for (int w = w0 + 1; w < w1; w++) {
            m[w] = -1L;
        }
        m[w1] |= last;
    }

    /** Bits set in [0, n). */
    private static int count(long[] m, int n) {
        int c = 0, w = 0;
        for (; (w + 1) << 6 <= n; w++) {
            c += Long.bitCount(m[w]);
        }
        if ((n & 63) != 0) {
            c += Long.bitCount(m[w] & -1L >>> -n);
        }
        return c;
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
            have[s] = new long[(MAX_PAYLOAD + 63) / 64];
        } else {
            // Only the words a fragment can have touched: up to the held bytes' highest end.
            java.util.Arrays.fill(have[s], 0, (reach[s] + 63) >>> 6, 0);
        }
        reach[s] = 0;
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
        held[s] = 0;
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
