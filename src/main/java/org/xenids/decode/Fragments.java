package org.xenids.decode;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * IPv4 and IPv6 fragment reassembly, bounded by a number of datagrams and by the bytes they hold.
 * Each datagram keeps its bytes in a buffer sized to how far its fragments reach (from 512 bytes,
 * doubled as needed up to the largest datagram, 64 KiB, and pooled by size) and a bitmap of the
 * bytes it holds: a datagram cut into thousands of tiny pieces sent out of order (an evasion the
 * target host reassembles) costs no more per byte, and a datagram of one small fragment costs
 * about a kilobyte, not 72 KiB.
 *
 * <p>The bounds are per owner: a number the caller gives with each fragment for the stack that
 * reassembles it (the receiving guest), since each Linux guest keeps its own fragments: 4 MiB of
 * them (ipfrag_high_thresh), and while it holds more it drops every fragment, of new datagrams and
 * of those it holds alike, until some complete or time out; it never gives up an old datagram for
 * a new one. So does an owner here (counted as a full table), with bounds above what Linux holds
 * of small fragments (not of fragments far into a datagram, whose buffer here reaches that far
 * while the kernel counts what it received). One table for all would let decoys sent elsewhere (to other
 * guests, or to addresses the guest ignores) push out an attack's first fragment that the guest
 * still holds; giving up the oldest would let a sender complete its decoys to make room and then
 * finish the attack the guest still holds. Memory is bounded by the owners holding fragments
 * (two per guest under the tap) times the bounds. Datagrams are found by a hash of their key and aged in a
 * list, so work per fragment does not grow with the table. Overlapping fragments are an
 * evasion technique as well (the target and the IDS may resolve them differently): they are
 * reported, and the bytes that arrived first are kept.
 */
final class Fragments {
    /** The fragmentable part starts here in a buffer; the IP header is copied just before it. */
    static final int HDR_ROOM = 60;
    static final int MAX_PAYLOAD = 65535;
    /** What {@link #add} did with a fragment. */
    static final int PENDING = 0, COMPLETE = 1, DROPPED = 2;
    /** Smallest and largest fragmentable-part capacity of a buffer (powers of two). */
    private static final int MIN_CAPACITY = 512, MAX_CAPACITY = 65536;
    private static final int CLASSES = Integer.numberOfTrailingZeros(MAX_CAPACITY / MIN_CAPACITY) + 1;
    /** Bytes counted per datagram beside its buffer and bitmap: its bookkeeping. */
    static final int OVERHEAD = 128;
    /** Spare buffers kept per size class (about 8 MiB over all classes at most). */
    private static final int SPARES = 64;

    /** What one owner holds. */
    private static final class Owner {
        int datagrams;
        long bytes;
    }

    /** Largest owner number (owners are kept in an array by number). */
    static final int MAX_OWNER = 0xFFFF;

    /** One datagram in reassembly; pooled. */
    private static final class Datagram {
        int version, id, proto, total, hdrLen, held, reach, cost, hash, owner;
        long srcHi, srcLo, dstHi, dstLo, firstSeen;
        byte[] buf;
        /** Bit i set when byte i of the fragmentable part is held. */
        long[] have;
        /** Neighbours in age order (oldest first). */
        Datagram older, newer;
    }

    private final int maxDatagrams;
    private final long maxBytes;
    private final long timeoutNanos;
    /** Open addressing by key hash, linear probing; null is empty. */
    private Datagram[] index = new Datagram[16];
    private Datagram oldest, newest;
    private final ArrayDeque<Datagram> spare = new ArrayDeque<>();
    /** Spare buffers and bitmaps of one capacity. */
    private static final class Spares {
        final ArrayDeque<byte[]> bufs = new ArrayDeque<>();
        final ArrayDeque<long[]> maps = new ArrayDeque<>();
    }

    private final Spares[] spares = new Spares[CLASSES];
    /** By owner number; null when it holds nothing. */
    private Owner[] owners = new Owner[4];
    private int live;
    private long bytes;

    /** Filled by {@link #add} on COMPLETE: the datagram is in {@code doneBuf} at [doneOff, doneOff+doneLen). */
    byte[] doneBuf;
    int doneOff, doneLen, doneHdrLen;
    /** Events {@link #add} raised for the caller to count. */
    boolean evOverlap, evFull, evTooLarge;
    /** Datagrams of each IP version dropped unfinished by the timeout during the last {@link #add}. */
    int timedOut4, timedOut6;

    /**
     * @param maxDatagrams datagrams one owner may have in reassembly at once
     * @param maxBytes     bytes one owner's may hold before its fragments are dropped (buffers,
     *                     bitmaps, bookkeeping); at least one largest datagram's
     */
    Fragments(int maxDatagrams, long maxBytes, long timeoutNanos) {
        this.maxDatagrams = maxDatagrams;
        this.maxBytes = Math.max(maxBytes, cost(MAX_CAPACITY));
        this.timeoutNanos = timeoutNanos;
        for (int c = 0; c < CLASSES; c++) {
            spares[c] = new Spares();
        }
    }

    /** Datagrams being reassembled now. */
    int live() {
        return live;
    }

    /** Bytes they hold now (buffers, bitmaps, bookkeeping). */
    long bytes() {
        return bytes;
    }

    /** Datagrams {@code owner} has in reassembly now. */
    int live(int owner) {
        return owner >= 0 && owner < owners.length && owners[owner] != null ? owners[owner].datagrams : 0;
    }

    /**
     * Adds one fragment, reassembled by {@code owner} (0 to {@link #MAX_OWNER}): {@code hdr} bytes
     * of IP header at {@code b[hdrOff..]} (kept from the first fragment), fragment data at
     * {@code b[dataOff, dataOff+dataLen)} belonging at {@code fragOff} of the fragmentable part;
     * {@code more} is the MF bit.
     */
    int add(Packet p, int v, int ident, int nextProto, byte[] b, int hdrOff, int hdr,
            int dataOff, int dataLen, int fragOff, boolean more, long now, int owner) {
        evOverlap = evFull = evTooLarge = false;
        timedOut4 = timedOut6 = 0;
        expire(now);
        int h = hash(p, v, ident, nextProto, owner);
        Datagram d = find(p, v, ident, nextProto, h, owner);
        int end = fragOff + dataLen;
        if (end > MAX_PAYLOAD - hdr) {
            evTooLarge = true;
            if (d != null) release(d);
            return DROPPED;
        }
        Owner o = owner(owner);
        if (o.bytes > maxBytes || d == null && o.datagrams >= maxDatagrams) {
            // As Linux's inet_frag_find: over its bound, an owner takes no fragment at all.
            evFull = true;
            if (o.datagrams == 0) owners[owner] = null;
            return DROPPED;
        }
        if (d == null) {
            d = allocate(p, v, ident, nextProto, h, now, end, owner, o);
        } else if (end > d.have.length * 64) {
            grow(d, end, o);
        }
        byte[] buf = d.buf;
        if (fragOff == 0 && d.hdrLen == 0) {
            d.hdrLen = hdr;
            System.arraycopy(b, hdrOff, buf, HDR_ROOM - hdr, hdr);
        }
        if (!more) {
            if (d.total >= 0 && d.total != end) {
                evOverlap = true;
            } else {
                d.total = end;
            }
        } else if (d.total >= 0 && end > d.total) {
            evOverlap = true; // data past the announced end: conflicting fragments
        }
        insert(d, b, dataOff, fragOff, end);
        if (d.total >= 0 && d.hdrLen > 0 && d.held >= d.total && count(d.have, d.total) == d.total) {
            int hl = d.hdrLen;
            doneBuf = buf;
            doneOff = HDR_ROOM - hl;
            doneLen = hl + d.total;
            doneHdrLen = hl;
            release(d); // its buffer stays untouched until the next fragment
            return COMPLETE;
        }
        return PENDING;
    }

    /** Copies the bytes of [start,end) not yet held (first data wins), run by run, and marks them held. */
    private void insert(Datagram d, byte[] b, int dataOff, int start, int end) {
        long[] m = d.have;
        for (int pos = start; pos < end; ) {
            boolean in = (m[pos >>> 6] & 1L << pos) != 0;
            int run = runEnd(m, pos, end, in);
            if (in) {
                evOverlap = true;
            } else {
                System.arraycopy(b, dataOff + (pos - start), d.buf, HDR_ROOM + pos, run - pos);
                mark(m, pos, run);
                d.held += run - pos;
                d.reach = Math.max(d.reach, run);
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

    private static int hash(Packet p, int v, int ident, int nextProto, int owner) {
        long x = p.srcLo * 0x9E3779B97F4A7C15L ^ p.dstLo * 0xC2B2AE3D27D4EB4FL ^ p.srcHi * 31 ^ p.dstHi
                ^ ((long) ident << 16 | (long) nextProto << 8 | v) ^ (long) owner << 48;
        x = (x ^ (x >>> 33)) * 0xFF51AFD7ED558CCDL;
        return (int) (x ^ (x >>> 33));
    }

    private Datagram find(Packet p, int v, int ident, int nextProto, int h, int owner) {
        int mask = index.length - 1;
        for (int i = h & mask; index[i] != null; i = (i + 1) & mask) {
            Datagram d = index[i];
            if (d.hash == h && d.id == ident && d.version == v && d.proto == nextProto && d.owner == owner && d.srcLo == p.srcLo
                    && d.dstLo == p.dstLo && d.srcHi == p.srcHi && d.dstHi == p.dstHi) {
                return d;
            }
        }
        return null;
    }

    /** The owner numbered {@code n}, made when it holds nothing yet. */
    private Owner owner(int n) {
        if (n < 0 || n > MAX_OWNER) {
            throw new IllegalArgumentException("fragment owner " + n + " outside 0.." + MAX_OWNER);
        }
        if (n >= owners.length) {
            owners = Arrays.copyOf(owners, Math.max(n + 1, Math.min(MAX_OWNER + 1, owners.length * 2)));
        }
        Owner o = owners[n];
        return o != null ? o : (owners[n] = new Owner());
    }

    private Datagram allocate(Packet p, int v, int ident, int nextProto, int h, long now, int end, int owner, Owner o) {
        int capacity = capacityFor(end);
        Datagram d = spare.isEmpty() ? new Datagram() : spare.pop();
        d.buf = takeBuf(capacity);
        d.have = takeMap(capacity);
        d.cost = cost(capacity);
        d.owner = owner;
        bytes += d.cost;
        o.bytes += d.cost;
        o.datagrams++;
        d.version = v;
        d.id = ident;
        d.proto = nextProto;
        d.hash = h;
        d.srcHi = p.srcHi;
        d.srcLo = p.srcLo;
        d.dstHi = p.dstHi;
        d.dstLo = p.dstLo;
        d.firstSeen = now;
        d.total = -1;
        d.hdrLen = 0;
        d.held = 0;
        d.reach = 0;
        d.older = newest;
        d.newer = null;
        if (newest != null) newest.newer = d; else oldest = d;
        newest = d;
        live++;
        if (live * 2 > index.length) {
            rehash(index.length * 2);
        }
        put(d);
        return d;
    }

    /**
     * Moves {@code d} to a buffer that reaches {@code end}. Its owner was under its bound before
     * this fragment, as Linux checks it, so it may pass it by one datagram's growth at most.
     */
    private void grow(Datagram d, int end, Owner o) {
        int capacity = capacityFor(end);
        int more = cost(capacity) - d.cost;
        byte[] buf = takeBuf(capacity);
        long[] have = takeMap(capacity);
        System.arraycopy(d.buf, 0, buf, 0, HDR_ROOM + d.reach);
        System.arraycopy(d.have, 0, have, 0, (d.reach + 63) >>> 6);
        giveBack(d);
        d.buf = buf;
        d.have = have;
        d.cost += more;
        bytes += more;
        o.bytes += more;
    }

    private void expire(long now) {
        while (oldest != null && now - oldest.firstSeen > timeoutNanos) {
            if (oldest.version == 4) timedOut4++; else timedOut6++;
            release(oldest);
        }
    }

    private void release(Datagram d) {
        remove(d);
        if (d.older != null) d.older.newer = d.newer; else oldest = d.newer;
        if (d.newer != null) d.newer.older = d.older; else newest = d.older;
        d.older = d.newer = null;
        giveBack(d);
        bytes -= d.cost;
        Owner o = owners[d.owner];
        o.bytes -= d.cost;
        if (--o.datagrams == 0) {
            owners[d.owner] = null; // memory for owners that hold fragments only
        }
        d.cost = 0;
        live--;
        spare.push(d);
    }

    /** Returns {@code d}'s buffer and bitmap to their pools, the bitmap cleared where it was used. */
    private void giveBack(Datagram d) {
        Arrays.fill(d.have, 0, (d.reach + 63) >>> 6, 0);
        Spares c = spares[sizeClass(d.have.length * 64)];
        if (c.bufs.size() < SPARES) {
            c.bufs.push(d.buf);
            c.maps.push(d.have);
        }
        d.buf = null;
        d.have = null;
    }

    private void put(Datagram d) {
        int mask = index.length - 1;
        int i = d.hash & mask;
        while (index[i] != null) {
            i = (i + 1) & mask;
        }
        index[i] = d;
    }

    /** Removes {@code d} from the index, moving later entries of its probe run back (no tombstones). */
    private void remove(Datagram d) {
        int mask = index.length - 1;
        int i = d.hash & mask;
        while (index[i] != d) {
            i = (i + 1) & mask;
        }
        index[i] = null;
        for (int j = (i + 1) & mask; index[j] != null; j = (j + 1) & mask) {
            int home = index[j].hash & mask;
            // Move back when the gap at i lies cyclically in [home, j).
            if (((j - home) & mask) >= ((j - i) & mask)) {
                index[i] = index[j];
                index[j] = null;
                i = j;
            }
        }
    }

    private void rehash(int size) {
        Datagram[] old = index;
        index = new Datagram[size];
        for (Datagram d : old) {
            if (d != null) put(d);
        }
    }

    /** The smallest capacity class holding a fragmentable part of {@code end} bytes. */
    private static int capacityFor(int end) {
        return Math.max(MIN_CAPACITY, Integer.highestOneBit(Math.max(1, end - 1)) << 1);
    }

    private static int sizeClass(int capacity) {
        return Integer.numberOfTrailingZeros(capacity / MIN_CAPACITY);
    }

    /** Bytes a datagram with a buffer of {@code capacity} counts against the table's bound. */
    private static int cost(int capacity) {
        return OVERHEAD + HDR_ROOM + capacity + capacity / 8;
    }

    private byte[] takeBuf(int capacity) {
        byte[] b = spares[sizeClass(capacity)].bufs.poll();
        return b != null ? b : new byte[HDR_ROOM + capacity];
    }

    private long[] takeMap(int capacity) {
        long[] m = spares[sizeClass(capacity)].maps.poll();
        return m != null ? m : new long[capacity / 64];
    }
}
