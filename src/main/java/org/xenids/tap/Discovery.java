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
 */
final class Discovery {
    /** Candidate ring maps kept per backend/frontend pair; older ones are dropped (counted). */
    private static final int MAX_PENDING_MAPS = 16;

    private final Tap tap;
    private final Map<Long, Integer> unbound = new HashMap<>();
    private final Map<Integer, ArrayDeque<long[]>> pendingMaps = new HashMap<>();
    private final Map<Integer, VifQueue> lastGroup = new HashMap<>();
    final List<VifQueue> queues = new ArrayList<>();
    long droppedCandidates, unpairedBinds, assumedByOrder;
    private final MemorySegment page = MemorySegment.ofArray(new byte[4096]);

    Discovery(Tap tap) {
        this.tap = tap;
    }

    void allocUnbound(int dom, int remote, int port) {
        unbound.put(((long) dom << 32) | (port & 0xffffffffL), remote);
    }

    /** A successful writable map by {@code backend} of {@code front}'s grant {@code ref}: maybe a ring page. */
    void ringCandidate(int backend, int front, int ref, long frame, long seq, int handle) {
        ArrayDeque<long[]> q = pendingMaps.computeIfAbsent(key(backend, front), k -> new ArrayDeque<>());
        if (q.size() == MAX_PENDING_MAPS) {
            q.pollFirst();
            droppedCandidates++;
        }
        q.addLast(new long[] {ref, frame, seq, handle});
    }

    /** {@code backend} bound its {@code localPort} to {@code front}'s {@code remotePort}. */
    void bound(int backend, int front, int remotePort, int localPort, long seq, long now) {
        Integer remote = unbound.remove(((long) front << 32) | (remotePort & 0xffffffffL));
        if (remote != null && remote != backend) {
            unpairedBinds++;
            return;
        }
        int k = key(backend, front);
        VifQueue g = lastGroup.get(k);
        if (g != null && !g.split && g.lastSeq == seq - 1 && g.backTxPort == g.backRxPort) {
            // The second bind right after the first: split event channels (event-channel-tx, -rx).
            g.split = true;
            g.backRxPort = localPort;
            g.frontRxPort = remotePort;
            g.lastSeq = seq;
            tap.portBound(g, backend, localPort);
            tap.portBound(g, front, remotePort);
            return;
        }
        ArrayDeque<long[]> maps = pendingMaps.get(k);
        if (maps == null || maps.size() < 2) {
            unpairedBinds++;
            return;
        }
        long[] b = maps.pollLast();
        long[] a = maps.pollLast();
        maps.clear();
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
        vq.rx.refresh(seq, now);
        tap.portBound(vq, backend, localPort);
        tap.portBound(vq, front, remotePort);
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
