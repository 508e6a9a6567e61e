package org.xenids.tap;

/** One queue of a vif as discovered from the stream: its two rings and the event-channel ports of both ends. */
final class VifQueue {
    final int front, backend, vif, queue;
    final String txName, rxName;
    TxRing tx;
    RxRing rx;
    int backTxPort, backRxPort, frontTxPort, frontRxPort;
    long lastSeq;
    /** The backend's maptrack handles of the two ring-page maps (its unmap retires the queue). */
    int txHandle = -1, rxHandle = -1;
    /** Index in the tap's table of live queues. */
    int slot = -1;
    boolean split;
    /** Whether TX and RX were told apart by the pages' contents (false: by Linux's mapping order). */
    boolean byContent;
    /** The frontend domain's counters ({@code Tap.C_*}), the tap's own array, kept here once first counted. */
    long[] counters;
    /** Its frames lost, once one was (see {@link Reports#lost}). */
    Reports.RingLosses losses;

    VifQueue(int front, int backend, int vif, int queue) {
        this.front = front;
        this.backend = backend;
        this.vif = vif;
        this.queue = queue;
        String base = "dom" + front + "/vif" + vif + (queue == 0 ? "" : "/q" + queue);
        this.txName = base + "/tx";
        this.rxName = base + "/rx";
    }

    /** A ring pair's (domid, vif, queue) as one key: domid_t is 16 bits, a vif 32, a queue far under 2^16. */
    static long key(int front, int vif, int queue) {
        return (long) (front & 0xffff) << 48 | (vif & 0xffffffffL) << 16 | (queue & 0xffff);
    }

    String name(int direction) {
        return direction == Tap.TX ? txName : rxName;
    }
}
