package org.xenids.xen.event;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The default array read of an implementation that has only the segment read. */
class DomainMemoryTest {
    /** One page of domain 1, frame 5, holding its offsets' low bytes. */
    static final class OnePage implements DomainMemory {
        int reads;

        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            reads++;
            if (domid != 1 || frame != 5 || offset < 0 || offset + dst.byteSize() > PAGE_SIZE) {
                return false;
            }
            for (int i = 0; i < dst.byteSize(); i++) {
                dst.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (offset + i));
            }
            return true;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            return -1;
        }
    }

    @Test
    void defaultArrayReadGoesThroughTheSegmentReadAndChecksTheArrayFirst() {
        OnePage m = new OnePage();
        byte[] b = new byte[8];
        assertTrue(m.read(1, 5, 4093, b, 4, 3));
        assertArrayEquals(new byte[] {0, 0, 0, 0, (byte) 4093, (byte) 4094, (byte) 4095, 0}, b);
        assertFalse(m.read(1, 5, 4094, b, 0, 3), "the implementation refuses a range leaving the page");
        assertFalse(m.read(2, 5, 0, b, 0, 3), "and another domain");
        int before = m.reads;
        assertFalse(m.read(1, 5, 0, b, 6, 3), "a range leaving the array");
        assertFalse(m.read(1, 5, 0, b, -1, 3));
        assertFalse(m.read(1, 5, 0, b, 0, -1));
        assertTrue(before == m.reads, "refused before asking the implementation");
    }
}
