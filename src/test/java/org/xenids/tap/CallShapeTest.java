package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.xen.abi.Xen.*;

import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;

class CallShapeTest {

    /**
     * A call's struct size and count are the caller's (hostile) word: the ops decoded are never
     * more than the argument bytes hold, whole, at either size, whatever the shortcut takes.
     */
    @Test
    void opsDecodedNeverOutgrowTheArgumentBytesAtEitherSize() {
        for (int size = 1; size <= 64; size++) {
            for (int per : new int[] {4, 8, 12, 24, 40}) {
                for (int count : new int[] {1, 2, 3, 7, 100, Integer.MAX_VALUE}) {
                    for (long bytes : new long[] {0, 1, 4, 39, 40, 41, 80, 400, 4096, 1 << 20}) {
                        long n = (long) count * size <= bytes ? count : bytes / size;
                        int expected = (int) Math.min(n, bytes / per);
                        assertEquals(expected, CallShape.elements(size, count, bytes, per),
                                size + " " + count + " " + bytes + " " + per);
                    }
                }
            }
        }
    }

    @Test
    void onlyTheCommandsTheTapFollowsHaveAnOpSize() {
        assertEquals(Gnttab.Copy.SIZE, CallShape.opSize(__HYPERVISOR_grant_table_op, GNTTABOP_copy));
        assertEquals(Gnttab.Map.SIZE, CallShape.opSize(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref));
        assertEquals(Evtchn.PortOp.SIZE, CallShape.opSize(__HYPERVISOR_event_channel_op, EVTCHNOP_send));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_grant_table_op, 16));
        assertEquals(0, CallShape.opSize(__HYPERVISOR_grant_table_op, -1));
        assertEquals(0, CallShape.opSize(29, GNTTABOP_copy));
    }
}
