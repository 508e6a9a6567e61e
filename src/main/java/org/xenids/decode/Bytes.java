package org.xenids.decode;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Big-endian reads from byte arrays; callers have checked the bounds. */
final class Bytes {
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle L64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);

    private Bytes() {}

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    static int u16(byte[] b, int i) {
        return ((short) I16.get(b, i)) & 0xFFFF;
    }

    static int i32(byte[] b, int i) {
        return (int) I32.get(b, i);
    }

    static long i64(byte[] b, int i) {
        return (long) I64.get(b, i);
    }

    static void put16(byte[] b, int i, int v) {
        I16.set(b, i, (short) v);
    }

    /** The Internet checksum (RFC 1071) of b[off, off+len): 0 when a header with its checksum is intact. */
    static int checksum(byte[] b, int off, int len) {
        return fold(sum(b, off, len));
    }

    /**
     * The ones'-complement sum of b[off, off+len) as 16-bit words (an odd last byte padded with 0),
     * folded to 16 bits but not complemented: parts that start at even offsets of a checksummed
     * whole add up. Read as little-endian words, eight bytes a step, carries kept in the upper bits
     * until the fold, then byte-swapped to network order: a ones'-complement sum does not depend
     * on byte order (RFC 1071 §2B).
     */
    static long sum(byte[] b, int off, int len) {
        long sum = 0;
        int i = off, end = off + len;
        for (; i + 7 < end; i += 8) {
            long v = (long) L64.get(b, i);
            sum += (v >>> 32) + (v & 0xFFFFFFFFL);
        }
        for (; i + 1 < end; i += 2) {
            sum += (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
        }
        if (i < end) {
            sum += b[i] & 0xFF;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return ((sum & 0xFF) << 8) | (sum >>> 8);
    }

    /**
     * The checksum of {@link #sum}s added together (so past 16 bits): folded and complemented, 0
     * when what was summed holds its own checksum intact.
     */
    static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }
}
