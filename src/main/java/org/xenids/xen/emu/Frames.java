package org.xenids.xen.emu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The host's machine memory: frame numbers from 1 to a fixed bound, each owned by at most one
 * domain, its 4 KiB backing allocated on first use. Frame 0 is never handed out, so a zero
 * frame number in a guest structure is always invalid.
 */
final class Frames {
    static final int PAGE = 4096;
    private static final short FREE = -1;

    private final MemorySegment[] pages;
    private final short[] owner;
    private int next = 1;
    private int freeCount;
    private final int[] freeList;

    Frames(int maxFrames) {
        if (maxFrames < 2) {
            throw new IllegalArgumentException("host needs at least 2 frames, got " + maxFrames);
        }
        pages = new MemorySegment[maxFrames];
        owner = new short[maxFrames];
        Arrays.fill(owner, FREE);
        freeList = new int[maxFrames];
    }

    int capacity() {
        return pages.length - 1;
    }

    /** A new zeroed frame for {@code domid}; fails when the host's memory is exhausted. */
    long allocate(int domid) {
        int f;
        if (freeCount > 0) {
            f = freeList[--freeCount];
        } else if (next < pages.length) {
            f = next++;
        } else {
            throw new IllegalStateException("host memory exhausted (" + capacity() + " frames)");
        }
        owner[f] = (short) domid;
        if (pages[f] != null) {
            pages[f].fill((byte) 0);
        }
        return f;
    }

    void free(long frame) {
        int f = (int) frame;
        owner[f] = FREE;
        freeList[freeCount++] = f;
    }

    boolean owns(int domid, long frame) {
        return frame > 0 && frame < pages.length && owner[(int) frame] == (short) domid && domid >= 0;
    }

    /** The page of an allocated frame (caller has checked ownership). */
    MemorySegment page(long frame) {
        int f = (int) frame;
        MemorySegment p = pages[f];
        if (p == null) {
            p = MemorySegment.ofArray(new byte[PAGE]);
            pages[f] = p;
        }
        return p;
    }
}
