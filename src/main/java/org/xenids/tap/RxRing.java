package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;

/**
 * One RX ring (backend→guest) as the tap follows it: the buffers the guest posts (id, grant ref),
 * the backend's copies into them (matched by destination grant ref, in posting order), and the
 * responses that say how many bytes of which buffers make one packet. Copied bytes are read from
 * the copy's source when the copy completes and kept in order in one per-ring buffer until the
 * responses complete the packet; that buffer is bounded by the ring (256 pages).
 */
final class RxRing {
    static final int SIZE = Netif.Sring.RX_SIZE, MASK = SIZE - 1;
    private static final int ENTRY = Netif.RxRequest.SIZE;
    private static final int MAX_BUF = SIZE * 4096 + 4096;

    final VifQueue q;
    final long frame;
    private final Tap tap;
    private final MemorySegment local = MemorySegment.ofArray(new byte[4096]);
    private final MemorySegment[] entries = new MemorySegment[SIZE];
    private final MemorySegment header = local.asSlice(0, 16);
    boolean broken;
    private int reqSeen, rspSeen, fill, reqProd;
    private boolean fillStarted;
    private long refreshedSeq = -1;

    private final int[] gref = new int[SIZE];
    private final int[] start = new int[SIZE];
    private final int[] len = new int[SIZE];
    private final boolean[] failed = new boolean[SIZE];
    private final boolean[] refusedSlot = new boolean[SIZE];
    private final int[] peer = new int[SIZE];
    private byte[] buf = new byte[16384];
    private MemorySegment bufSeg = MemorySegment.ofArray(buf);
    private int write;

    // The packet being assembled from responses.
    private int frameStart = -1, frameLen, framePeer = -1, extraLeft;
    private boolean frameBad, frameRefused, frameFirst = true;

    RxRing(Tap tap, VifQueue q, long frame) {
        this.tap = tap;
        this.q = q;
        this.frame = frame;
        for (int i = 0; i < SIZE; i++) {
            entries[i] = local.asSlice(Netif.Sring.RING + (long) i * ENTRY, ENTRY);
        }
    }

    /** Reads newly posted requests (their grant refs) once per hypercall. */
    void refresh(long seq, long now) {
        if (broken || refreshedSeq == seq) {
            return;
        }
        refreshedSeq = seq;
        if (!tap.mem.read(q.front, frame, 0, header, 0, 16)) {
            return;
        }
        int prod = Le.u32(local, Netif.Sring.REQ_PROD);
        if (prod - rspSeen > SIZE || prod - reqSeen < 0) {
            tap.anomaly(q, Tap.RX, "rx.req_prod_overrun", prod & MASK, now);
            broken = true;
            return;
        }
        for (int i = reqSeen; i != prod; i++) {
            int s = i & MASK;
            if (!tap.mem.read(q.front, frame, Netif.Sring.RING + s * ENTRY, entries[s], 0, ENTRY)) {
                return;
            }
            gref[s] = Le.u32(local, Netif.Sring.RING + (long) s * ENTRY + Netif.RxRequest.GREF);
            len[s] = 0;
            failed[s] = false;
            refusedSlot[s] = false;
            peer[s] = -1;
            start[s] = -1;
            reqSeen = i + 1;
        }
        reqProd = prod;
    }

    /** The posted request index whose buffer is {@code ref}, searching from the fill point; −1 if none. */
    int find(int ref) {
        int from = fillStarted ? fill : rspSeen;
        for (int i = from; i != reqSeen; i++) {
            if (gref[i & MASK] == ref) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A completed copy into request {@code idx}'s buffer at {@code dstOff}: the bytes are read from
     * the source (domid, frame, offset) now. {@code srcPeer} is the sending guest when the source
     * is another guest's grant or a head the tap saw it transmit.
     */
    void copied(int idx, int dstOff, int n, int status, boolean refused, int srcDom, long srcFrame, int srcOff,
                int srcPeer, long now) {
        if (idx - fill > 0 || !fillStarted) {
            fill = idx;
            fillStarted = true;
        }
        int s = idx & MASK;
        if (status != GNTST_okay || srcFrame < 0) {
            failed[s] = true;
            refusedSlot[s] |= refused;
            return;
        }
        if (start[s] < 0) {
            start[s] = write;
        }
        if (dstOff != len[s] || start[s] + len[s] != write) {
            // Copies into one buffer arrive in order and buffers are filled one after another;
            // anything else is not a layout the tap can rebuild without guessing.
            tap.anomaly(q, Tap.RX, "rx.copy_out_of_order", s, now);
            failed[s] = true;
            return;
        }
        if (write + n > buf.length) {
            if (write + n > MAX_BUF) {
                failed[s] = true;
                return;
            }
            buf = java.util.Arrays.copyOf(buf, Math.min(MAX_BUF, Math.max(buf.length * 2, write + n)));
            bufSeg = MemorySegment.ofArray(buf);
        }
        if (!tap.mem.read(srcDom, srcFrame, srcOff, bufSeg, write, n)) {
            failed[s] = true;
            return;
        }
        write += n;
        len[s] += n;
        if (srcPeer >= 0) {
            peer[s] = srcPeer;
        }
    }

    /** Consumes the responses published since the last look: each whole packet is emitted. */
    void responses(long seq, long now) {
        refresh(seq, now);
        if (broken) {
            return;
        }
        int prod = Le.u32(local, Netif.Sring.RSP_PROD);
        if (prod - rspSeen > SIZE || prod - reqSeen > 0) {
            tap.anomaly(q, Tap.RX, "rx.rsp_prod_overrun", prod & MASK, now);
            broken = true;
            return;
        }
        int consumedTo = -1;
        for (int i = rspSeen; i != prod; i++) {
            int s = i & MASK;
            long at = Netif.Sring.RING + (long) s * ENTRY;
            if (!tap.mem.read(q.front, frame, (int) at, entries[s], 0, ENTRY)) {
                return;
            }
            rspSeen = i + 1;
            if (extraLeft > 0) {
                int exFlags = Le.u8(local, at + Netif.ExtraInfo.FLAGS);
                if ((exFlags & XEN_NETIF_EXTRA_FLAG_MORE) == 0) {
                    extraLeft = 0;
                }
                continue;
            }
            int flags = Le.u16(local, at + Netif.RxResponse.FLAGS);
            int status = Le.s16(local, at + Netif.RxResponse.STATUS);
            int offset = Le.u16(local, at + Netif.RxResponse.OFFSET);
            if (start[s] >= 0) {
                consumedTo = Math.max(consumedTo, start[s] + len[s]);
            }
            if (status < 0 || failed[s]) {
                frameBad = true;
                frameRefused |= refusedSlot[s];
            } else if (offset != 0 || status != len[s]) {
                tap.anomaly(q, Tap.RX, "rx.response_mismatch", s, now);
                frameBad = true;
            } else if (len[s] > 0) {
                if (frameStart < 0) {
                    frameStart = start[s];
                } else if (frameStart + frameLen != start[s]) {
                    frameBad = true;
                }
                frameLen += len[s];
                if (peer[s] >= 0) {
                    framePeer = peer[s];
                }
            }
            if (frameFirst && (flags & NETRXF_extra_info) != 0) {
                extraLeft = 1;
            }
            frameFirst = false;
            if ((flags & NETRXF_more_data) == 0) {
                finishFrame(now);
            }
        }
        if (frameStart >= 0) {
            consumedTo = frameStart;
        }
        if (consumedTo > 0) {
            compact(consumedTo);
            if (frameStart >= 0) {
                frameStart -= consumedTo;
            }
        }
    }

    private void finishFrame(long now) {
        if (frameBad) {
            if (frameRefused) {
                tap.refused(q, 1);
            } else {
                tap.dropped(q, 1);
            }
        } else if (frameLen == 0) {
            tap.anomaly(q, Tap.RX, "rx.empty_packet", (rspSeen - 1) & MASK, now);
        } else {
            tap.emit(q, Tap.RX, buf, frameStart, frameLen, framePeer, now);
        }
        frameStart = -1;
        frameLen = 0;
        framePeer = -1;
        frameBad = false;
        frameRefused = false;
        frameFirst = true;
    }

    /** Drops the bytes of emitted packets: what later buffers hold moves to the front. */
    private void compact(int upTo) {
        int keep = write - upTo;
        if (keep > 0) {
            System.arraycopy(buf, upTo, buf, 0, keep);
        }
        write = keep;
        for (int i = rspSeen; i != reqSeen; i++) {
            int s = i & MASK;
            if (start[s] >= 0) {
                start[s] -= upTo;
            }
        }
    }
}
