package org.xenids.vmi.linux;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * Symbols as flat arrays: all names back to back in one byte array, a type letter and a
 * run-time address per symbol, and an open-addressing hash index over the name bytes. No
 * String or map entry per symbol, so ~100k kernel symbols load in milliseconds. When a name
 * occurs more than once (static functions in several files) the global (upper-case type)
 * definition wins, else the first.
 */
final class SymbolTable implements Symbols {
    private final byte[] nameBytes;
    private final int[] nameStart;
    private final byte[] types;
    private final long[] addresses;
    private final int count;
    private final int[] slots;
    private final String source;

    /** Symbol {@code i}'s name is nameBytes[nameStart[i] .. nameStart[i+1]). */
    SymbolTable(byte[] nameBytes, int[] nameStart, byte[] types, long[] addresses, int count, String source) {
        this.nameBytes = nameBytes;
        this.nameStart = nameStart;
        this.types = types;
        this.addresses = addresses;
        this.count = count;
        this.source = source;
        this.slots = new int[Integer.highestOneBit(Math.max(count, 1)) << 2];
        Arrays.fill(slots, -1);
        int mask = slots.length - 1;
        for (int i = 0; i < count; i++) {
            int s = hash(nameBytes, nameStart[i], nameStart[i + 1]) & mask;
            while (true) {
                int j = slots[s];
                if (j < 0) {
                    slots[s] = i;
                    break;
                }
                if (sameName(j, i)) {
                    if (!global(types[j]) && global(types[i])) {
                        slots[s] = i;
                    }
                    break;
                }
                s = (s + 1) & mask;
            }
        }
    }

    private static boolean global(byte t) { return t >= 'A' && t <= 'Z'; }

    static int hash(byte[] b, int from, int to) {
        int h = 0x811c9dc5;
        for (int i = from; i < to; i++) {
            h = (h ^ b[i]) * 0x01000193;
        }
        return h ^ (h >>> 16);
    }

    private boolean sameName(int a, int b) {
        return Arrays.equals(nameBytes, nameStart[a], nameStart[a + 1], nameBytes, nameStart[b], nameStart[b + 1]);
    }

    @Override
    public OptionalLong address(String name) {
        byte[] q = name.getBytes(StandardCharsets.ISO_8859_1);
        int mask = slots.length - 1;
        for (int s = hash(q, 0, q.length) & mask; ; s = (s + 1) & mask) {
            int j = slots[s];
            if (j < 0) {
                return OptionalLong.empty();
            }
            if (Arrays.equals(nameBytes, nameStart[j], nameStart[j + 1], q, 0, q.length)) {
                return OptionalLong.of(addresses[j]);
            }
        }
    }

    @Override public String source() { return source; }

    /** The same symbols with kernel-image addresses (0xffffffff80000000..+1 GiB) moved by {@code slide}. */
    SymbolTable slid(long slide, String newSource) {
        long[] a = addresses.clone();
        for (int i = 0; i < count; i++) {
            if (Long.compareUnsigned(a[i] - KernelPageTables.START_KERNEL_MAP, KernelPageTables.MAX_IMAGE) < 0) {
                a[i] += slide;
            }
        }
        return new SymbolTable(nameBytes, nameStart, types, a, count, newSource);
    }

    int size() { return count; }
    String name(int i) { return new String(nameBytes, nameStart[i], nameStart[i + 1] - nameStart[i], StandardCharsets.ISO_8859_1); }
    char type(int i) { return (char) types[i]; }
    long address(int i) { return addresses[i]; }
}
