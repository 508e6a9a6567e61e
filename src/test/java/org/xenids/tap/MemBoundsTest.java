package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.xenids.xen.event.DomainMemory;

class MemBoundsTest {

    /** A memory that counts the reads that reach it and answers every one. */
    static final class Counting implements DomainMemory {
        int reads;

        @Override
        public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
            reads++;
            return true;
        }

        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            reads++;
            return true;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            return -1;
        }
    }

    @Test
    void aReadWhoseEndOverflowsIsRefusedBeforeTheMemorySeesIt() {
        Counting backing = new Counting();
        Mem m = new Mem(backing);
        byte[] dst = new byte[16];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            // Page offset 2^31 - 1 plus 8 bytes wraps to a negative int: still outside the page.
            assertFalse(m.read(1, 5, Integer.MAX_VALUE, dst, 0, 8));
            assertFalse(m.read(1, 5, Integer.MAX_VALUE, seg, 0, 8));
            assertFalse(m.read(1, 5, 8, seg, Long.MAX_VALUE, 8));
            assertEquals(0, backing.reads);
            assertEquals(3, m.failedReads);
            assertTrue(m.read(1, 5, DomainMemory.PAGE_SIZE - 8, seg, 8, 8));
            assertEquals(1, backing.reads);
        }
    }
}
