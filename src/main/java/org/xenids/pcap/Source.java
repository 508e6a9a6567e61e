package org.xenids.pcap;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

/**
 * A window of capture bytes: {@code buf[pos..limit)} is what has been read and not consumed.
 * Streaming sources reuse one buffer (compacted when it runs short, grown only up to
 * {@link #maxWindow}), so memory stays constant whatever the file size; the array source reads
 * the caller's array in place.
 */
abstract class Source implements AutoCloseable {
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);

    byte[] buf;
    int pos;
    int limit;
    /** Stream offset of {@code buf[0]}: the offset of {@code buf[i]} is {@code base + i}. */
    long base;
    final String name;
    /** Largest window {@link #ensure} may be asked for. */
    final int maxWindow;

    Source(String name, byte[] buf, int maxWindow) {
        this.name = name;
        this.buf = buf;
        this.maxWindow = maxWindow;
    }

    /** Stream offset of {@code buf[pos]}. */
    final long offset() { return base + pos; }

    final int available() { return limit - pos; }

    /**
     * Makes at least {@code n} (≤ {@link #maxWindow}) bytes available at {@code buf[pos]};
     * false when the stream ends first (then {@link #available()} bytes remain).
     */
    final boolean ensure(int n) throws IOException {
        return limit - pos >= n || fill(n);
    }

    /** Consumes {@code n} bytes, reading past the window when needed; false at end of stream. */
    final boolean skip(long n) throws IOException {
        while (n > 0) {
            if (limit == pos && !fill(1)) {
                return false;
            }
            int k = (int) Math.min(limit - pos, n);
            pos += k;
            n -= k;
        }
        return true;
    }

    abstract boolean fill(int n) throws IOException;

    @Override
    public void close() throws IOException {}

    static int i32(byte[] b, int off, boolean bigEndian) {
        return bigEndian ? (int) BE32.get(b, off) : (int) LE32.get(b, off);
    }

    static int u16(byte[] b, int off, boolean bigEndian) {
        return (bigEndian ? (short) BE16.get(b, off) : (short) LE16.get(b, off)) & 0xFFFF;
    }

    static long u32(byte[] b, int off, boolean bigEndian) {
        return i32(b, off, bigEndian) & 0xFFFF_FFFFL;
    }

    /** The caller's bytes, read in place: nothing is copied. */
    static final class ArraySource extends Source {
        ArraySource(String name, byte[] data, int offset, int length) {
            super(name, data, Integer.MAX_VALUE);
            java.util.Objects.checkFromIndexSize(offset, length, data.length);
            this.pos = offset;
            this.limit = offset + length;
            this.base = -offset;
        }

        @Override
        boolean fill(int n) { return false; }
    }

    /** Base of the sources that refill a reusable buffer from somewhere else. */
    abstract static class Buffered extends Source {
        private boolean eof;

        Buffered(String name, int initial, int maxWindow) {
            super(name, new byte[initial], maxWindow);
        }

        @Override
        final boolean fill(int n) throws IOException {
            if (n > buf.length) {
                if (n > maxWindow) {
                    throw new IllegalArgumentException("window " + n + " exceeds " + maxWindow);
                }
                byte[] bigger = new byte[(int) Math.min(maxWindow, Math.max(n, 2L * buf.length))];
                System.arraycopy(buf, pos, bigger, 0, limit - pos);
                buf = bigger;
                grown(bigger);
            } else if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, limit - pos);
            }
            base += pos;
            limit -= pos;
            pos = 0;
            while (limit < n && !eof) {
                int r = read(buf, limit, buf.length - limit);
                if (r < 0) {
                    eof = true;
                } else {
                    limit += r;
                }
            }
            return limit >= n;
        }

        void grown(byte[] bigger) {}

        /** Reads up to {@code len} bytes; -1 at end of stream. */
        abstract int read(byte[] b, int off, int len) throws IOException;
    }

    /** A file (or any channel): reads straight into the buffer through a reused ByteBuffer view. */
    static final class ChannelSource extends Buffered {
        private final ReadableByteChannel ch;
        private ByteBuffer view;

        ChannelSource(String name, ReadableByteChannel ch, int initial, int maxWindow) {
            super(name, initial, maxWindow);
            this.ch = ch;
            this.view = ByteBuffer.wrap(buf);
        }

        @Override
        void grown(byte[] bigger) { view = ByteBuffer.wrap(bigger); }

        @Override
        int read(byte[] b, int off, int len) throws IOException {
            view.limit(off + len).position(off);
            int r;
            do {
                r = ch.read(view);
            } while (r == 0);
            return r;
        }

        @Override
        public void close() throws IOException { ch.close(); }
    }

    /** A stream, e.g. an xz decompressor over the file. */
    static final class StreamSource extends Buffered {
        private final InputStream in;

        StreamSource(String name, InputStream in, int initial, int maxWindow) {
            super(name, initial, maxWindow);
            this.in = in;
        }

        @Override
        int read(byte[] b, int off, int len) throws IOException {
            int r;
            do {
                r = in.read(b, off, len);
            } while (r == 0);
            return r;
        }

        @Override
        public void close() throws IOException { in.close(); }
    }

    /** Memory outside the heap (e.g. a mapped file): copied chunk by chunk into the buffer. */
    static final class SegmentSource extends Buffered {
        private final MemorySegment seg;
        private long next;

        SegmentSource(String name, MemorySegment seg, int initial, int maxWindow) {
            super(name, initial, maxWindow);
            this.seg = seg;
        }

        @Override
        int read(byte[] b, int off, int len) {
            long left = seg.byteSize() - next;
            if (left <= 0) {
                return -1;
            }
            int k = (int) Math.min(left, len);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, next, b, off, k);
            next += k;
            return k;
        }
    }
}
