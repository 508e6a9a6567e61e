package org.xenids.vmi.linux;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Symbols as parallel arrays (name, type letter, run-time address) plus a name index. When a
 * name occurs more than once (static functions in several files) the global (upper-case
 * type) definition wins, else the first.
 */
final class SymbolTable implements Symbols {
    private final String[] names;
    private final byte[] types;
    private final long[] addresses;
    private final Map<String, Integer> index;
    private final String source;

    SymbolTable(String[] names, byte[] types, long[] addresses, int count, String source) {
        this.names = names;
        this.types = types;
        this.addresses = addresses;
        this.source = source;
        this.index = HashMap.newHashMap(count);
        for (int i = 0; i < count; i++) {
            Integer old = index.putIfAbsent(names[i], i);
            if (old != null && !global(types[old]) && global(types[i])) {
                index.put(names[i], i);
            }
        }
        this.count = count;
    }

    private final int count;

    private static boolean global(byte t) { return t >= 'A' && t <= 'Z'; }

    @Override
    public OptionalLong address(String name) {
        Integer i = index.get(name);
        return i == null ? OptionalLong.empty() : OptionalLong.of(addresses[i]);
    }

    @Override public String source() { return source; }

    int size() { return count; }
    String name(int i) { return names[i]; }
    char type(int i) { return (char) types[i]; }
    long address(int i) { return addresses[i]; }
}
