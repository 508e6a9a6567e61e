package org.xenids.tap;

import static org.xenids.tap.Trace.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.HypercallListener;

/**
 * Reads a trace record by record and replays it: reads recorded in a call's {@code completed}
 * phase are applied before that call is delivered; reads of an {@code allow} phase belong to the
 * next call, so they first deliver the pending one. One record buffer, reused.
 */
final class TraceReader {
    private final InputStream in;
    private final String name;
    private final TraceStore store;
    private final HypercallListener listener;
    private final byte[] rec = new byte[REC_HEAD + MAX_BODY + 4];
    private final ByteBuffer bb = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();
    private final TraceStore.Call call = new TraceStore.Call();
    private final byte[] args = new byte[MAX_BODY];
    private final MemorySegment argsSeg = MemorySegment.ofArray(args);
    private boolean pending;
    private long offset, records, calls, reads, unknown;
    private long lastSeq = 0;
    boolean verify = true;

    TraceReader(InputStream in, String name, TraceStore store, HypercallListener listener) {
        this.in = in;
        this.name = name;
        this.store = store;
        this.listener = listener;
    }

    Summary run() throws IOException {
        header();
        while (true) {
            long at = offset;
            int got = readFully(in, rec, 0, REC_HEAD);
            if (got == 0) {
                deliver();
                return new Summary(records, calls, reads, unknown, false);
            }
            checkEof(got, REC_HEAD, name, at, "record header");
            int type = rec[0] & 0xff;
            int len = bb.getInt(4);
            if (rec[1] != 0 || rec[2] != 0 || rec[3] != 0) {
                throw new FormatException(name, at, "reserved record header bytes are not zero");
            }
            if (len < 0 || len > MAX_BODY) {
                throw new FormatException(name, at, "record length " + Integer.toUnsignedString(len)
                        + " outside 0.." + MAX_BODY);
            }
            checkEof(readFully(in, rec, REC_HEAD, len + 4), len + 4, name, at, "record body");
            if (verify) {
                crc.reset();
                crc.update(rec, 0, REC_HEAD + len);
            }
            if (verify && (int) crc.getValue() != bb.getInt(REC_HEAD + len)) {
                throw new FormatException(name, at, "record checksum mismatch (type " + type + ")");
            }
            offset += REC_HEAD + len + 4;
            records++;
            switch (type) {
                case T_CALL -> call(at, len);
                case T_READ -> read(at, len);
                case T_READ_FAILED -> readFailed(at, len);
                case T_GRANT_FRAMES -> grantFrames(at, len);
                case T_END -> {
                    end(at, len);
                    deliver();
                    if (in.read() >= 0) {
                        throw new FormatException(name, offset, "data after the end record");
                    }
                    return new Summary(records, calls, reads, unknown, true);
                }
                default -> unknown++;
            }
        }
    }

    private void header() throws IOException {
        byte[] h = new byte[HEADER];
        checkEof(readFully(in, h, 0, HEADER), HEADER, name, 0, "file header");
        if (!Arrays.equals(h, 0, 8, MAGIC, 0, 8)) {
            throw new FormatException(name, 0, "not a xenids tap trace (bad magic)");
        }
        ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C c = new CRC32C();
        c.update(h, 0, 28);
        if ((int) c.getValue() != b.getInt(28)) {
            throw new FormatException(name, 28, "file header checksum mismatch");
        }
        int version = b.getShort(8) & 0xffff;
        if (version != VERSION) {
            throw new FormatException(name, 8, "trace version " + version + " (this reader knows " + VERSION + ")");
        }
        if ((b.getShort(10) & 0xffff) != HEADER || b.getInt(12) != 0 || b.getInt(24) != DomainMemory.PAGE_SIZE) {
            throw new FormatException(name, 10, "unsupported header (length, flags or page size)");
        }
        offset = HEADER;
    }

    private void call(long at, int len) throws IOException {
        deliver();
        if (len < CALL_FIXED) {
            throw new FormatException(name, at, "call record of " + len + " bytes (< " + CALL_FIXED + ")");
        }
        long seq = bb.getLong(REC_HEAD);
        int size = bb.getShort(REC_HEAD + 22) & 0xffff;
        int count = bb.getInt(REC_HEAD + 24);
        if (size > MAX_ARGS_STRUCT || count < 0 || (long) count * size != len - CALL_FIXED) {
            throw new FormatException(name, at, "call record: " + count + " ops of " + size
                    + " bytes do not fill its " + (len - CALL_FIXED) + " argument bytes");
        }
        if (seq <= lastSeq) {
            throw new FormatException(name, at, "call sequence " + seq + " not after " + lastSeq);
        }
        lastSeq = seq;
        call.sequence = seq;
        call.timestamp = bb.getLong(REC_HEAD + 8);
        call.caller = bb.getShort(REC_HEAD + 16) & 0xffff;
        call.op = bb.getShort(REC_HEAD + 18) & 0xffff;
        call.cmd = bb.getShort(REC_HEAD + 20) & 0xffff;
        call.structSize = size;
        call.count = count;
        call.result = bb.getLong(REC_HEAD + 32);
        int n = len - CALL_FIXED;
        System.arraycopy(rec, REC_HEAD + CALL_FIXED, args, 0, n);
        call.args = args(n);
        pending = true;
        calls++;
    }

    private int domid(long at) throws IOException {
        int d = bb.getShort(REC_HEAD) & 0xffff;
        if (d >= org.xenids.xen.abi.Xen.DOMID_FIRST_RESERVED) {
            throw new FormatException(name, at, "domid " + d + " is not a domain");
        }
        int phase = bb.getShort(REC_HEAD + 2) & 0xffff;
        if (phase > 1) {
            throw new FormatException(name, at, "phase " + phase + " (0 or 1)");
        }
        if (phase == 1) {
            deliver();
        }
        return d;
    }

    private void read(long at, int len) throws IOException {
        if (len < READ_FIXED) {
            throw new FormatException(name, at, "read record of " + len + " bytes");
        }
        int d = domid(at);
        int off = bb.getInt(REC_HEAD + 4);
        int n = len - READ_FIXED;
        if (off < 0 || off + n > DomainMemory.PAGE_SIZE) {
            throw new FormatException(name, at, "read of " + n + " bytes at page offset " + off + " leaves the page");
        }
        if (!store.put(d, bb.getLong(REC_HEAD + 8), off, rec, REC_HEAD + READ_FIXED, n)) {
            throw new FormatException(name, at, "trace touches more than " + TraceStore.MAX_PAGES + " pages");
        }
        reads++;
    }

    private void readFailed(long at, int len) throws IOException {
        if (len != READ_FIXED + 4) {
            throw new FormatException(name, at, "failed-read record of " + len + " bytes");
        }
        int d = domid(at);
        int off = bb.getInt(REC_HEAD + 4);
        int n = bb.getInt(REC_HEAD + READ_FIXED);
        if (off >= 0 && n >= 0 && off + (long) n <= DomainMemory.PAGE_SIZE) {
            store.forget(d, bb.getLong(REC_HEAD + 8), off, n);
        }
    }

    private void grantFrames(long at, int len) throws IOException {
        if (len < 8 || (len - 8) % 8 != 0 || (len - 8) / 8 > MAX_GT) {
            throw new FormatException(name, at, "grant-frames record of " + len + " bytes");
        }
        int d = domid(at);
        int n = bb.getInt(REC_HEAD + 4);
        int k = (len - 8) / 8;
        if (k > Math.max(n, 0)) {
            throw new FormatException(name, at, "grant-frames record lists " + k + " of " + n + " frames");
        }
        long[] f = new long[k];
        for (int i = 0; i < k; i++) {
            f[i] = bb.getLong(REC_HEAD + 8 + 8 * i);
        }
        store.grantFrames(d, n < 0 ? -1 : n, f);
    }

    private void end(long at, int len) throws IOException {
        if (len != 16) {
            throw new FormatException(name, at, "end record of " + len + " bytes");
        }
        long r = bb.getLong(REC_HEAD);
        long c = bb.getLong(REC_HEAD + 8);
        if (r != records - 1 || c != calls) {
            throw new FormatException(name, at, "end record counts " + r + " records and " + c
                    + " calls, the file has " + (records - 1) + " and " + calls);
        }
    }

    /** Read-only views of the argument buffer, one per length, made once (no allocation per call). */
    private final MemorySegment[] views = new MemorySegment[16384];

    private MemorySegment args(int n) {
        if (n >= views.length) {
            return argsSeg.asSlice(0, n).asReadOnly();
        }
        MemorySegment v = views[n];
        if (v == null) {
            v = argsSeg.asSlice(0, n).asReadOnly();
            views[n] = v;
        }
        return v;
    }

    private void deliver() {
        if (pending) {
            pending = false;
            listener.completed(call);
        }
    }
}
