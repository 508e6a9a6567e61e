package org.xenids.tap;

import static org.xenids.tap.Trace.*;
import static org.xenids.tap.TraceFraming.I16;
import static org.xenids.tap.TraceFraming.I32;
import static org.xenids.tap.TraceFraming.I64;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32C;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.HypercallListener;

/**
 * Reads a trace record by record and replays it: reads recorded in a call's {@code completed}
 * phase are applied before that call is delivered; reads of an {@code allow} phase belong to the
 * next call, so they first deliver the pending one. From a stream each record is read into one
 * reused buffer; a trace held in memory is parsed where it lies (no copy of its records).
 */
final class TraceReader {
    /**
     * A stream is read into a window of this many bytes: room for the longest record twice, so the
     * records of a pending call (up to one maximal record's worth) stay while the next is read.
     */
    static final int WINDOW = 2 * (REC_HEAD + MAX_BODY + 4);

    private final InputStream in;
    /** {@code buf[pos, limit)}: read, not yet parsed (the whole trace when it is held in memory). */
    private int pos, limit;
    private final String name;
    private final TraceStore store;
    /** Reads are served from the records (see {@link ReplayMemory}), the image built lazily; null: every record applied as met. */
    private final ReplayMemory lazy;
    private final HypercallListener listener;
    /** The current record is {@code buf[base, base + 8 + length + 4)}: the stream's window, or the trace itself. */
    private final byte[] buf;
    private int base, recType, recLen;
    private final CRC32C crc = new CRC32C();
    private final TraceStore.Call call = new TraceStore.Call();
    private boolean pending;
    /** The pending call's group: the records after it, from {@code groupStart} (in-memory traces). */
    private int groupStart, groupRecords;
    /** The pending call's records did not all fit in the window: its reads are answered by the image. */
    private boolean groupBroken;
    /** The last two pages READ records named (domid << 44 | frame; −1: none), already registered, and their indexes. */
    private long lastPage = -1, lastPage2 = -1;
    private int lastIndex, lastIndex2;
    /** Whether the pending call's records may overlap (lazy mode only, else null). */
    private final GroupOverlap overlap;
    private int touched;
    private long offset, records, calls, reads, unknown;
    private long lastSeq = 0;
    boolean verify = true;

    /** A stream, every record applied to {@code store} as it is met. */
    TraceReader(InputStream in, String name, TraceStore store, HypercallListener listener) {
        this.in = in;
        this.buf = new byte[WINDOW];
        this.name = name;
        this.store = store;
        this.lazy = null;
        this.overlap = null;
        this.listener = listener;
    }

    /**
     * A stream or a trace held in memory, answering reads as {@link ReplayMemory} does: with
     * {@code in}, {@code memory}'s bytes are the window ({@link #WINDOW} bytes); without, the trace.
     */
    TraceReader(InputStream in, String name, ReplayMemory memory, HypercallListener listener) {
        this.in = in;
        this.buf = memory.data;
        this.limit = in == null ? buf.length : 0;
        this.name = name;
        this.store = memory.store;
        this.lazy = memory;
        this.overlap = new GroupOverlap();
        this.listener = listener;
    }

    private int u16(int at) {
        return (short) I16.get(buf, base + at) & 0xffff;
    }

    private int i32(int at) {
        return (int) I32.get(buf, base + at);
    }

    private long i64(int at) {
        return (long) I64.get(buf, base + at);
    }

    Summary run() throws IOException {
        try {
            return records();
        } finally {
            if (lazy != null) {
                lazy.finish(base);
            }
        }
    }

    private Summary records() throws IOException {
        header();
        while (true) {
            long at = offset;
            if (!nextRecord(at)) {
                deliver();
                return new Summary(records, calls, reads, unknown, false);
            }
            int type = recType, len = recLen;
            if (verify) {
                TraceFraming.checksum(crc, buf, base, type, len, name, at);
            }
            offset += REC_HEAD + len + 4;
            records++;
            // A record joins the pending call's group once handled (a phase-1 one first delivers the call).
            switch (type) {
                case T_CALL -> call(at, len);
                case T_READ -> {
                    read(at, len);
                    groupRecords++;
                }
                case T_READ_FAILED -> {
                    readFailed(at, len);
                    groupRecords++;
                }
                case T_GRANT_FRAMES -> {
                    grantFrames(at, len);
                    groupRecords++;
                }
                case T_END -> {
                    TraceFraming.end(buf, base, len, records - 1, calls, name, at);
                    deliver();
                    if (pos < limit || in != null && in.read() >= 0) {
                        throw new FormatException(name, offset, "data after the end record");
                    }
                    return new Summary(records, calls, reads, unknown, true);
                }
                default -> {
                    unknown++;
                    groupRecords++;
                }
            }
        }
    }

    /**
     * Makes the next record current, its header and length checked and all its bytes present;
     * false at a clean end of input (no byte of a further record).
     */
    private boolean nextRecord(long at) throws IOException {
        int got = Math.min(REC_HEAD, available(REC_HEAD));
        base = pos;
        if (got == 0) {
            return false;
        }
        checkEof(got, REC_HEAD, name, at, "record header");
        long head = i64(0); // type, three reserved bytes, length
        int len = TraceFraming.bodyLength(head, name, at);
        int body = Math.min(len + 4, available(REC_HEAD + len + 4) - REC_HEAD);
        base = pos;
        checkEof(body, len + 4, name, at, "record body");
        pos += REC_HEAD + len + 4;
        recType = (int) head & 0xff;
        recLen = len;
        return true;
    }

    /** Bytes at {@code pos} ready to parse: at least {@code n} when the input has them (a stream is read on). */
    private int available(int n) throws IOException {
        if (limit - pos < n && in != null) {
            refill(n);
        }
        return limit - pos;
    }

    /**
     * Drops the window's parsed bytes (applying, in lazy mode, the records in them not yet
     * applied) but the pending call's records, then reads until {@code n} bytes are ready or the
     * stream ends. A pending call whose records would not leave room is answered by the image.
     */
    private void refill(int n) throws IOException {
        int keep = lazy != null && pending && !groupBroken ? groupStart : pos;
        if (pos - keep + n > buf.length) {
            groupBroken = true;
            keep = pos;
        }
        if (lazy != null) {
            lazy.release(keep);
        }
        System.arraycopy(buf, keep, buf, 0, limit - keep);
        limit -= keep;
        pos -= keep;
        base -= keep;
        groupStart -= keep;
        while (limit - pos < n) {
            int r = in.read(buf, limit, buf.length - limit);
            if (r < 0) {
                return;
            }
            limit += r;
        }
    }

    private void header() throws IOException {
        int got = Math.min(HEADER, available(HEADER));
        TraceFraming.fileHeader(buf, pos, got, name);
        pos += got;
        offset = HEADER;
    }

    private void call(long at, int len) throws IOException {
        deliver();
        if (len < CALL_FIXED) {
            throw new FormatException(name, at, "call record of " + len + " bytes (< " + CALL_FIXED + ")");
        }
        long seq = i64(REC_HEAD);
        int size = u16(REC_HEAD + 22);
        int count = i32(REC_HEAD + 24);
        if (size > MAX_ARGS_STRUCT || count < 0 || (long) count * size != len - CALL_FIXED) {
            throw new FormatException(name, at, "call record: " + count + " ops of " + size
                    + " bytes do not fill its " + (len - CALL_FIXED) + " argument bytes");
        }
        if (seq <= lastSeq) {
            throw new FormatException(name, at, "call sequence " + seq + " not after " + lastSeq);
        }
        lastSeq = seq;
        call.sequence = seq;
        call.timestamp = i64(REC_HEAD + 8);
        call.caller = u16(REC_HEAD + 16);
        call.op = u16(REC_HEAD + 18);
        call.cmd = u16(REC_HEAD + 20);
        call.structSize = size;
        call.count = count;
        call.result = i64(REC_HEAD + 32);
        if (in == null) {
            call.args(buf, base + REC_HEAD + CALL_FIXED, len - CALL_FIXED); // read where it lies
        } else {
            call.copyArgs(buf, base + REC_HEAD + CALL_FIXED, len - CALL_FIXED); // the window moves before delivery
        }
        pending = true;
        groupStart = pos;
        groupRecords = 0;
        groupBroken = false;
        if (overlap != null) {
            overlap.start();
        }
        calls++;
    }

    private int domid(long at) throws IOException {
        int d = u16(REC_HEAD);
        if (d >= org.xenids.xen.abi.Xen.DOMID_FIRST_RESERVED) {
            throw new FormatException(name, at, "domid " + d + " is not a domain");
        }
        int phase = u16(REC_HEAD + 2);
        if (phase > 1) {
            throw new FormatException(name, at, "phase " + phase + " (0 or 1)");
        }
        if (phase == 1) {
            deliver();
        }
        return d;
    }

    /** The frame number of a READ or READ FAILED record, refused at or past {@link TraceStore#FRAME_LIMIT}. */
    private long frame(long at) throws IOException {
        long f = i64(REC_HEAD + 8);
        if (f < 0 || f >= TraceStore.FRAME_LIMIT) {
            throw new FormatException(name, at, "frame number " + Long.toUnsignedString(f) + " is not below 2^44");
        }
        return f;
    }

    private void read(long at, int len) throws IOException {
        if (len < READ_FIXED) {
            throw new FormatException(name, at, "read record of " + len + " bytes");
        }
        int d = domid(at);
        int off = i32(REC_HEAD + 4);
        int n = len - READ_FIXED;
        if (off < 0 || off > DomainMemory.PAGE_SIZE - n) { // n ≥ 0; off + n could overflow
            throw new FormatException(name, at, "read of " + n + " bytes at page offset " + off + " leaves the page");
        }
        long f = frame(at);
        if (lazy == null) {
            if (!store.put(d, f, off, buf, base + REC_HEAD + READ_FIXED, n)) {
                throw tooManyPages(at);
            }
        } else {
            // Only counted among the image's pages here (the page limit); a replay whose tap reads
            // these bytes copies them from here. Records of one page come in runs: the last two
            // pages met need no look-up.
            long k = (long) d << 44 | f;
            int page;
            if (k == lastPage) {
                page = lastIndex;
            } else if (k == lastPage2) {
                page = lastIndex2;
            } else {
                page = store.register(d, f);
                if (page < 0) {
                    throw tooManyPages(at);
                }
                lastPage2 = lastPage;
                lastIndex2 = lastIndex;
                lastPage = k;
                lastIndex = page;
            }
            if (pending) {
                overlap.add(page, off, off + n);
            }
            if (n > 256 && in == null) {
                touch(base + REC_HEAD + READ_FIXED, n);
            }
        }
        reads++;
    }

    private FormatException tooManyPages(long at) {
        return new FormatException(name, at, "trace touches more than " + TraceStore.MAX_PAGES + " pages");
    }

    /**
     * Loads one byte of every cache line of a long record's bytes, in order: the reader then moves
     * through the trace as a stream the processor prefetches, instead of jumping from header to
     * header (a miss each); the tap copying the bytes later finds them in the cache.
     */
    private void touch(int from, int n) {
        int t = touched;
        for (int i = 0; i < n; i += 64) {
            t += buf[from + i];
        }
        touched = t;
    }

    private void readFailed(long at, int len) throws IOException {
        if (len != READ_FIXED + 4) {
            throw new FormatException(name, at, "failed-read record of " + len + " bytes");
        }
        int d = domid(at);
        int off = i32(REC_HEAD + 4);
        int n = i32(REC_HEAD + READ_FIXED);
        if (off >= 0 && n >= 0 && off + (long) n <= DomainMemory.PAGE_SIZE) {
            long f = frame(at);
            if (lazy == null) {
                store.forget(d, f, off, n);
            } else if (pending) {
                int page = store.page(d, f);
                if (page < 0) {
                    overlap.untracked();
                } else {
                    overlap.add(page, off, off + n);
                }
            }
        }
    }

    private void grantFrames(long at, int len) throws IOException {
        if (len < 8 || (len - 8) % 8 != 0 || (len - 8) / 8 > MAX_GT) {
            throw new FormatException(name, at, "grant-frames record of " + len + " bytes");
        }
        int d = domid(at);
        int n = i32(REC_HEAD + 4);
        int k = (len - 8) / 8;
        if (k > Math.max(n, 0)) {
            throw new FormatException(name, at, "grant-frames record lists " + k + " of " + n + " frames");
        }
        long[] f = new long[k];
        for (int i = 0; i < k; i++) {
            f[i] = i64(REC_HEAD + 8 + 8 * i);
        }
        store.grantFrames(d, n < 0 ? -1 : n, f);
    }

    /** Hands the pending call to the listener; its group ends at the current record ({@code base}). */
    private void deliver() {
        if (pending) {
            pending = false;
            if (lazy == null) {
                listener.completed(call);
                return;
            }
            lazy.open(groupStart, base, groupBroken ? Integer.MAX_VALUE : groupRecords, overlap.overlapping());
            try {
                listener.completed(call);
            } finally {
                lazy.close();
            }
        }
    }
}
