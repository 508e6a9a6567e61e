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
 * one is given up (its completed elements are lost, counted): the oldest of the domain holding
 * the most. A domain holds at most one per vCPU; a guest with many, all preempted at once, so
 * gives up its own calls and never dom0's netback batch.
 */
final class Continuations {
    static final int MAX_HELD = 16;

    /** A preempted call: what was read of its op array at the preempted return. */
    record Held(XenProbe.Pending call, byte[] bytes, int n) {}

    /** A held call continued by an entry, with the number of its elements Xen completed. */
    record Resumed(Held held, int done) {}

    private final List<Held> held = new ArrayList<>();
    private long lost, resumed;

    /** Keeps a preempted call; returns false when one had to be given up for it (the busiest domain's oldest). */
    boolean hold(XenProbe.Pending call, byte[] bytes, int n) {
        held.add(new Held(call, bytes, n));
        if (held.size() <= MAX_HELD) {
            return true;
        }
        held.remove(oldestOfBusiest());
        lost++;
        return false;
    }

    /** Index of the oldest held call of the domain with the most held calls (the first such domain met). */
    private int oldestOfBusiest() {
        int busiest = -1, most = 0;
        for (Held h : held) {
            int d = h.call().domid(), k = 0;
            for (Held o : held) {
                k += o.call().domid() == d ? 1 : 0;
            }
            if (k > most) {
                most = k;
                busiest = d;
            }
        }
        for (int i = 0; ; i++) {
            if (held.get(i).call().domid() == busiest) {
                return i;
            }
        }
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
