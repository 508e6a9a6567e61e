package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;

/** The shape of a call's op array as the tap decodes it: bytes per op, and how many whole ops it holds. */
final class CallShape {
    private CallShape() {}

    /**
     * Ops the argument bytes hold: {@code count}, or as many whole structs of {@code size} as they
     * have (a division only when the count claims more), and never more whole ops of the
     * command's own size {@code per} than the bytes hold.
     */
    static int elements(int size, int count, long bytes, int per) {
        if ((long) count * Math.max(size, per) <= bytes) {
            return count; // the usual case, without a division
        }
        long n = (long) count * size <= bytes ? count : bytes / size;
        return (int) Math.min(n, bytes / per);
    }

    /** Bytes of one op of the commands the tap follows, by command number; 0 for the others. */
    private static final int[] GRANT_OP_SIZE = new int[16], EVENT_OP_SIZE = new int[16];

    static {
        GRANT_OP_SIZE[GNTTABOP_copy] = Gnttab.Copy.SIZE;
        GRANT_OP_SIZE[GNTTABOP_map_grant_ref] = Gnttab.Map.SIZE;
        GRANT_OP_SIZE[GNTTABOP_unmap_grant_ref] = Gnttab.Unmap.SIZE;
        GRANT_OP_SIZE[GNTTABOP_setup_table] = Gnttab.SetupTable.SIZE;
        EVENT_OP_SIZE[EVTCHNOP_send] = Evtchn.PortOp.SIZE;
        EVENT_OP_SIZE[EVTCHNOP_close] = Evtchn.PortOp.SIZE;
        EVENT_OP_SIZE[EVTCHNOP_alloc_unbound] = Evtchn.AllocUnbound.SIZE;
        EVENT_OP_SIZE[EVTCHNOP_bind_interdomain] = Evtchn.BindInterdomain.SIZE;
    }

    /** Bytes of one op of the commands the tap follows; 0 for the others (a table: this runs once a call). */
    static int opSize(int op, int cmd) {
        if (cmd < 0 || cmd >= 16) {
            return 0;
        }
        return op == __HYPERVISOR_grant_table_op ? GRANT_OP_SIZE[cmd]
                : op == __HYPERVISOR_event_channel_op ? EVENT_OP_SIZE[cmd] : 0;
    }
}
