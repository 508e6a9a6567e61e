package org.xenids.vmi.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/**
 * Builds kallsyms tables as scripts/kallsyms lays them out: up to Linux 6.3 offsets,
 * relative_base, num_syms, names, markers, token table, token index; since 6.4 the offsets and
 * relative_base after the token index. One token per character: a byte value stands for its own
 * character when printable, else for "?". Small enough to be a fuzzer's seed, and a base to
 * plant hostile variations in.
 */
final class KallsymsImage {
    static final long TEXT = 0xffff_ffff_8100_0000L;

    final ByteBuffer img;
    final int numSyms;
    final int tokenTable;
    final int tokenIndex;
    final int end;
    private final long base;
    private final IntFunction<String> nameOf;
    private final IntUnaryOperator offsetOf;

    /** {@code n} symbols "sym_N" of type 'T', 16 bytes apart from {@link #TEXT}, in an image of {@code size} bytes. */
    KallsymsImage(int n, int size) {
        this(n, size, false);
    }

    KallsymsImage(int n, int size, boolean linux64) {
        this(n, size, linux64, TEXT, KallsymsImage::name, i -> 16 * i);
    }

    /**
     * {@code n} symbols of type 'T' named by {@code nameOf}, at {@code base} + {@code offsetOf}
     * (ascending, as the kernel sorts them), {@code base} being _text.
     */
    KallsymsImage(int n, int size, boolean linux64, long base, IntFunction<String> nameOf, IntUnaryOperator offsetOf) {
        this.base = base;
        this.nameOf = nameOf;
        this.offsetOf = offsetOf;
        img = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 8;
        if (!linux64) {
            pos = offsets(n, pos);
        }
        numSyms = pos;
        img.putInt(numSyms, n);
        int names = numSyms + 8;
        pos = names;
        int[] entry = new int[n];
        for (int i = 0; i < n; i++) {
            entry[i] = pos - names;
            byte[] name = ("T" + nameOf.apply(i)).getBytes(StandardCharsets.US_ASCII);
            img.put(pos++, (byte) name.length);
            img.put(pos, name);
            pos += name.length;
        }
        int markers = align8(pos);
        for (int k = 0; k < (n + 255) / 256; k++) {
            img.putInt(markers + 4 * k, entry[k * 256]);
        }
        tokenTable = align8(markers + 4 * ((n + 255) / 256));
        pos = tokenTable;
        int[] tokenAt = new int[256];
        for (int b = 0; b < 256; b++) {
            tokenAt[b] = pos - tokenTable;
            img.put(pos++, b > ' ' && b < 0x7f ? (byte) b : (byte) '?');
            img.put(pos++, (byte) 0);
        }
        tokenIndex = align8(pos);
        for (int b = 0; b < 256; b++) {
            img.putShort(tokenIndex + 2 * b, (short) tokenAt[b]);
        }
        end = linux64 ? offsets(n, tokenIndex + 512) : tokenIndex + 512;
    }

    /** kallsyms_offsets and kallsyms_relative_base at {@code pos}; returns where they end. */
    private int offsets(int n, int pos) {
        for (int i = 0; i < n; i++) {
            img.putInt(pos + 4 * i, offsetOf.applyAsInt(i));
        }
        int at = align8(pos + 4 * n);
        img.putLong(at, base);
        return at + 8;
    }

    static String name(int i) {
        return String.format("sym_%05d", i);
    }

    byte[] bytes() {
        return img.array();
    }

    static int align8(int v) {
        return (v + 7) & ~7;
    }
}
