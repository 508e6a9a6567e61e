package org.xenids.decode;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * IPv4 and IPv6 fragment reassembly as a Linux receiver does it, bounded by a number of datagrams
 * and by the bytes they hold. Which fragments a datagram takes follows Linux
 * ({@code ip_frag_queue}, {@code ip6_frag_queue}, {@link FragmentRuns}): an IPv4 fragment that is
 * not the last is cut to a multiple of 8 bytes; a fragment that overlaps what is held other than
 * as a duplicate, a last fragment short of bytes held or unlike an earlier last one, bytes past a
 * known end, or an empty fragment condemn the whole datagram (reported as an overlap), and its
 * key starts afresh with the next fragment. Keeping the first bytes instead let a sender condemn
 * a datagram of decoys at the guest, then send the attack under the same key: the guest
 * reassembled the attack and the detector its decoys.
 *
 * <p>Each datagram keeps its bytes in 1 KiB pieces, taken as fragments reach into them (and
 * pooled): a datagram cut into thousands of tiny pieces sent out of order costs no more per byte,
 * a datagram of one small fragment about 1.7 KiB, and a fragment far into its datagram no more
 * than one near its start (a buffer sized to the datagram's reach let a tiny fragment at offset
 * 60,000 cost 74 KiB, so a few hundred such decoys filled what a Linux guest had room for
 * thousands of). A datagram is copied out whole when it completes.
 *
 * <p>The bounds are per owner: a number the caller gives with each fragment for the stack that
 * reassembles it (the receiving guest), since each Linux guest keeps its own fragments: 4 MiB of
 * them (ipfrag_high_thresh, counted by what the kernel allocated for each fragment, 1 KiB or
 * more), and while it holds more it drops every fragment, of new datagrams and of those it holds
 * alike, until some complete or time out; it never gives up an old datagram for a new one. So
 * does an owner here (counted as a full table), with bounds above Linux's. One table for all
 * would let decoys sent elsewhere (to other guests, or to addresses the guest ignores) push out
 * an attack's first fragment that the guest still holds; giving up the oldest would let a sender
 * complete its decoys to make room and then finish the attack the guest still holds. Memory is
 * bounded by the owners holding fragments (two per guest under the tap) times the bounds.
 * Datagrams are found by a hash of their key and aged in a list, so work per fragment does not
 * grow with the table.
 */
final class Fragments {
    /** Room for the IP header before the fragmentable part in the buffer a datagram is copied out to. */
    static final int HDR_ROOM = 60;
    static final int MAX_PAYLOAD = 65535;
    /** What {@link #add} did with a fragment. */
    static final int PENDING = 0, COMPLETE = 1, DROPPED = 2;
    /** A datagram's bytes are kept in pieces of this size (a power of two). */
    static final int PIECE = 1024;
    private static final int PIECE_SHIFT = Integer.numberOfTrailingZeros(PIECE), PIECES = 65536 / PIECE;
    /** Bytes counted per datagram beside its pieces and runs: its bookkeeping, piece table and header. */
    static final int OVERHEAD = 640;
    /** Spare pieces kept for reuse (1 MiB). */
    private static final int SPARES = 1024;

    /** What one owner holds. */
    private static final class Owner {
        int datagrams;
        long bytes;
    }

    /** Largest owner number (owners are kept in an array by number). */
    static final int MAX_OWNER = 0xFFFF;

    /** One datagram in reassembly; pooled with its tables. */
    private static final class Datagram {
        /** {@code len}: the furthest end seen (Linux's q.len); {@code total}: the last fragment's end, or −1. */
        int version, id, proto, total, len, hdrLen, held, reach, cost, runBytes, hash, owner;
        long srcHi, srcLo, dstHi, dstLo, firstSeen;
        final byte[] hdr = new byte[HDR_ROOM];
        /** Piece i holds bytes [i·PIECE, (i+1)·PIECE) of the fragmentable part; null until reached. */
        final byte[][] piece = new byte[PIECES][];
        final FragmentRuns runs = new FragmentRuns();
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
    private final ArrayDeque<byte[]> sparePieces = new ArrayDeque<>();
    /** Where a completed datagram is copied out to. */
    private final byte[] out = new byte[HDR_ROOM + MAX_PAYLOAD];
    /** By owner number; null when it holds nothing. */
    private Owner[] owners = new Owner[4];
    private int live;

    /** Filled by {@link #add} on COMPLETE: the datagram is in {@code doneBuf} at [doneOff, doneOff+doneLen). */
    byte[] doneBuf;
    int doneOff, doneLen, doneHdrLen;
    /** Events {@link #add} raised for the caller to count. */
    boolean evOverlap, evFull, evTooLarge;
    /** Datagrams of each IP version dropped unfinished by the timeout during the last {@link #add}. */
    int timedOut4, timedOut6;

    /**
     * @param maxDatagrams datagrams one owner may have in reassembly at once
     * @param maxBytes     bytes one owner's may hold before its fragments are dropped (pieces,
     *                     runs, bookkeeping); at least one largest datagram's with its largest
     *                     run table (8,192 runs of 8 bytes)
     */
    Fragments(int maxDatagrams, long maxBytes, long timeoutNanos) {
        this.maxDatagrams = maxDatagrams;
        this.maxBytes = Math.max(maxBytes, cost(PIECES) + 8 * 8192);
        this.timeoutNanos = timeoutNanos;
    }

    /** Bytes a datagram of {@code pieces} pieces and few runs counts against its owner's bound. */
    static long cost(int pieces) {
        return OVERHEAD + 64 + (long) pieces * PIECE;
    }

    /** Datagrams being reassembled now. */
    int live() {
        return live;
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
            // As Linux's inet_frag_find: over its bound, an owner takes no fragment at all. It
            // was under it before this one, so it passes it by one fragment's pieces at most.
            evFull = true;
            if (o.datagrams == 0) owners[owner] = null;
            return DROPPED;
        }
        if (d == null) {
            d = allocate(p, v, ident, nextProto, h, now, owner, o);
        }
        // ip_frag_queue / ip6_frag_queue, in their order.
        if (!more) {
            if (end < d.len || d.total >= 0 && end != d.total) {
                return condemn(d); // bytes held past this end, or another end
            }
            d.total = d.len = end;
        } else {
            if (v == 4 && (end & 7) != 0) {
                end &= ~7; // IPv4 cuts a fragment that is not the last to 8-byte units (IPv6 drops it)
            }
            if (end > d.len) {
                if (d.total >= 0) {
                    return condemn(d); // bytes past the known end
                }
                d.len = end;
            }
        }
        if (end == fragOff) {
            return condemn(d);
        }
        int placed = d.runs.place(fragOff, end);
        if (placed == FragmentRuns.OVERLAP) {
            return condemn(d);
        }
        if (d.runs.bytes() != d.runBytes) {
            charge(d, o, d.runs.bytes() - d.runBytes);
            d.runBytes = d.runs.bytes();
        }
        if (placed == FragmentRuns.DUPLICATE) {
            return PENDING; // wholly inside bytes held: ignored, as Linux does
        }
        if (fragOff == 0 && d.hdrLen == 0) {
            d.hdrLen = hdr;
            System.arraycopy(b, hdrOff, d.hdr, 0, hdr);
        }
        copyIn(d, o, b, dataOff, fragOff, end);
        if (d.total >= 0 && d.hdrLen > 0 && d.held == d.total) {
            int hl = d.hdrLen;
            System.arraycopy(d.hdr, 0, out, HDR_ROOM - hl, hl);
            for (int at = 0; at < d.total; at += PIECE) {
                System.arraycopy(d.piece[at >>> PIECE_SHIFT], 0, out, HDR_ROOM + at, Math.min(PIECE, d.total - at));
            }
            doneBuf = out;
            doneOff = HDR_ROOM - hl;
            doneLen = hl + d.total;
            doneHdrLen = hl;
            release(d); // the copy stays untouched until the next datagram completes
            return COMPLETE;
        }
        return PENDING;
    }

    /** Gives up {@code d} for an overlap or inconsistent fragments (Linux's discard_qp), the fragment with it. */
    private int condemn(Datagram d) {
        evOverlap = true;
        release(d);
        return DROPPED;
    }

    private void charge(Datagram d, Owner o, int n) {
        d.cost += n;
        o.bytes += n;
    }

    /** Copies [start,end), which overlaps nothing held, into the pieces it reaches. */
    private void copyIn(Datagram d, Owner o, byte[] b, int dataOff, int start, int end) {
        for (int pos = start; pos < end; ) {
            int i = pos >>> PIECE_SHIFT;
            int base = i << PIECE_SHIFT;
            int stop = Math.min(end, base + PIECE);
            if (d.piece[i] == null) {
                takePiece(d, o, i);
            }
            System.arraycopy(b, dataOff + (pos - start), d.piece[i], pos - base, stop - pos);
            pos = stop;
        }
        d.held += end - start;
        d.reach = Math.max(d.reach, end);
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

    /** The owner numbered {@code n}, made the first time it holds a datagram and kept (at most 65,536). */
    private Owner owner(int n) { // 0..MAX_OWNER: Decoder refuses any other
        if (n >= owners.length) {
            owners = Arrays.copyOf(owners, Math.max(n + 1, Math.min(MAX_OWNER + 1, owners.length * 2)));
        }
        Owner o = owners[n];
        return o != null ? o : (owners[n] = new Owner());
    }

    private Datagram allocate(Packet p, int v, int ident, int nextProto, int h, long now, int owner, Owner o) {
        Datagram d = spare.isEmpty() ? new Datagram() : spare.pop();
        d.runs.clear();
        d.runBytes = d.runs.bytes();
        d.cost = OVERHEAD + d.runBytes;
        d.owner = owner;
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
        d.len = 0;
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

    /** Gives {@code d} its piece {@code i}, counted against its owner. */
    private void takePiece(Datagram d, Owner o, int i) {
        byte[] piece = sparePieces.poll();
        d.piece[i] = piece != null ? piece : new byte[PIECE];
        charge(d, o, PIECE);
    }

    /**
     * Drops every datagram still in reassembly (the input ended: none can complete), counted in
     * {@link #timedOut4}/{@link #timedOut6} as timed out, which is what a receiver would do with them.
     */
    void drain() {
        timedOut4 = timedOut6 = 0;
        while (oldest != null) {
            if (oldest.version == 4) timedOut4++; else timedOut6++;
            release(oldest);
        }
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
        Owner o = owners[d.owner];
        o.bytes -= d.cost;
        o.datagrams--;
        d.cost = 0;
        live--;
        spare.push(d);
    }

    /** Returns {@code d}'s pieces to the pool, up to the pool's size. */
    private void giveBack(Datagram d) {
        for (int i = 0, n = (d.reach + PIECE - 1) >>> PIECE_SHIFT; i < n; i++) {
            if (d.piece[i] != null && sparePieces.size() < SPARES) {
                sparePieces.push(d.piece[i]);
            }
            d.piece[i] = null;
        }
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
}
