package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** netback's TX skbs: small heads in half frames, at most {@link TxSkbs#LARGE} two-page heads a queue, reused. */
class TxSkbsTest {
    @Test
    void twoPageHeadsAreBoundedPerQueueAndReusedOnceGivenBack() {
        XenHost host = new XenHost(1 << 12);
        Domain dom0 = host.createDomain(0, "Domain-0", 1024);
        TxSkbs skbs = new TxSkbs(dom0, host.frames, 256, s -> { });
        List<TxSkbs.TxSkb> big = new ArrayList<>();
        for (int i = 0; i < TxSkbs.LARGE; i++) {
            TxSkbs.TxSkb s = skbs.take(4096);
            assertNotNull(s, "two-page head " + i);
            assertEquals(TxSkbs.HEAD_OFF, s.headOff);
            assertTrue(s.headFrame2 != 0 && s.headFrame2 != s.headFrame);
            big.add(s);
        }
        assertNull(skbs.take(TxSkbs.SMALL + 1), "past the bound the head cannot be had: an allocation failure");
        TxSkbs.TxSkb small = skbs.take(TxSkbs.SMALL);
        assertNotNull(small, "small heads are not held back by the large ones");
        assertEquals(0, small.headFrame2);
        long frame = big.get(3).headFrame;
        skbs.give(big.get(3));
        TxSkbs.TxSkb again = skbs.take(3000);
        assertNotNull(again);
        assertEquals(frame, again.headFrame, "the head given back is taken again, no new frame");
    }
}
