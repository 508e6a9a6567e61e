package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.xenids.xen.event.DomainMemory;

/** The host's bulk read into an array: the segment read's bytes and refusals, nothing written when refused. */
class MemoryArrayReadTest {
    @Test
    void arrayReadGivesTheSegmentReadsBytesAndRefusesWhatItRefuses() {
        XenHost host = new XenHost(64);
        host.createDomain(0, "Domain-0", 8);
        Domain guest = host.createDomain(1, "guest", 8);
        long frame = guest.allocFrame();
        for (int i = 0; i < 4096; i++) {
            guest.page(frame).set(ValueLayout.JAVA_BYTE, i, (byte) (i * 13));
        }
        DomainMemory mem = host.memory();
        byte[] seg = new byte[100];
        byte[] arr = new byte[110];
        assertTrue(mem.read(1, frame, 3990, MemorySegment.ofArray(seg).asSlice(0, 96)));
        assertTrue(mem.read(1, frame, 3990, arr, 10, 96));
        assertArrayEquals(java.util.Arrays.copyOf(seg, 96), java.util.Arrays.copyOfRange(arr, 10, 106));

        byte[] untouched = new byte[16];
        assertFalse(mem.read(0, frame, 0, untouched, 0, 8), "a frame of another domain");
        assertFalse(mem.read(1, frame, 4090, untouched, 0, 8), "a range leaving the page");
        assertFalse(mem.read(1, frame, -1, untouched, 0, 8), "a negative page offset");
        assertFalse(mem.read(1, frame, 0, untouched, 12, 8), "a range leaving the array");
        assertFalse(mem.read(1, frame, 0, untouched, -1, 8), "a negative array offset");
        assertFalse(mem.read(1, frame, 0, untouched, 0, -1), "a negative length");
        assertFalse(mem.read(1, 0, 0, untouched, 0, 8), "frame 0");
        assertArrayEquals(new byte[16], untouched);
        assertTrue(mem.read(1, frame, 4096, untouched, 16, 0), "an empty read at the very end");
        assertEquals(0, untouched[0]);
    }
}
