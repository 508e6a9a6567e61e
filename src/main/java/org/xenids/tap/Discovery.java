package org.xenids.tap;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;

/**
 * Finds vif rings in the stream, from nothing but hypercalls and the pages they name:
 * a frontend's {@code alloc_unbound} (its port, the backend it names), the backend's writable
 * {@code map_grant_ref} of two of the frontend's grants, and the {@code bind_interdomain} calls
 * that follow them. The two mapped pages are told apart by content: a freshly connected RX ring
 * holds the guest's posted buffers (8-byte requests with distinct ids), a TX ring none; only when
 * both pages are equally plausible is Linux's order (TX mapped first) used, and counted.
 * Queues whose rings are mapped back to back by one backend are queues of one vif.
 *
 * <p>Not every map-then-bind is a vif: the toolstack maps a new guest's XenStore and console
 * pages (each twice, kernel and user space, grant refs 1 and 0) and binds their event channels
 * the same way. What tells them apart must be what the guest cannot forge, since a guest that
 * made its vif look like something else would blind the tap: a vif's channel is one the frontend
 * opened itself ({@code alloc_unbound} called by the frontend), while the toolstack opens the
 * XenStore and console channels on the guest's behalf (called by dom0 naming the guest); and
 * netback maps TX and RX with one single-page map call each, while a multi-page ring (a block
 * device's) comes in one call of several pages. Pairs failing these are rejected and counted by
 * reason ({@link #rejected}). The pages' contents are the guest's to write, so they only raise
 * anomalies ({@code xen.ring} {@code setup.*}) on a pair taken: a reserved grant ref (netfront
 * never uses refs 0–7), both rings on one page, or a page that is not an initialised shared-ring
 * header ({@code io/ring.h}: indices at 0–15, at most one ring of outstanding requests, zero
 * padding to byte 64, events set by {@code SHARED_RING_INIT}; a XenStore or console page has
 * character buffers there and its indices at 2048 or 3072).
 */
final class Discovery {
    /** Candidate ring maps kept per backend/frontend pair; older ones are dropped (counted). */
    private static final int MAX_PENDING_MAPS = 16;

    private final Tap tap;
    /** (owner << 32 | port) → remote domain, plus {@link #OPENED_BY_OWNER} when the owner itself opened it. */
    private final Map<Long, Integer> unbound = new HashMap<>();
    private static final int OPENED_BY_OWNER = 1 << 16;
    private final Map<Integer, ArrayDeque<long[]>> pendingMaps = new HashMap<>();
    private final Map<Integer, VifQueue> lastGroup = new HashMap<>();
    final List<VifQueue> queues = new ArrayList<>();
    long droppedCandidates, unpairedBinds, assumedByOrder;
    /** Pairs not taken as netif rings, by reason: {@link #R_TOOLSTACK_CHANNEL}, {@link #R_MULTI_PAGE_MAP}. */
    final long[] rejected = new long[2];
    static final int R_TOOLSTACK_CHANNEL = 0, R_MULTI_PAGE_MAP = 1;
    /** Binds of a split pair's second channel come within this many calls of the first. */
    private static final int SPLIT_WINDOW = 64;
    private final MemorySegment page = MemorySegment.ofArray(new byte[4096]);

    Discovery(Tap tap) {
        this.tap = tap;
    }

    /** {@code caller} opened {@code dom}'s unbound {@code port} for {@code remote}. */
    void allocUnbound(int caller, int dom, int remote, int port) {
        unbound.put(((long) dom << 32) | (port & 0xffffffffL), (remote & 0xffff) | (caller == dom ? OPENED_BY_OWNER : 0));
    }

    /**
     * A successful writable map by {@code backend} of {@code front}'s grant {@code ref} (maptrack
     * {@code handle}), one of the {@code pages} of its map call: maybe a ring page.
     */
    void ringCandidate(int backend, int front, int ref, long frame, long seq, int handle, int pages) {
        ArrayDeque<long[]> q = pendingMaps.computeIfAbsent(key(backend, front), k -> new ArrayDeque<>());
        if (q.size() == MAX_PENDING_MAPS) {
            q.pollFirst();
            droppedCandidates++;
        }
        q.addLast(new long[] {ref, frame, seq, handle, pages});
    }

    /** {@code backend} bound its {@code localPort} to {@code front}'s {@code remotePort}. */
    void bound(int backend, int front, int remotePort, int localPort, long seq, long now) {
        Integer opened = unbound.remove(((long) front << 32) | (remotePort & 0xffffffffL));
        if (opened != null && (opened & 0xffff) != backend) {
            unpairedBinds++;
            return;
        }
        // null: the channel was opened before the tap started (then nothing can tell; taken)
        boolean byToolstack = opened != null && (opened & OPENED_BY_OWNER) == 0;
        int k = key(backend, front);
        VifQueue g = lastGroup.get(k);
        ArrayDeque<long[]> maps = pendingMaps.get(k);
        boolean noNewRings = maps == null || maps.size() < 2;
        if (g != null && !g.split && opened != null && !byToolstack && noNewRings && seq - g.lastSeq <= SPLIT_WINDOW
                && g.backTxPort == g.backRxPort) {
            // A second channel to a port the frontend opened for this backend, soon after the
            // first and with no new ring pages: split event channels (event-channel-tx, -rx).
            g.split = true;
            g.backRxPort = localPort;
            g.frontRxPort = remotePort;
            g.lastSeq = seq;
            tap.portBound(g, backend, localPort);
            tap.portBound(g, front, remotePort);
            return;
        }
        if (noNewRings) {
            unpairedBinds++;
            return;
        }
        long[] b = maps.pollLast();
        long[] a = maps.pollLast();
        maps.clear();
        if (byToolstack || a[4] != 1 || b[4] != 1) {
            rejected[byToolstack ? R_TOOLSTACK_CHANNEL : R_MULTI_PAGE_MAP]++;
            return;
        }
        int queue = 0;
        int vif;
        if (g != null && a[2] == g.lastSeq + 1) {
            vif = g.vif;
            queue = g.queue + 1;
        } else {
            vif = tap.freeVif(front);
        }
        VifQueue vq = new VifQueue(front, backend, vif, queue);
        int ra = rxScore(front, a[1]);
        int rb = rxScore(front, b[1]);
        long txFrame = a[1];
        long rxFrame = b[1];
        if (ra > rb) {
            txFrame = b[1];
            rxFrame = a[1];
        }
        vq.byContent = ra != rb;
        if (!vq.byContent) {
            assumedByOrder++;
        }
        vq.txHandle = (int) (txFrame == a[1] ? a[3] : b[3]);
        vq.rxHandle = (int) (txFrame == a[1] ? b[3] : a[3]);
        vq.tx = new TxRing(tap, vq, txFrame);
        vq.rx = new RxRing(tap, vq, rxFrame);
        vq.backTxPort = vq.backRxPort = localPort;
        vq.frontTxPort = vq.frontRxPort = remotePort;
        vq.lastSeq = seq;
        lastGroup.put(k, vq);
        queues.add(vq);
        tap.ringsFound(vq);
        setupAnomalies(vq, a, b, txFrame == a[1], now);
        vq.rx.refresh(seq, now);
        tap.portBound(vq, backend, localPort);
        tap.portBound(vq, front, remotePort);
    }

    /** The guest's own oddities in a pair taken as its rings (see the class comment): anomalies, counted. */
    private void setupAnomalies(VifQueue vq, long[] a, long[] b, boolean aIsTx, long now) {
        for (long[] m : new long[][] {a, b}) {
            int dir = (m == a) == aIsTx ? Tap.TX : Tap.RX;
            if (m[0] < org.xenids.xen.abi.Xen.GNTTAB_NR_RESERVED_ENTRIES) {
                tap.reports.anomaly(vq, dir, "setup.reserved_gref", (int) m[0], now);
            }
            int shape = ringShape(vq.front, m[1]);
            if (shape == NOT_A_RING) {
                tap.reports.anomaly(vq, dir, "setup.not_a_ring_header", (int) m[0], now);
            }
        }
        if (a[0] == b[0] || a[1] == b[1]) {
            tap.reports.anomaly(vq, Tap.TX, "setup.rings_share_a_page", (int) a[0], now);
        }
    }

    private static final int NOT_A_RING = 1, UNREADABLE = 2;

    /**
     * 0 when the page's first 64 bytes are an initialised shared-ring header (see the class
     * comment), else {@link #NOT_A_RING} or {@link #UNREADABLE} (counted by the tap as a failed
     * read). Both netif rings have 256 slots.
     */
    private int ringShape(int front, long frame) {
        // the whole page: a recorded trace then keeps it for any later check
        if (!tap.mem.read(front, frame, 0, page, 0, 4096)) {
            return UNREADABLE;
        }
        for (int i = 16; i < Netif.Sring.RING; i += 4) {
            if (Le.u32(page, i) != 0) {
                return NOT_A_RING;
            }
        }
        int reqProd = Le.u32(page, Netif.Sring.REQ_PROD), reqEvent = Le.u32(page, Netif.Sring.REQ_EVENT);
        int rspProd = Le.u32(page, Netif.Sring.RSP_PROD), rspEvent = Le.u32(page, Netif.Sring.RSP_EVENT);
        int outstanding = reqProd - rspProd;
        if (outstanding < 0 || outstanding > RxRing.SIZE || reqEvent == 0 && rspEvent == 0
                || Math.abs(reqEvent - reqProd) > 2 * RxRing.SIZE || Math.abs(rspEvent - rspProd) > 2 * RxRing.SIZE) {
            return NOT_A_RING;
        }
        return 0;
    }

    /**
     * How much a page looks like a connected RX ring: 2 when it holds 1..256 posted 8-byte
     * requests with ids below 256, zero padding, non-reserved grant refs and no id twice;
     * 0 otherwise (empty, unreadable, or TX-shaped).
     */
    private int rxScore(int front, long frame) {
        if (!tap.mem.read(front, frame, 0, page, 0, 16)) {
            return 0;
        }
        int prod = Le.u32(page, Netif.Sring.REQ_PROD);
        int rsp = Le.u32(page, Netif.Sring.RSP_PROD);
        int pending = prod - rsp;
        if (pending <= 0 || pending > RxRing.SIZE) {
            return 0;
        }
        if (!tap.mem.read(front, frame, Netif.Sring.RING, page, Netif.Sring.RING, RxRing.SIZE * Netif.RxRequest.SIZE)) {
            return 0;
        }
        boolean[] seen = new boolean[RxRing.SIZE];
        for (int i = rsp; i != prod; i++) {
            long at = Netif.Sring.RING + (long) (i & RxRing.MASK) * Netif.RxRequest.SIZE;
            int id = Le.u16(page, at);
            int pad = Le.u16(page, at + 2);
            int gref = Le.u32(page, at + Netif.RxRequest.GREF);
            if (id >= RxRing.SIZE || pad != 0 || seen[id]
                    || Integer.compareUnsigned(gref, org.xenids.xen.abi.Xen.GNTTAB_NR_RESERVED_ENTRIES) < 0) {
                return 0;
            }
            seen[id] = true;
        }
        return 2;
    }

    private static int key(int backend, int front) {
        return (backend << 16) | front;
    }
}
