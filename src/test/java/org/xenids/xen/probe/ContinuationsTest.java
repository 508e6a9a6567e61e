package org.xenids.xen.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.GNTTABOP_copy;
import static org.xenids.xen.abi.Xen.__HYPERVISOR_grant_table_op;

import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Gnttab;

class ContinuationsTest {
    static final int COPY = Gnttab.Copy.SIZE;

    static XenProbe.Pending copy(int domid, long array, int count) {
        return new XenProbe.Pending(domid, __HYPERVISOR_grant_table_op, GNTTABOP_copy, count, COPY, array, 0, 0);
    }

    @Test
    void aPreemptedCallIsResumedByItsContinuationOnly() {
        Continuations c = new Continuations();
        assertTrue(c.hold(copy(0, 0x10000, 64), new byte[64 * COPY], 64));
        // Another caller, another array, or a count that does not fit: new calls, not the continuation.
        assertNull(c.resume(1, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x10000 + 10L * COPY, 54));
        assertNull(c.resume(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x20000, 54));
        assertNull(c.resume(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x10000 + 10L * COPY, 53));
        Continuations.Resumed r = c.resume(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x10000 + 10L * COPY, 54);
        assertNotNull(r);
        assertEquals(10, r.done());
        assertEquals(1, c.resumed());
        assertEquals(0, c.lost());
    }

    /**
     * A guest with many vCPUs, each preempted in a copy batch of its own at once, fills the held
     * calls: it gives up its own oldest, never dom0's netback batch held before them.
     */
    @Test
    void aGuestHoldingManyCallsGivesUpItsOwnNotDom0s() {
        Continuations c = new Continuations();
        c.hold(copy(0, 0x10000, 64), new byte[64 * COPY], 64);
        int extra = 5;
        boolean roomEveryTime = true;
        for (int v = 0; v < Continuations.MAX_HELD - 1 + extra; v++) {
            roomEveryTime &= c.hold(copy(7, 0x100000 + v * 0x1000L, 8), new byte[8 * COPY], 8);
        }
        assertFalse(roomEveryTime);
        assertEquals(extra + Continuations.MAX_HELD, c.lost(), "given up, and held (lost unless resumed)");
        assertNotNull(c.resume(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x10000 + 64L * COPY, 0), "dom0's call is still held");
        // dom7's oldest were given up, its newest are still held.
        assertNull(c.resume(7, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x100000 + 8L * COPY, 0));
        assertNotNull(c.resume(7, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0x100000 + (Continuations.MAX_HELD - 2 + extra) * 0x1000L + 8L * COPY, 0));
        assertEquals(extra + Continuations.MAX_HELD - 2, c.lost(), "given up, and still held at the end");
    }
}
