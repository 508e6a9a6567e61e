package org.xenids.tap;

import static org.xenids.tap.Tap.*;
import static org.xenids.xen.abi.Xen.*;

import java.util.List;
import java.util.function.Consumer;
import org.xenids.alert.EveEvent;

/**
 * What the tap reports: rebuilt frames to the {@link Tap.FrameSink}, {@code xen.ring} anomalies to
 * their consumer, and the per-domain counters ({@link Tap#counters()}) of those and of the drops,
 * refusals, losses and unclassified ops. Apart from {@link Tap}, which follows the hypercall
 * stream, because the rings, discovery and the grant-op classification report here directly: each
 * holds this as it holds the tap, so a frame goes from its ring to the sink through one call.
 */
final class Reports {
    private final FrameSink sink;
    private final Consumer<EveEvent.Anomaly> anomalies;
    private final DomainCounters counters = new DomainCounters();
    long unclassifiedTotal;
    long multicastCommands;

    Reports(FrameSink sink, Consumer<EveEvent.Anomaly> anomalies) {
        this.sink = sink;
        this.anomalies = anomalies;
    }

    void emit(VifQueue q, int dir, byte[] buf, int off, int len, int peer, boolean l4Checked, long now) {
        long[] c = counters(q);
        c[C_FRAMES]++;
        c[C_BYTES] += len;
        sink.frame(buf, off, len, q.front, q.vif, q.queue, dir, peer, l4Checked, now);
    }

    void anomaly(VifQueue q, int dir, String event, int slot, long now) {
        counters(q)[C_ANOMALIES]++;
        if (anomalies != null) {
            anomalies.accept(new EveEvent.Anomaly(now, 0, null, "xen.ring", event, "xen", slot, q.name(dir)));
        }
    }

    /**
     * A copy or map of a guest's slot that Xen failed (and the tap did not refuse): the guest's
     * grant was out of its table, not granted to the backend, or not its page.
     */
    void grantFailure(VifQueue q, int dir, int status, int slot, long now) {
        String side = dir == TX ? "tx." : "rx.";
        String event = switch (status) {
            case GNTST_bad_gntref -> "gref_out_of_range";
            case GNTST_general_error, GNTST_permission_denied, GNTST_bad_domain -> "gref_not_granted";
            case GNTST_bad_page -> "gref_bad_page";
            default -> "grant_op_failed";
        };
        anomaly(q, dir, side + event, slot, now);
    }

    /** A TX request that was a multicast-filter command, not a packet (nothing to rebuild). */
    void multicastCommand() {
        multicastCommands++;
    }

    void dropped(VifQueue q, int n) {
        counters(q)[C_DROPS] += n;
    }

    void refused(VifQueue q, int n) {
        counters(q)[C_REFUSED] += n;
    }

    void lost(VifQueue q, int dir, int n) {
        counters(q)[C_LOST] += n;
        RingLosses l = q.losses;
        if (l == null) {
            l = q.losses = losses.computeIfAbsent(VifQueue.key(q.front, q.vif, q.queue),
                    k -> new RingLosses(q.front, q.vif, q.queue));
        }
        l.lost[dir & 1] += n;
    }

    /**
     * Frames lost by ring pair, made at its first loss and kept on its queue: by (domid, vif,
     * queue), so that a vif reconnected under the same numbers adds to the same interface.
     */
    private final java.util.Map<Long, RingLosses> losses = new java.util.LinkedHashMap<>();

    static final class RingLosses {
        final int front, vif, queue;
        /** By direction, {@link Tap#TX} and {@link Tap#RX}. */
        final long[] lost = new long[2];

        RingLosses(int front, int vif, int queue) {
            this.front = front;
            this.vif = vif;
            this.queue = queue;
        }
    }

    /** Each ring's frames not rebuilt: those lost, and those the {@code live} queues hold in part now. */
    List<RingLoss> ringLosses(Iterable<VifQueue> live) {
        java.util.Map<Long, long[]> held = new java.util.LinkedHashMap<>();
        for (VifQueue q : live) {
            held.put(VifQueue.key(q.front, q.vif, q.queue), new long[] {q.tx.pendingPackets(), q.rx.unanswered()});
        }
        List<RingLoss> out = new java.util.ArrayList<>();
        for (var e : losses.entrySet()) {
            RingLosses l = e.getValue();
            long[] h = held.remove(e.getKey());
            for (int dir = TX; dir <= RX; dir++) {
                long inFlight = h == null ? 0 : h[dir];
                if (l.lost[dir] + inFlight > 0) {
                    out.add(new RingLoss(l.front, l.vif, l.queue, dir, l.lost[dir], inFlight));
                }
            }
        }
        for (var e : held.entrySet()) {
            long k = e.getKey();
            for (int dir = TX; dir <= RX; dir++) {
                if (e.getValue()[dir] > 0) {
                    out.add(new RingLoss((int) (k >>> 48), (int) (k >>> 16), (int) (k & 0xffff), dir, 0, e.getValue()[dir]));
                }
            }
        }
        return out;
    }

    void unclassified(int domid) {
        unclassifiedTotal++;
        count(domid, C_UNCLASSIFIED);
    }

    void count(int domid, int which) {
        counters.of(domid)[which]++;
    }

    /** A queue's frontend's counters, kept on the queue (the same array its domid's count goes to). */
    long[] counters(VifQueue q) {
        long[] c = q.counters;
        return c != null ? c : (q.counters = counters.of(q.front));
    }

    /** Counters of every domain seen, by domid. */
    List<Counters> counters() {
        return counters.report();
    }
}
