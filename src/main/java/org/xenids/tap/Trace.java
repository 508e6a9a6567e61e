package org.xenids.tap;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * The tap's trace file: the hypercall stream plus every byte the tap read, so a tap can run
 * later, elsewhere, on exactly what it saw (format: {@code docs/tap-trace.md}). The reader is a
 * hostile-input parser: every length is bounded before use, every record is checksummed, and an
 * error names the file and byte offset.
 */
public final class Trace {
    private Trace() {}

    static final byte[] MAGIC = {'X', 'E', 'N', 'I', 'D', 'S', 'T', 'R'};
    public static final int VERSION = 1;
    static final int HEADER = 32, REC_HEAD = 8, MAX_BODY = 1 << 20, MAX_ARGS_STRUCT = 64;
    static final int T_CALL = 1, T_READ = 2, T_READ_FAILED = 3, T_GRANT_FRAMES = 4, T_END = 5;
    static final int CALL_FIXED = 40, READ_FIXED = 16, MAX_GT = 64;

    /** A malformed trace: the message names the file and the byte offset. */
    public static final class FormatException extends IOException {
        FormatException(String name, long offset, String what) {
            super(name + ": offset " + offset + ": " + what);
        }
    }

    /** What a replay read. */
    public record Summary(long records, long calls, long reads, long unknownRecords, boolean ended) {}

    /** Starts a trace on {@code out}; the recorder owns the stream. */
    public static Recorder recorder(DomainMemory memory, OutputStream out) throws IOException {
        return new Recorder(memory, out);
    }

    /**
     * Records a host's stream: give {@link #memory()} to the tap, register {@link #around} with
     * the host instead of the tap itself, {@link #close()} at the end.
     */
    public static final class Recorder implements Closeable {
        private final DomainMemory inner;
        private final OutputStream out;
        private final byte[] rec = new byte[REC_HEAD + MAX_BODY + 4];
        private final MemorySegment recSeg = MemorySegment.ofArray(rec);
        private final ByteBuffer bb = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();
        private int phase;
        private long records, calls;
        private IOException failure;
        private final DomainMemory memory = new DomainMemory() {
            @Override
            public boolean read(int domid, long frame, int offset, MemorySegment dst) {
                boolean ok = inner.read(domid, frame, offset, dst);
                int len = (int) dst.byteSize();
                if (ok && len <= MAX_BODY - READ_FIXED) {
                    readHead(domid, frame, offset);
                    MemorySegment.copy(dst, 0, recSeg, REC_HEAD + READ_FIXED, len);
                    emit(T_READ, READ_FIXED + len);
                } else {
                    readHead(domid, frame, offset);
                    bb.putInt(REC_HEAD + READ_FIXED, len);
                    emit(T_READ_FAILED, READ_FIXED + 4);
                }
                return ok;
            }

            @Override
            public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
                boolean ok = inner.read(domid, frame, offset, dst, dstOff, len);
                readHead(domid, frame, offset);
                if (ok && len <= MAX_BODY - READ_FIXED) {
                    System.arraycopy(dst, dstOff, rec, REC_HEAD + READ_FIXED, len);
                    emit(T_READ, READ_FIXED + len);
                } else {
                    bb.putInt(REC_HEAD + READ_FIXED, len);
                    emit(T_READ_FAILED, READ_FIXED + 4);
                }
                return ok;
            }

            @Override
            public int grantTableFrames(int domid, long[] out) {
                int n = inner.grantTableFrames(domid, out);
                int k = Math.max(0, Math.min(Math.min(n, out.length), MAX_GT));
                bb.putShort(REC_HEAD, (short) domid);
                bb.putShort(REC_HEAD + 2, (short) phase);
                bb.putInt(REC_HEAD + 4, n);
                for (int i = 0; i < k; i++) {
                    bb.putLong(REC_HEAD + 8 + 8 * i, out[i]);
                }
                emit(T_GRANT_FRAMES, 8 + 8 * k);
                return n;
            }
        };

        private Recorder(DomainMemory inner, OutputStream out) throws IOException {
            this.inner = inner;
            this.out = new BufferedOutputStream(out, 1 << 16);
            ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putShort((short) VERSION).putShort((short) HEADER).putInt(0)
                    .putLong(System.currentTimeMillis() * 1_000_000L).putInt(DomainMemory.PAGE_SIZE);
            CRC32C c = new CRC32C();
            c.update(h.array(), 0, 28);
            h.putInt((int) c.getValue());
            this.out.write(h.array());
        }

        private void readHead(int domid, long frame, int offset) {
            bb.putShort(REC_HEAD, (short) domid);
            bb.putShort(REC_HEAD + 2, (short) phase);
            bb.putInt(REC_HEAD + 4, offset);
            bb.putLong(REC_HEAD + 8, frame);
        }

        /** What the tap reads through this memory goes into the trace. */
        public DomainMemory memory() {
            return memory;
        }

        /** A listener that records each call, then hands it to {@code tap}. */
        public HypercallListener around(HypercallListener tap) {
            return new HypercallListener() {
                @Override
                public boolean allow(Hypercall call, int index) {
                    phase = 1;
                    try {
                        return tap.allow(call, index);
                    } finally {
                        phase = 0;
                    }
                }

                @Override
                public void completed(Hypercall call) {
                    writeCall(call);
                    tap.completed(call);
                }
            };
        }

        private void writeCall(Hypercall c) {
            MemorySegment args = c.args();
            int size = c.structSize();
            int n = size == 0 ? 0 : (int) Math.min(c.count(), args.byteSize() / size);
            if (size > MAX_ARGS_STRUCT || (long) n * size > MAX_BODY - CALL_FIXED) {
                n = 0; // not an op xenids decodes at this size: the call is kept, its args are not
            }
            bb.putLong(REC_HEAD, c.sequence());
            bb.putLong(REC_HEAD + 8, c.timestampNanos());
            bb.putShort(REC_HEAD + 16, (short) c.callerDomid());
            bb.putShort(REC_HEAD + 18, (short) c.op());
            bb.putShort(REC_HEAD + 20, (short) c.cmd());
            bb.putShort(REC_HEAD + 22, (short) (n == 0 ? 0 : size));
            bb.putInt(REC_HEAD + 24, n);
            bb.putInt(REC_HEAD + 28, 0);
            bb.putLong(REC_HEAD + 32, c.result());
            int bytes = n * size;
            if (bytes > 0) {
                MemorySegment.copy(args, 0, recSeg, REC_HEAD + CALL_FIXED, bytes);
            }
            calls++;
            emit(T_CALL, CALL_FIXED + bytes);
        }

        private void emit(int type, int bodyLen) {
            rec[0] = (byte) type;
            rec[1] = 0;
            rec[2] = 0;
            rec[3] = 0;
            bb.putInt(4, bodyLen);
            crc.reset();
            crc.update(rec, 0, REC_HEAD + bodyLen);
            bb.putInt(REC_HEAD + bodyLen, (int) crc.getValue());
            records++;
            if (failure == null) {
                try {
                    out.write(rec, 0, REC_HEAD + bodyLen + 4);
                } catch (IOException e) {
                    failure = e;
                }
            }
        }

        public long records() {
            return records;
        }

        /** Writes the end record and closes the stream; reports a write error met on the way. */
        @Override
        public void close() throws IOException {
            bb.putLong(REC_HEAD, records);
            bb.putLong(REC_HEAD + 8, calls);
            emit(T_END, 16);
            out.close();
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** Replays {@code file}: the listener is made over the trace's memory, then sees every call. */
    public static Summary replay(Path file, Function<DomainMemory, HypercallListener> listener) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return replay(in, file.toString(), listener);
        }
    }

    /**
     * Replays a trace read from {@code in} through a window of {@link TraceReader#WINDOW} bytes
     * (memory does not grow with the trace); reads are answered as from a trace held in memory.
     */
    public static Summary replay(InputStream in, String name, Function<DomainMemory, HypercallListener> listener)
            throws IOException {
        ReplayMemory memory = new ReplayMemory(new byte[TraceReader.WINDOW]);
        HypercallListener l = listener.apply(memory);
        return new TraceReader(in, name, memory, l).run();
    }

    /**
     * The replay as docs/tap-trace.md states it, every record applied to the memory image as it
     * is read: the reference the replays above must answer exactly as (tests).
     */
    static Summary replayApplyingEveryRecord(InputStream in, String name,
                                             Function<DomainMemory, HypercallListener> listener) throws IOException {
        TraceStore store = new TraceStore();
        HypercallListener l = listener.apply(store);
        return new TraceReader(in, name, store, l).run();
    }

    /**
     * Replays a trace held in memory. With {@code verify} false the record checksums are not
     * recomputed (for a trace already read once with them checked, e.g. a benchmark's); every
     * length is still checked.
     */
    public static Summary replay(byte[] data, String name, boolean verify,
                                 Function<DomainMemory, HypercallListener> listener) throws IOException {
        ReplayMemory memory = new ReplayMemory(data);
        HypercallListener l = listener.apply(memory);
        TraceReader r = new TraceReader(null, name, memory, l);
        r.verify = verify;
        return r.run();
    }

    static int readFully(InputStream in, byte[] b, int off, int len) throws IOException {
        int n = 0;
        while (n < len) {
            int r = in.read(b, off + n, len - n);
            if (r < 0) {
                return n;
            }
            n += r;
        }
        return n;
    }

    static void checkEof(int got, int want, String name, long offset, String what) throws IOException {
        if (got != want) {
            throw new FormatException(name, offset, "truncated " + what + " (" + got + " of " + want + " bytes)");
        }
    }
}
