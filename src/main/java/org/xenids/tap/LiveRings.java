package org.xenids.tap;

import static org.xenids.xen.abi.Xen.DOMID_FIRST_RESERVED;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tap's table of live vif queues: by frontend domain (for classifying ops by grant ref), by
 * event-channel port of either end and by the backend's maptrack handles of the ring-page maps
 * (for following sends and teardown). A queue is added when discovery pairs its rings and
 * removed when the backend lets go of them; slots are reused, so the table's size follows the
 * most queues live at once, never the traffic nor the number of reconnects.
 */
final class LiveRings {
    // Indexed by domid, grown to the largest frontend seen: a tap's setup stays small.
    private VifQueue[][] byFront = new VifQueue[16][];
    private final LongIntMap ports = new LongIntMap();
    private final LongIntMap ringHandles = new LongIntMap();
    private VifQueue[] slots = new VifQueue[8];
    // Recent port look-ups, direct-mapped (every event-channel send asks; a host has few live
    // ports): key and slot, emptied whenever a port is bound or released. Empty keys are −1.
    private static final int PORT_CACHE = 64;
    private final long[] portKey = new long[PORT_CACHE];
    private final int[] portSlot = new int[PORT_CACHE];
    private final List<VifQueue> live = new ArrayList<>();
    long retired;

    LiveRings() {
        Arrays.fill(portKey, -1);
    }

    void add(VifQueue q) {
        int s = 0;
        while (s < slots.length && slots[s] != null) {
            s++;
        }
        if (s == slots.length) {
            slots = Arrays.copyOf(slots, slots.length * 2);
        }
        slots[s] = q;
        q.slot = s;
        live.add(q);
        if (q.front >= byFront.length) {
            byFront = Arrays.copyOf(byFront, Math.min(DOMID_FIRST_RESERVED, Integer.highestOneBit(q.front) << 1));
        }
        VifQueue[] old = byFront[q.front];
        VifQueue[] now = old == null ? new VifQueue[1] : Arrays.copyOf(old, old.length + 1);
        now[now.length - 1] = q;
        byFront[q.front] = now;
        if (q.txHandle >= 0) {
            ringHandles.put(key(q.backend, q.txHandle), s);
        }
        if (q.rxHandle >= 0) {
            ringHandles.put(key(q.backend, q.rxHandle), s);
        }
    }

    void portBound(VifQueue q, int domid, int port) {
        ports.put(key(domid, port), q.slot);
        Arrays.fill(portKey, -1);
    }

    /** The live queues of frontend {@code domid}, or null. */
    VifQueue[] of(int domid) {
        return domid >= 0 && domid < byFront.length ? byFront[domid] : null;
    }

    /** The live queue one of whose ends has {@code port} in {@code domid}, or null. */
    VifQueue byPort(int domid, int port) {
        long k = key(domid, port);
        int c = (int) (k * 0x9E3779B97F4A7C15L >>> 58);
        if (portKey[c] != k) {
            portSlot[c] = ports.get(k, -1);
            portKey[c] = k;
        }
        return slot(portSlot[c]);
    }

    /** The live queue whose ring page {@code backend} mapped under {@code handle}, or null. */
    VifQueue byHandle(int backend, int handle) {
        return slot(ringHandles.get(key(backend, handle), -1));
    }

    /** The lowest vif number of {@code front} with no live queue (a reconnected vif gets its number back). */
    int freeVif(int front) {
        VifQueue[] qs = of(front);
        for (int v = 0; ; v++) {
            boolean used = false;
            for (int i = 0; qs != null && i < qs.length && !used; i++) {
                used = qs[i].vif == v;
            }
            if (!used) {
                return v;
            }
        }
    }

    /** Forgets {@code q}: its ports and handles stop naming it and its rings are released. */
    void remove(VifQueue q) {
        ports.put(key(q.backend, q.backTxPort), -1);
        ports.put(key(q.backend, q.backRxPort), -1);
        ports.put(key(q.front, q.frontTxPort), -1);
        ports.put(key(q.front, q.frontRxPort), -1);
        Arrays.fill(portKey, -1);
        ringHandles.put(key(q.backend, q.txHandle), -1);
        ringHandles.put(key(q.backend, q.rxHandle), -1);
        VifQueue[] old = byFront[q.front];
        VifQueue[] now = new VifQueue[old.length - 1];
        for (int i = 0, j = 0; i < old.length; i++) {
            if (old[i] != q) {
                now[j++] = old[i];
            }
        }
        byFront[q.front] = now.length == 0 ? null : now;
        slots[q.slot] = null;
        q.slot = -1;
        live.remove(q);
        q.tx = null;
        q.rx = null;
        retired++;
    }

    /** The live queues in discovery order. */
    List<VifQueue> live() {
        return live;
    }

    int capacity() {
        return slots.length;
    }

    private VifQueue slot(int s) {
        return s >= 0 && s < slots.length ? slots[s] : null;
    }

    private static long key(int domid, int n) {
        return ((long) domid << 32) | (n & 0xffffffffL);
    }
}
