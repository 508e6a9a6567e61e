package org.xenids.tap;

import static org.xenids.tap.Trace.*;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.xenids.xen.event.DomainMemory;

/**
 * The trace's framing, checked whatever its records say: the file header, each record's header
 * and checksum, and the END record's counts. Kept apart from {@link TraceReader}, which parses
 * each kind of record and replays it; the checks are static and take what they check as
 * arguments, so the reader's per-record path calls them without an object in between.
 */
final class TraceFraming {
    private TraceFraming() {}

    /** The format's integers (all little-endian), read where they lie. */
    static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Checks the file header, the {@code got} bytes (of {@link Trace#HEADER}) at {@code b[at]}. */
    static void fileHeader(byte[] b, int at, int got, String name) throws IOException {
        checkEof(got, HEADER, name, 0, "file header");
        if (!Arrays.equals(b, at, at + 8, MAGIC, 0, 8)) {
            throw new FormatException(name, 0, "not a xenids tap trace (bad magic)");
        }
        CRC32C c = new CRC32C();
        c.update(b, at, 28);
        if ((int) c.getValue() != (int) I32.get(b, at + 28)) {
            throw new FormatException(name, 28, "file header checksum mismatch");
        }
        int version = (short) I16.get(b, at + 8) & 0xffff;
        if (version != VERSION) {
            throw new FormatException(name, 8, "trace version " + version + " (this reader knows " + VERSION + ")");
        }
        if (((short) I16.get(b, at + 10) & 0xffff) != HEADER || (int) I32.get(b, at + 12) != 0
                || (int) I32.get(b, at + 24) != DomainMemory.PAGE_SIZE) {
            throw new FormatException(name, 10, "unsupported header (length, flags or page size)");
        }
    }

    /** The body length a record header gives ({@code head}: type, three reserved bytes, length), checked. */
    static int bodyLength(long head, String name, long at) throws FormatException {
        if ((head & 0xffffff00L) != 0) {
            throw new FormatException(name, at, "reserved record header bytes are not zero");
        }
        int len = (int) (head >>> 32);
        if (len < 0 || len > MAX_BODY) {
            throw new FormatException(name, at, "record length " + Integer.toUnsignedString(len)
                    + " outside 0.." + MAX_BODY);
        }
        return len;
    }

    /** Checks the checksum of the record of type {@code type} and body length {@code len} at {@code b[from]}. */
    static void checksum(CRC32C crc, byte[] b, int from, int type, int len, String name, long at)
            throws FormatException {
        crc.reset();
        crc.update(b, from, REC_HEAD + len);
        if ((int) crc.getValue() != (int) I32.get(b, from + REC_HEAD + len)) {
            throw new FormatException(name, at, "record checksum mismatch (type " + type + ")");
        }
    }

    /** Checks the END record at {@code b[from]} against the {@code records} before it and the {@code calls} among them. */
    static void end(byte[] b, int from, int len, long records, long calls, String name, long at)
            throws FormatException {
        if (len != 16) {
            throw new FormatException(name, at, "end record of " + len + " bytes");
        }
        long r = (long) I64.get(b, from + REC_HEAD);
        long c = (long) I64.get(b, from + REC_HEAD + 8);
        if (r != records || c != calls) {
            throw new FormatException(name, at, "end record counts " + r + " records and " + c
                    + " calls, the file has " + records + " and " + calls);
        }
    }
}
