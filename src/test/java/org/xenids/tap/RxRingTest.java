package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Netif;

/** The RX ring's ref → id look-up, against the plain rule it must keep. */
class RxRingTest {
    @Test
    void refLookupAnswersTheLatestIdStillPostedEvenWhenRefsShareTheirLowBits() {
        TraceStore mem = new TraceStore();
        Tap tap = new Tap(mem, (b, o, l, d, v, q, dir, p, t) -> { }, a -> { });
        RxRing rx = new RxRing(tap, new VifQueue(1, 0, 0, 0), 500);
        // Refs 8 + 1024k share the low bits the look-up is direct-mapped by.
        int[] refs = {8, 1032, 2056, 3080, 9, 1033, 77};
        Map<Integer, Integer> latestId = new HashMap<>(); // ref → id of its latest post
        int[] refOfId = new int[RxRing.SIZE];
        java.util.Arrays.fill(refOfId, -1);
        byte[] page = new byte[4096];
        Random rnd = new Random(7);
        int prod = 0;
        for (int seq = 1; prod < RxRing.SIZE - 8; seq++) {
            for (int k = rnd.nextInt(6); k > 0; k--) {
                int id = rnd.nextInt(12), ref = refs[rnd.nextInt(refs.length)];
                int at = Netif.Sring.RING + (prod & RxRing.MASK) * Netif.RxRequest.SIZE;
                page[at] = (byte) id;
                page[at + 1] = 0;
                page[at + 2] = 0;
                page[at + 3] = 0;
                for (int i = 0; i < 4; i++) {
                    page[at + 4 + i] = (byte) (ref >>> 8 * i);
                }
                latestId.put(ref, id);
                refOfId[id] = ref;
                prod++;
            }
            for (int i = 0; i < 4; i++) {
                page[Netif.Sring.REQ_PROD + i] = (byte) (prod >>> 8 * i);
            }
            mem.put(1, 500, 0, page, 0, 4096);
            rx.refresh(seq, seq);
            for (int ref : refs) {
                Integer id = latestId.get(ref);
                int want = id != null && refOfId[id] == ref ? id : -1;
                assertEquals(want, rx.find(ref), "ref " + ref + " after " + prod + " posts");
            }
            assertEquals(-1, rx.find(-1));
            assertEquals(-1, rx.find(5000));
        }
    }

    @Test
    void buffersFilledAndNotYetAnsweredAreCountedAsUnanswered() {
        TraceStore mem = new TraceStore();
        Tap tap = new Tap(mem, (b, o, l, d, v, q, dir, p, t) -> { }, a -> { });
        RxRing rx = new RxRing(tap, new VifQueue(1, 0, 0, 0), 500);
        byte[] src = new byte[4096];
        mem.put(0, 900, 0, src, 0, 4096);
        assertEquals(0, rx.unanswered());
        // Two buffers filled: the first in two copies (the second at an offset), the other in one.
        rx.copied(10, 0, 100, 0, false, 0, 900, 0, -1, 1);
        rx.copied(10, 100, 50, 0, false, 0, 900, 100, -1, 1);
        rx.copied(11, 0, 60, 0, false, 0, 900, 200, -1, 1);
        assertEquals(2, rx.unanswered());
    }
}
