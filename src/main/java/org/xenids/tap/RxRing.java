package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import java.util.Arrays;
import org.xenids.xen.abi.Netif;

/**
 * One RX ring (backend→guest) as the tap follows it.
 *
 * <p>A copy belongs to this ring when its destination grant ref is one the guest posted here
 * (requests are read whenever the tap gets a chance; the backend overwrites each request with
 * its response before the copy hypercall, keeping only the id, so the tap remembers the last
 * ref posted under every id). Copies are kept in arrival order as chunks: the backend fills each
 * buffer from offset 0, so a chunk at offset 0 starts the next buffer. Responses then carve the
 * chunks into packets: response {@code i} is the next buffer; its status must equal the bytes
 * copied into it, its id must be the one whose ref the copies named.
 *
 * <p>Linux writes each response as it queues the buffer's copies and publishes them after the
 * copy hypercall, notifying the guest only when asked; a guest may thus consume responses with
 * no event the tap sees in between. So after each copy hypercall the tap also takes the written,
 * not yet published responses that agree with the copies it saw; the first that does not agree
 * ends the look. Everything is bounded by the ring: 256 pages of bytes, 4096 chunks.
 */
final class RxRing {
    static final int SIZE = Netif.Sring.RX_SIZE, MASK = SIZE - 1;
    private static final int ENTRY = Netif.RxRequest.SIZE;
    private static final int MAX_BUF = SIZE * 4096;
    private static final int CHUNKS = 4096, CMASK = CHUNKS - 1;

    final VifQueue q;
    final long frame;
    private final Tap tap;
    private final Reports reports;
    /** The ring's header and one entry as last read, the entry at byte {@link #E}. */
    private static final int E = 64;
    private final byte[] page = new byte[E + ENTRY];
    boolean broken;
    private int reqSeen, rspSeen;
    private long refreshedSeq = -1;
    long touchedSeq = -1;
    private int grantEntries = -1;

    private final int[] grefById = new int[SIZE];
    private final LongIntMap idByGref = new LongIntMap();
    /**
     * The last id posted with a ref, direct-mapped by the ref's low bits and checked against
     * {@link #grefById}; {@link #idByGref} holds the refs evicted from it (a ring's refs rarely collide).
     */
    private final short[] idHint = new short[1024];

    // Chunks of copied data, in arrival order.
    private final int[] cGref = new int[CHUNKS];
    private final int[] cOff = new int[CHUNKS];
    private final int[] cLen = new int[CHUNKS];
    private final int[] cPos = new int[CHUNKS];
    private final int[] cPeer = new int[CHUNKS];
    private final boolean[] cFailed = new boolean[CHUNKS];
    private final boolean[] cRefused = new boolean[CHUNKS];
    private int cHead, cTail;
    private byte[] buf = new byte[16384];
    private int write;

    // The packet being assembled from responses.
    private int frameStart = -1, frameLen, framePeer = UNSET, extraLeft;
    /** {@link #framePeer} before the frame's first chunk. */
    private static final int UNSET = Integer.MIN_VALUE;
    private boolean frameBad, frameRefused, frameLost, frameFirst = true;
    /** The first response's flags leave the checksum to the guest (neither csum_blank nor data_validated). */
    private boolean frameChecked;

    RxRing(Tap tap, VifQueue q, long frame) {
        this.tap = tap;
        this.reports = tap.reports;
        this.q = q;
        this.frame = frame;
        Arrays.fill(grefById, -1);
    }

    /** Reads requests posted since the last look (once per hypercall). */
    void refresh(long seq, long now) {
        if (broken || refreshedSeq == seq) {
            return;
        }
        refreshedSeq = seq;
        if (!tap.mem.read(q.front, frame, 0, page, 0, 16)) {
            return;
        }
        int prod = Mem.u32(page, Netif.Sring.REQ_PROD);
        if (prod - reqSeen < 0 || prod - rspSeen > SIZE) {
            reports.anomaly(q, Tap.RX, "rx.req_prod_overrun", prod & MASK, now);
            broken = true;
            return;
        }
        if (grantEntries < 0) {
            grantEntries = tap.mem.grantEntries(q.front);
        }
        for (int i = reqSeen; i != prod; i++) {
            int s = i & MASK;
            if (!tap.mem.read(q.front, frame, Netif.Sring.RING + s * ENTRY, page, E, ENTRY)) {
                return;
            }
            int id = Mem.u16(page, E + Netif.RxRequest.ID);
            int gref = Mem.u32(page, E + Netif.RxRequest.GREF);
            // A slot already answered reads as (id, offset, flags, status): its "ref" is then out of range.
            if (id < SIZE && Mem.u16(page, E + 2) == 0 && gref >= GNTTAB_NR_RESERVED_ENTRIES
                    && (grantEntries <= 0 || gref < grantEntries)) {
                grefById[id] = gref;
                // The direct-mapped hint answers; a ref it evicts (still posted) goes to the map, which
                // once used is kept current for every ref (so it never holds an older id than the hint's).
                int h = idHint[gref & 1023], evicted = grefById[h];
                if (evicted != gref && evicted >= 0 && (evicted & 1023) == (gref & 1023)) {
                    idByGref.put(evicted, h);
                }
                if (idByGref.size() > 0) {
                    idByGref.put(gref, id);
                }
                idHint[gref & 1023] = (short) id;
            }
        }
        reqSeen = prod;
    }

    /** The id under which the guest posted buffer {@code ref} here, or −1. */
    int find(int ref) {
        int h = idHint[ref & 1023];
        if (grefById[h] == ref && ref >= 0) {
            return h;
        }
        int id = idByGref.get(ref, -1);
        return id >= 0 && grefById[id] == ref ? id : -1;
    }

    /** A copy's {@code srcPeer} when it came from the backend's memory: the guest whose TX head that was, if any. */
    static final int HEAD_OWNER = -2;

    /**
     * A completed copy into buffer {@code ref} at {@code dstOff}: the bytes are read from the source
     * now; {@code srcPeer} is the sending guest, −1, or {@link #HEAD_OWNER}.
     */
    void copied(int ref, int dstOff, int n, int status, boolean refused, int srcDom, long srcFrame, int srcOff,
                int srcPeer, long now) {
        if (cTail - cHead == CHUNKS) {
            reports.lost(q, Tap.RX, 1);
            return;
        }
        int c = cTail & CMASK;
        cGref[c] = ref;
        cOff[c] = dstOff;
        cLen[c] = n;
        cPeer[c] = srcPeer == HEAD_OWNER ? -1 : srcPeer;
        cRefused[c] = refused;
        cFailed[c] = status != GNTST_okay || srcFrame < 0;
        cPos[c] = write;
        if (!cFailed[c]) {
            if (write + n > buf.length) {
                if (write + n > MAX_BUF) {
                    cFailed[c] = true;
                } else {
                    buf = Arrays.copyOf(buf, Math.min(MAX_BUF, Math.max(buf.length * 2, write + n)));
                }
            }
            if (!cFailed[c] && tap.mem.read(srcDom, srcFrame, srcOff, buf, write, n)) {
                if (srcPeer == HEAD_OWNER) {
                    cPeer[c] = tap.headOwner(srcDom, srcFrame, srcOff, buf, write, n);
                }
                write += n;
            } else {
                cFailed[c] = true;
            }
        }
        cTail++;
    }

    /** Bytes copied into the next buffer (chunks up to the next one at offset 0), or −1 when none yet. */
    private int nextBuffer() {
        if (cHead == cTail) {
            return -1;
        }
        int total = cLen[cHead & CMASK];
        for (int k = cHead + 1; k != cTail && cOff[k & CMASK] != 0; k++) {
            total += cLen[k & CMASK];
        }
        return total;
    }

    /**
     * Consumes published responses and, with {@code written}, the agreeing written ones (see the
     * class comment); each whole packet is emitted.
     */
    void responses(long seq, long now, boolean written) {
        refresh(seq, now);
        if (broken) {
            return;
        }
        int prod = Mem.u32(page, Netif.Sring.RSP_PROD);
        int reqProd = Mem.u32(page, Netif.Sring.REQ_PROD);
        if (prod - rspSeen > SIZE || rspSeen - prod > SIZE || prod - reqProd > 0) {
            reports.anomaly(q, Tap.RX, "rx.rsp_prod_overrun", prod & MASK, now);
            broken = true;
            return;
        }
        int limit = written ? reqProd : (prod - rspSeen > 0 ? prod : rspSeen);
        for (int i = rspSeen; i != limit; i++) {
            int s = i & MASK;
            boolean published = i - prod < 0;
            if (!published && extraLeft == 0 && cHead == cTail) {
                return; // no copied bytes wait for a buffer: no written response can agree, none is read
            }
            if (!tap.mem.read(q.front, frame, Netif.Sring.RING + s * ENTRY, page, E, ENTRY)) {
                return;
            }
            if (extraLeft > 0) {
                int type = Mem.u8(page, E + Netif.ExtraInfo.TYPE);
                if (!published && (type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX)) {
                    return;
                }
                rspSeen = i + 1;
                if ((Mem.u8(page, E + Netif.ExtraInfo.FLAGS) & XEN_NETIF_EXTRA_FLAG_MORE) == 0) {
                    extraLeft = 0;
                }
                continue;
            }
            int id = Mem.u16(page, E + Netif.RxResponse.ID);
            int flags = Mem.u16(page, E + Netif.RxResponse.FLAGS);
            int status = Mem.s16(page, E + Netif.RxResponse.STATUS);
            int offset = Mem.u16(page, E + Netif.RxResponse.OFFSET);
            int have = nextBuffer();
            if (!published && (have < 0 || status != have || offset != 0 || id >= SIZE)) {
                return;
            }
            rspSeen = i + 1;
            take(id, status, offset, have, s, now);
            if (frameFirst) {
                frameChecked = (flags & (NETRXF_csum_blank | NETRXF_data_validated)) == 0;
            }
            if (frameFirst && (flags & NETRXF_extra_info) != 0) {
                extraLeft = 1;
            }
            frameFirst = false;
            if ((flags & NETRXF_more_data) == 0) {
                finishFrame(now);
            }
        }
    }

    /** One data response: the next buffer's chunks join the packet. */
    private void take(int id, int status, int offset, int have, int slot, long now) {
        if (have < 0) {
            if (status > 0) {
                // Bytes the tap never saw copied (the guest posted and the backend filled a buffer
                // between two events the tap gets): not the guest's fault, counted as lost.
                frameBad = true;
                frameLost = true;
            } else if (status < 0) {
                frameBad = true;
            }
            return;
        }
        int first = cHead & CMASK;
        int ref = cGref[first];
        boolean bad = false, refused = false;
        int start = cPos[first];
        int pos = start;
        int expectOff = 0;
        do {
            int c = cHead & CMASK;
            bad |= cFailed[c] || cGref[c] != ref || cOff[c] != expectOff || cPos[c] != pos;
            refused |= cRefused[c];
            if (!cFailed[c]) {
                pos += cLen[c];
            }
            expectOff += cLen[c];
            // A guest→guest frame comes whole from the sender: its head from where netback copied
            // it, the rest from the sender's grants. A chunk from anywhere else makes it a frame
            // of its own, to be inspected (at worst, one frame counted twice).
            framePeer = framePeer == UNSET || framePeer == cPeer[c] ? cPeer[c] : -1;
            cHead++;
        } while (cHead != cTail && cOff[cHead & CMASK] != 0);
        if (status < 0) {
            frameBad = true;
            frameRefused |= refused;
        } else if (bad) {
            // The backend reports the buffer filled, but the tap has a failed read or a gap in
            // the buffer's copies: copies it did not see (a copy Xen failed makes the backend
            // report an error), so lost by the tap, not dropped.
            frameBad = true;
            frameRefused |= refused;
            frameLost |= !refused;
        } else if (status != have || offset != 0 || id >= SIZE || grefById[id] >= 0 && grefById[id] != ref) {
            reports.anomaly(q, Tap.RX, "rx.response_mismatch", slot, now);
            frameBad = true;
        } else if (have > 0) {
            if (frameStart < 0) {
                frameStart = start;
            } else if (frameStart + frameLen != start) {
                frameBad = true;
            }
            frameLen += have;
        }
        if (cHead == cTail && frameStart < 0) {
            write = 0;
        }
    }

    private void finishFrame(long now) {
        if (frameBad) {
            if (frameRefused) {
                reports.refused(q, 1);
            } else if (frameLost) {
                reports.lost(q, Tap.RX, 1);
            } else {
                reports.dropped(q, 1);
            }
        } else if (frameLen == 0) {
            reports.anomaly(q, Tap.RX, "rx.empty_packet", (rspSeen - 1) & MASK, now);
        } else {
            reports.emit(q, Tap.RX, buf, frameStart, frameLen, Math.max(framePeer, -1), frameChecked, now);
        }
        if (cHead == cTail) {
            write = 0;
        } else if (cHead - cTail < 0 && cPos[cHead & CMASK] > buf.length / 2) {
            compact();
        }
        frameStart = -1;
        frameLen = 0;
        framePeer = UNSET;
        frameBad = false;
        frameRefused = false;
        frameLost = false;
        frameFirst = true;
    }

    /** Buffers filled and not yet answered, with the packet being assembled (if any): at most one per chunk. */
    int unanswered() {
        int n = frameStart >= 0 || frameBad ? 1 : 0;
        for (int k = cHead; k != cTail; k++) {
            if (cOff[k & CMASK] == 0) {
                n++; // a chunk at offset 0 starts a buffer
            }
        }
        return n;
    }

    /** Moves the bytes of buffers not yet answered to the front of the buffer. */
    private void compact() {
        int from = cPos[cHead & CMASK];
        System.arraycopy(buf, from, buf, 0, write - from);
        write -= from;
        for (int k = cHead; k != cTail; k++) {
            cPos[k & CMASK] -= from;
        }
    }
}
