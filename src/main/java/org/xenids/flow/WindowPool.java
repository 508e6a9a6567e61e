package org.xenids.flow;

import java.util.ArrayDeque;

/**
 * The table's bounded pool of reassembly windows ({@link StreamWindow}): each {@code window}
 * bytes of data and an eighth more for the bitmap of those held (all clear when given back),
 * made on demand up to {@code maxBytes} in all and reused. Out-of-order bytes may take the whole
 * pool; keeping delivered bytes until acknowledged only half of it, so that out-of-order bytes,
 * which are what is missing when there is no window, always have the other half.
 */
final class WindowPool {
    final int window;
    private final int size;
    private final long maxBytes;
    private final ArrayDeque<byte[]> free = new ArrayDeque<>();
    /** Bytes of all windows made. */
    private long made;

    WindowPool(int window, long maxBytes) {
        this.window = window;
        this.size = window + window / 8;
        this.maxBytes = maxBytes;
    }

    /** A window for out-of-order bytes, or null when the pool is spent. */
    byte[] borrow() {
        return borrow(maxBytes);
    }

    /** A window to keep delivered bytes in, or null when the windows lent out would pass half the pool. */
    byte[] borrowToKeep() {
        return borrow(maxBytes / 2);
    }

    /** Whether a window lent out may stay lent to keep bytes in alone: the windows lent out are within half the pool. */
    boolean mayKeepIn() {
        return lent() <= maxBytes / 2;
    }

    void giveBack(byte[] b) {
        free.push(b);
    }

    private long lent() {
        return made - (long) free.size() * size;
    }

    private byte[] borrow(long bound) {
        if (lent() + size > bound) return null;
        byte[] b = free.poll();
        if (b != null) return b;
        made += size;
        return new byte[size];
    }
}
