package org.xenids.xen.abi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Little-endian, unaligned accessors (x86-64 Xen ABI). Static final layouts so the JIT turns
 * every access into one load or store: no reflection, no allocation.
 */
public final class Le {
    private Le() {}

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static int u8(MemorySegment s, long at) { return s.get(ValueLayout.JAVA_BYTE, at) & 0xff; }
    public static int u16(MemorySegment s, long at) { return s.get(U16, at) & 0xffff; }
    public static int s16(MemorySegment s, long at) { return s.get(U16, at); }
    /** An unsigned 32-bit field, returned in an int (callers use Integer.toUnsignedLong when needed). */
    public static int u32(MemorySegment s, long at) { return s.get(U32, at); }
    public static long u64(MemorySegment s, long at) { return s.get(U64, at); }

    public static void u8(MemorySegment s, long at, int v) { s.set(ValueLayout.JAVA_BYTE, at, (byte) v); }
    public static void u16(MemorySegment s, long at, int v) { s.set(U16, at, (short) v); }
    public static void u32(MemorySegment s, long at, int v) { s.set(U32, at, v); }
    public static void u64(MemorySegment s, long at, long v) { s.set(U64, at, v); }
}
