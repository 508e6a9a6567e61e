package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.Hypercall;

/**
 * Each completed hypercall taken apart into its ops, in order, for the tap's stages: event-channel
 * ops to {@link EventChannels}, grant copies and maps to {@link GrantOps} (with the call's start
 * and end, by which a batch's packets are decided), unmaps and table set-ups here. A trace's call
 * is decoded where its bytes lie; a live host's op array is copied into the tap's own array first,
 * as it is a view of memory the host reuses.
 */
final class Calls {
    private final Tap tap;
    private final GrantOps grantOps;
    private final EventChannels events;
    private final Prevention prevention;
    private final LiveRings live;
    /** A live host's op array, a chunk at a time (a trace's is decoded where it lies). */
    private final byte[] args = new byte[4096];
    /** {@link #args} as a segment: a segment-to-segment copy skips the array-type dispatch of a segment-to-array one. */
    private final MemorySegment argsSeg = MemorySegment.ofArray(args);
    /** An op array's words, little-endian as Xen's ABI and {@link Mem}'s fields are. */
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt PORT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Op arrays up to this long are copied word by word: a bulk copy's set-up costs more than their bytes. */
    private static final int SMALL_ARGS = 64;

    Calls(Tap tap, GrantOps grantOps, EventChannels events, Prevention prevention, LiveRings live) {
        this.tap = tap;
        this.grantOps = grantOps;
        this.events = events;
        this.prevention = prevention;
        this.live = live;
    }

    /** A trace's call: its fields read directly, its op array decoded where it lies. */
    void traceCall(TraceStore.Call t) {
        int op = t.op, cmd = t.cmd, per = CallShape.opSize(op, cmd);
        if (t.caller >= 0 && t.caller < DOMID_FIRST_RESERVED && per != 0 && t.structSize > 0 && t.count > 0) {
            int n = CallShape.elements(t.structSize, t.count, t.len, per);
            if (op == __HYPERVISOR_event_channel_op) {
                if (n == 1 && t.result == 0) {
                    events.op(cmd, t.bytes, t.off, t.caller, t.sequence, t.timestamp);
                }
                return;
            }
            beginCall(op, cmd, t.sequence);
            ops(cmd, per, t.bytes, t.off, 0, n, n, t.caller, t.sequence, t.timestamp);
            endCall(op, cmd, t.sequence, t.timestamp);
        }
    }

    /** Any other host's call: its op array copied a chunk at a time into the tap's own array, then decoded the same way. */
    void hostCall(Hypercall c) {
        int caller = c.callerDomid();
        int op = c.op(), cmd = c.cmd(), per = CallShape.opSize(op, cmd);
        int size = c.structSize(), count = c.count();
        if (caller < 0 || caller >= DOMID_FIRST_RESERVED || per == 0 || size <= 0 || count <= 0) {
            return;
        }
        long seq = c.sequence();
        long now = c.timestampNanos();
        MemorySegment a = c.args();
        int n = CallShape.elements(size, count, a.byteSize(), per);
        if (op == __HYPERVISOR_event_channel_op) {
            // A kick or notify (most calls of a busy host) names one port: read where it lies.
            if (n == 1 && c.result() == 0) {
                if (cmd == EVTCHNOP_send) {
                    events.send(caller, a.get(PORT, Evtchn.PortOp.PORT), seq, now);
                } else {
                    MemorySegment.copy(a, 0, argsSeg, 0, per);
                    events.op(cmd, args, 0, caller, seq, now);
                }
            }
            return;
        }
        beginCall(op, cmd, seq);
        if ((long) n * per <= args.length) {
            // The usual call, in one copy (and without the division the chunking needs).
            int len = n * per;
            if (len <= SMALL_ARGS && (len & 7) == 0) {
                for (int k = 0; k < len; k += 8) {
                    Mem.putU64(args, k, a.get(WORD, k));
                }
            } else {
                MemorySegment.copy(a, 0, argsSeg, 0, len);
            }
            ops(cmd, per, args, 0, 0, n, n, caller, seq, now);
        } else {
            int chunk = args.length / per;
            for (int i = 0; i < n; i += chunk) {
                int k = Math.min(chunk, n - i);
                MemorySegment.copy(a, (long) i * per, argsSeg, 0, (long) k * per);
                ops(cmd, per, args, 0, i, i + k, n, caller, seq, now);
            }
        }
        endCall(op, cmd, seq, now);
    }

    private void beginCall(int op, int cmd, long seq) {
        if (op == __HYPERVISOR_grant_table_op && cmd == GNTTABOP_copy) {
            grantOps.copyCallStarts();
        }
        if (op == __HYPERVISOR_grant_table_op && (cmd == GNTTABOP_copy || cmd == GNTTABOP_map_grant_ref)) {
            grantOps.txCallStarts(seq);
        }
    }

    private void endCall(int op, int cmd, long seq, long now) {
        if (op == __HYPERVISOR_grant_table_op && cmd == GNTTABOP_copy) {
            grantOps.copyCallEnds(seq, now);
        }
        if (op == __HYPERVISOR_grant_table_op && (cmd == GNTTABOP_copy || cmd == GNTTABOP_map_grant_ref)) {
            grantOps.txCallEnds(now);
        }
    }

    /** Grant-table ops {@code [from, to)} of {@code n}, op {@code i} at {@code b[base + (i - from) * per]}. */
    private void ops(int cmd, int per, byte[] b, int base, int from, int to, int n, int caller, long seq, long now) {
        for (int i = from; i < to; i++) {
            int at = base + (i - from) * per;
            switch (cmd) {
                case GNTTABOP_copy -> grantOps.copy(b, at, caller, seq, now, prevention.refused(seq, i));
                case GNTTABOP_map_grant_ref -> grantOps.map(b, at, n, caller, seq, now, prevention.refused(seq, i));
                case GNTTABOP_unmap_grant_ref -> {
                    if (Mem.s16(b, at + Gnttab.Unmap.STATUS) == GNTST_okay) {
                        VifQueue q = live.byHandle(caller, Mem.u32(b, at + Gnttab.Unmap.HANDLE));
                        if (q != null && q.backend == caller) {
                            tap.retire(q, now);
                        }
                    }
                }
                case GNTTABOP_setup_table -> tap.mem.invalidateGrants(Tap.self(Mem.u16(b, at + Gnttab.SetupTable.DOM), caller));
                default -> { }
            }
        }
    }
}
