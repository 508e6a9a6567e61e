package org.xenids.tap;

/**
 * Open-addressing long→int map without boxing (look-ups on the hot path allocate nothing). Each
 * slot is two adjacent longs, the key and (1 &lt;&lt; 32 | value), 0 when empty: a look-up touches
 * one array, usually one cache line.
 */
final class LongIntMap {
    private static final long USED = 1L << 32;
    private long[] slots = new long[2 * 64];
    private int size;

    int get(long key, int missing) {
        long[] t = slots;
        int mask = (t.length >>> 1) - 1;
        for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
            long meta = t[2 * i + 1];
            if (meta == 0) {
                return missing;
            }
            if (t[2 * i] == key) {
                return (int) meta;
            }
        }
    }

    void put(long key, int value) {
        if (2 * (size + 1) > slots.length >>> 1) {
            grow();
        }
        long[] t = slots;
        int mask = (t.length >>> 1) - 1;
        int i = mix(key) & mask;
        while (t[2 * i + 1] != 0 && t[2 * i] != key) {
            i = (i + 1) & mask;
        }
        if (t[2 * i + 1] == 0) {
            size++;
        }
        t[2 * i] = key;
        t[2 * i + 1] = USED | (value & 0xffffffffL);
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        size = 0;
        for (int i = 0; i < old.length; i += 2) {
            if (old[i + 1] != 0) {
                put(old[i], (int) old[i + 1]);
            }
        }
    }

    private static int mix(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    @Override
    public String toString() {
        return "LongIntMap(" + size + " entries)";
    }
}
