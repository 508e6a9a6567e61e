package org.xenids.xen.emu;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Netif.Sring;

/**
 * One netfront queue (Linux's struct netfront_queue): its two rings, event channels, grant refs
 * and buffer pages. {@link Netfront} connects and tears it down, {@link NetfrontTx} and
 * {@link NetfrontRx} move the frames.
 */
final class NetfrontQueue {
    static final int RING = Sring.TX_SIZE;

    final int txRefBase, rxRefBase, txRingRef, rxRingRef;
    final long txFrame, rxFrame;
    final MemorySegment tx, rx;
    /** The backend's domid (xbdev->otherend_id), read at each connect. */
    int backend;
    int txPort, rxPort;
    int txReqProdPvt, txRspCons, rxReqProdPvt, rxRspCons;
    final long[] txPage = new long[RING];
    final long[] rxPage = new long[RING];
    final int[] txFreeIds = new int[RING];
    int txFree;
    /** TX_PENDING: an id whose request was published and not yet answered. */
    final boolean[] txPending = new boolean[RING];
    long sent;

    /** Claims the queue's grant refs (RING TX, RING RX, then the two ring pages) and ring pages. */
    NetfrontQueue(Domain guest) {
        txRefBase = guest.claimGrantRefs(RING);
        rxRefBase = guest.claimGrantRefs(RING);
        txFrame = guest.allocFrame();
        rxFrame = guest.allocFrame();
        tx = guest.page(txFrame);
        rx = guest.page(rxFrame);
        txRingRef = guest.claimGrantRefs(1);
        rxRingRef = guest.claimGrantRefs(1);
    }
}
