package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The replay's memory image: only bytes the trace gave are read, by either read. */
class TraceStoreTest {
    @Test
    void arrayReadGivesOnlyBytesTheTraceGaveAndTheSegmentReadAgrees() {
        TraceStore s = new TraceStore();
        byte[] src = new byte[200];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i + 1);
        }
        assertTrue(s.put(3, 77, 60, src, 0, 130)); // bytes 60..189 of the page, across three bitmap words
        byte[] out = new byte[140];
        assertTrue(s.read(3, 77, 60, out, 5, 130));
        assertArrayEquals(java.util.Arrays.copyOf(src, 130), java.util.Arrays.copyOfRange(out, 5, 135));
        byte[] seg = new byte[130];
        assertTrue(s.read(3, 77, 60, MemorySegment.ofArray(seg)));
        assertArrayEquals(java.util.Arrays.copyOf(src, 130), seg);

        byte[] untouched = new byte[8];
        assertFalse(s.read(3, 77, 59, untouched, 0, 2), "byte 59 was never given");
        assertFalse(s.read(3, 77, 189, untouched, 0, 2), "byte 190 was never given");
        assertFalse(s.read(3, 78, 60, untouched, 0, 2), "another frame");
        assertFalse(s.read(4, 77, 60, untouched, 0, 2), "another domain");
        assertFalse(s.read(3, 77, 4095, untouched, 0, 2), "leaves the page");
        assertFalse(s.read(3, 77, 60, untouched, 7, 2), "leaves the array");
        assertFalse(s.read(3, 77, 60, untouched, 0, -1), "negative length");
        assertFalse(s.read(3, 77, 59, MemorySegment.ofArray(untouched)));
        assertArrayEquals(new byte[8], untouched);

        s.forget(3, 77, 100, 1); // a later failed read of byte 100
        assertFalse(s.read(3, 77, 60, out, 0, 130));
        assertTrue(s.read(3, 77, 101, out, 0, 89));
        assertTrue(s.put(3, 77, 100, src, 0, 1));
        assertTrue(s.read(3, 77, 60, out, 0, 130));
        assertEquals(1, out[40]);
    }

    @Test
    void pagesOfDifferentDomainsAndFramesStayApart() {
        TraceStore s = new TraceStore();
        byte[] b = new byte[1];
        for (int d = 0; d < 40; d++) {
            for (int f = 0; f < 40; f++) {
                b[0] = (byte) (d * 40 + f);
                assertTrue(s.put(d, 1000 + f, d, b, 0, 1));
            }
        }
        for (int d = 0; d < 40; d++) {
            for (int f = 0; f < 40; f++) {
                assertTrue(s.read(d, 1000 + f, d, b, 0, 1));
                assertEquals((byte) (d * 40 + f), b[0]);
                assertFalse(s.read(d, 1000 + f, d + 1, b, 0, 1));
            }
        }
    }

    @Test
    void frameNumbersPast2To44NeverReachAnotherDomainsPage() {
        TraceStore s = new TraceStore();
        byte[] b = {42};
        assertTrue(s.put(1, 5, 0, b, 0, 1));
        byte[] out = new byte[1];
        // With a key of domid << 44 ^ frame, domain 0's frame 2^44 + 5 was domain 1's frame 5.
        assertFalse(s.read(0, (1L << 44) | 5, 0, out, 0, 1));
        assertFalse(s.read(0, (1L << 44) | 5, 0, MemorySegment.ofArray(out)));
        assertFalse(s.read(1, -1L, 0, out, 0, 1), "a frame read as a negative long");
        assertFalse(s.read(0x10001, 5, 0, out, 0, 1), "a domid past 16 bits");
        assertEquals(0, out[0]);
        assertThrows(IllegalArgumentException.class, () -> s.put(0, (1L << 44) | 5, 0, b, 0, 1));
        assertTrue(s.read(1, 5, 0, out, 0, 1));
        assertEquals(42, out[0]);
    }

    @Test
    void shortAndLongCopiesMoveExactlyTheirBytes() {
        byte[] src = new byte[200];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i * 13 + 1);
        }
        for (int len = 0; len <= 80; len++) {
            byte[] dst = new byte[200];
            TraceStore.copy(src, 3, dst, 5, len);
            for (int i = 0; i < dst.length; i++) {
                assertEquals(i >= 5 && i < 5 + len ? src[i - 2] : 0, dst[i], "len " + len + " byte " + i);
            }
        }
    }
}
