package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * An RX copy out of a place where a guest's TX head was copied is that guest's frame only when it
 * reads the head's bytes: a real dom0 reuses the buffer, and a frame from outside that later lies
 * there must be inspected as the receiver's, not passed over as the first guest's copy.
 */
class HeadOwnersTest {

    @Test
    void aCopyFromAHeadsPlaceIsTheSendersOnlyWhenItReadsTheHeadsBytes() {
        HeadOwners h = new HeadOwners();
        byte[] head = new byte[128];
        for (int i = 0; i < head.length; i++) {
            head[i] = (byte) (i * 31 + 7);
        }
        h.note(0, 0x1234, 66, 5, head, 0, 90);
        byte[] read = new byte[200];
        System.arraycopy(head, 0, read, 10, 128);
        assertEquals(5, h.owner(0, 0x1234, 66, read, 10, 128), "the head itself, read with what followed it");
        assertEquals(5, h.owner(0, 0x1234, 66, read, 10, HeadOwners.CHECKED), "as much as is checked");
        // The buffer reused for another frame: one byte differs, anywhere in the checked part.
        for (int i : new int[] {0, 13, 37, HeadOwners.CHECKED - 1}) {
            byte[] other = Arrays.copyOf(read, read.length);
            other[10 + i] ^= 1;
            assertEquals(-1, h.owner(0, 0x1234, 66, other, 10, 128), "byte " + i + " differs");
        }
        // Changes that cancel out in a multiply-rotate hash of the words, whatever its key: compared
        // byte for byte, they do not pass.
        byte[] paired = Arrays.copyOf(read, read.length);
        paired[10 + 7] ^= (byte) 0x80;
        paired[10 + 11] ^= 0x10;
        assertEquals(-1, h.owner(0, 0x1234, 66, paired, 10, 128), "two changed bytes");
        assertEquals(-1, h.owner(0, 0x1234, 66, read, 10, HeadOwners.CHECKED - 1), "too little read to tell");
        assertEquals(-1, h.owner(0, 0x1234, 67, read, 10, 128), "another place");
        assertEquals(-1, h.owner(1, 0x1234, 66, read, 10, 128), "another domain's frame");
        // A short head (a 60-byte frame) is checked whole.
        h.note(0, 0x99, 0, 7, head, 0, 60);
        assertEquals(7, h.owner(0, 0x99, 0, head, 0, 60));
        assertEquals(-1, h.owner(0, 0x99, 0, head, 1, 60));
    }
}
