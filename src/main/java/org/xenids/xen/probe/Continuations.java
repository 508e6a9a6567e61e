package org.xenids.xen.probe;

import java.util.ArrayList;
import java.util.List;

/**
 * Grant-table calls Xen preempted (it returned the hypercall number: a continuation), kept until
 * the caller re-enters them. Xen re-enters a preempted call with the op array advanced past the
 * elements done and the count reduced by as many, but not necessarily next: dom0's netback RX
 * thread can be preempted in a copy batch while a softirq issues the TX copies. So a held call is
 * matched by caller, command, array address and count together, never by caller alone; an entry
 * that continues none of them is a new call and leaves them held. Bounded: past {@link #MAX_HELD}
 * the oldest is given up (its completed elements are lost, counted).
 */
final class Continuations {
    static final int MAX_HELD = 16;

    /** A preempted call: what was read of its op array at the preempted return. */
    record Held(XenProbe.Pending call, byte[] bytes, int n) {}

    /** A held call continued by an entry, with the number of its elements Xen completed. */
    record Resumed(Held held, int done) {}

    private final List<Held> held = new ArrayList<>();
    private long lost, resumed;

    /** Keeps a preempted call; returns false when the oldest had to be given up for it. */
    boolean hold(XenProbe.Pending call, byte[] bytes, int n) {
        boolean room = true;
        if (held.size() == MAX_HELD) {
            held.remove(0);
            lost++;
            room = false;
        }
        held.add(new Held(call, bytes, n));
        return room;
    }

    /**
     * The held call that an entry by {@code domid} ({@code op}, {@code cmd}, array at {@code args},
     * {@code count} elements) continues, removed from the held ones; null when it is a new call.
     */
    Resumed resume(int domid, int op, int cmd, long args, int count) {
        for (int i = held.size() - 1; i >= 0; i--) {
            Held h = held.get(i);
            XenProbe.Pending p = h.call();
            if (p.domid() != domid || p.op() != op || p.cmd() != cmd || p.structSize() == 0) {
                continue;
            }
            long advance = args - p.argsAddr();
            if (advance < 0 || advance % p.structSize() != 0) {
                continue;
            }
            long done = advance / p.structSize();
            if (done > h.n() || (long) count != p.count() - done) {
                continue;
            }
            held.remove(i);
            resumed++;
            return new Resumed(h, (int) done);
        }
        return null;
    }

    /** Held calls given up (evicted, or still held at the end): their completed elements were not delivered. */
    long lost() {
        return lost + held.size();
    }

    long resumed() {
        return resumed;
    }
}
