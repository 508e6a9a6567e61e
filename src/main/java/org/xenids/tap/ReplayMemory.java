package org.xenids.tap;

import static org.xenids.tap.Trace.REC_HEAD;
import static org.xenids.tap.Trace.T_READ;
import static org.xenids.tap.Trace.T_READ_FAILED;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.xenids.xen.event.DomainMemory;

/**
 * The memory a replay of a trace held in memory gives the listener, answering exactly as the
 * memory image of {@code docs/tap-trace.md} (every READ and READ FAILED record applied in file
 * order, a call delivered once its phase-0 records are in) without building that image while the
 * listener reads what was recorded.
 *
 * <p>During a call's callback the recorded tap read, in order, the bytes of the phase-0 records
 * that follow the call (its group). A read naming exactly the range of one of the next few
 * records of the group is answered from that record's bytes where they lie in the trace (a READ
 * FAILED record answers "failed"), provided no later record of the group touches those bytes
 * differently: then the image would hold just that record's bytes (or not know them) too. The
 * reader tells, as it meets a group's records, whether two of them may overlap ({@link GroupOverlap}):
 * when none may (a busy ring's slots, one page per packet), no record changes another and nothing
 * more is checked; else a group of up to {@link #MAX_GROUP} records is searched for such a later
 * record read by read, and a larger one is answered by the image. Any other read — a
 * re-read of bytes an earlier call's records gave, bytes never given, a different tap's reads —
 * first brings the image up to date (every record so far applied, once, in file order) and is
 * answered by it. The page limit is enforced by the reader as it meets the records
 * ({@link TraceStore#register}), so a trace is refused at the same record either way.
 */
final class ReplayMemory implements DomainMemory {
    private static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** An overlapping group of more records than this is only read through the image (bounds the search per read). */
    static final int MAX_GROUP = 64;
    /** How many records past the cursor a read may match (a tap that skips a recorded read). */
    static final int LOOK_AHEAD = 8;
    /** Offset of a READ record's bytes, and of a READ FAILED record's length, from the record's start. */
    private static final int BYTES = REC_HEAD + Trace.READ_FIXED;

    /** The trace, or a stream's window (see {@link TraceReader#WINDOW}): positions below are in it. */
    final byte[] data;
    final TraceStore store = new TraceStore();
    /** Records before {@code applied} are in the image; a read through the image applies up to {@code limit}. */
    private int applied = Trace.HEADER, limit = Trace.HEADER;
    /**
     * The delivered call's group: {@code records} records in {@code [start, end)}, served from when
     * {@code direct}; the next read is looked for from {@code cursor}.
     */
    private int cursor, end, records;
    private boolean direct;
    /** Whether two records of the group may overlap (then a match is checked against the later records). */
    private boolean overlapping;
    /** Reads answered from the trace's records, and through the image (for tests). */
    long served, throughImage;

    ReplayMemory(byte[] data) {
        this.data = data;
    }

    /**
     * A call's callback starts: its group is the {@code records} records in {@code [start, end)}
     * ({@link Integer#MAX_VALUE}: a group the stream's window could not hold, answered by the
     * image), {@code overlapping} when two of them may name a common byte.
     */
    void open(int start, int end, int records, boolean overlapping) {
        this.cursor = start;
        this.end = end;
        this.limit = end;
        this.records = records;
        this.direct = records != Integer.MAX_VALUE;
        this.overlapping = overlapping;
    }

    void close() {
        direct = false;
    }

    /** The replay stopped at {@code pos}: a later read sees every record before it. */
    void finish(int pos) {
        direct = false;
        limit = pos;
    }

    @Override
    public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
        if (len < 0 || dstOff < 0 || dstOff > dst.length - len) {
            return false;
        }
        if (direct && len > 0) {
            int p = match(domid, frame, offset, len);
            if (p >= 0) {
                served++;
                if (data[p] == T_READ_FAILED) {
                    return false;
                }
                TraceStore.copy(data, p + BYTES, dst, dstOff, len);
                return true;
            }
        }
        image();
        return store.read(domid, frame, offset, dst, dstOff, len);
    }

    @Override
    public boolean read(int domid, long frame, int offset, MemorySegment dst) {
        long size = dst.byteSize();
        if (direct && size > 0 && size <= PAGE_SIZE) {
            int p = match(domid, frame, offset, (int) size);
            if (p >= 0) {
                served++;
                if (data[p] == T_READ_FAILED) {
                    return false;
                }
                MemorySegment.copy(data, p + BYTES, dst, ValueLayout.JAVA_BYTE, 0, (int) size);
                return true;
            }
        }
        image();
        return store.read(domid, frame, offset, dst);
    }

    @Override
    public int grantTableFrames(int domid, long[] out) {
        return store.grantTableFrames(domid, out); // GRANT FRAMES records are applied as they are met
    }

    private void image() {
        throughImage++;
        if (applied < limit) {
            applyTo(limit);
        }
    }

    /**
     * The reader drops {@code data[0, keep)} from its window and moves the rest to the front:
     * records there not yet applied are applied now, positions move with the bytes.
     */
    void release(int keep) {
        if (applied < keep) {
            applyTo(keep);
        }
        applied -= keep;
        limit -= keep;
        cursor -= keep;
        end -= keep;
    }

    /** Applies the READ and READ FAILED records in {@code [applied, to)}, which the reader has checked. */
    private void applyTo(int to) {
        for (int p = applied; p < to; p += REC_HEAD + i32(p + 4) + 4) {
            int type = data[p];
            if (type == T_READ) {
                // Its page was registered when the reader met it, so put cannot refuse it.
                store.put(u16(p + REC_HEAD), i64(p + REC_HEAD + 8), i32(p + REC_HEAD + 4), data, p + BYTES,
                        i32(p + 4) - Trace.READ_FIXED);
            } else if (type == T_READ_FAILED) {
                int off = i32(p + REC_HEAD + 4), n = i32(p + BYTES);
                if (off >= 0 && n >= 0 && off + (long) n <= PAGE_SIZE) {
                    store.forget(u16(p + REC_HEAD), i64(p + REC_HEAD + 8), off, n);
                }
            }
        }
        applied = to;
    }

    /**
     * The record among the next {@link #LOOK_AHEAD} of the group that answers a read of exactly
     * {@code [offset, offset+len)} of (domid, frame) as the image would, its start; −1 when none.
     * The cursor moves past a record that answers.
     */
    private int match(int domid, long frame, int offset, int len) {
        if (offset < 0 || offset > PAGE_SIZE - len) {
            return -1;
        }
        if (overlapping && records > MAX_GROUP) {
            return -1;
        }
        for (int k = 0, p = cursor; k < LOOK_AHEAD && p < end; k++) {
            int type = data[p], rl = i32(p + 4);
            int next = p + REC_HEAD + rl + 4;
            if ((type == T_READ ? rl - Trace.READ_FIXED == len : type == T_READ_FAILED && i32(p + BYTES) == len)
                    && i32(p + REC_HEAD + 4) == offset && i64(p + REC_HEAD + 8) == frame && u16(p + REC_HEAD) == domid) {
                if (overlapping && changedLater(p, next, domid, frame, offset, len)) {
                    return -1;
                }
                cursor = next;
                return p;
            }
            p = next;
        }
        return -1;
    }

    /**
     * Whether a record of the group after record {@code p} (from {@code q}) changes what the image
     * holds for {@code p}'s range: a READ FAILED of any of its bytes, or a READ giving any of them
     * other values (or giving bytes {@code p}, a READ FAILED, left unknown).
     */
    private boolean changedLater(int p, int q, int domid, long frame, int offset, int len) {
        boolean pRead = data[p] == T_READ;
        for (; q < end; q += REC_HEAD + i32(q + 4) + 4) {
            int type = data[q];
            if (type != T_READ && type != T_READ_FAILED || i64(q + REC_HEAD + 8) != frame || u16(q + REC_HEAD) != domid) {
                continue;
            }
            int qo = i32(q + REC_HEAD + 4);
            int qn = type == T_READ ? i32(q + 4) - Trace.READ_FIXED : i32(q + BYTES);
            if (type == T_READ_FAILED && (qo < 0 || qn < 0 || qo + (long) qn > PAGE_SIZE)) {
                continue; // the image ignores a failed read that leaves the page
            }
            int lo = Math.max(offset, qo), hi = Math.min(offset + len, qo + qn);
            if (lo >= hi) {
                continue;
            }
            if (!pRead || type != T_READ || !Arrays.equals(data, p + BYTES + lo - offset, p + BYTES + hi - offset,
                    data, q + BYTES + lo - qo, q + BYTES + hi - qo)) {
                return true;
            }
        }
        return false;
    }

    private int u16(int at) {
        return (short) I16.get(data, at) & 0xffff;
    }

    private int i32(int at) {
        return (int) I32.get(data, at);
    }

    private long i64(int at) {
        return (long) I64.get(data, at);
    }
}
