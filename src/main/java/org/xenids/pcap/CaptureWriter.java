package org.xenids.pcap;

import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import org.xenids.io.OutputFile;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes pcap or pcapng captures (little-endian, as libpcap and Wireshark write them on x86),
 * through one reused buffer: nothing is allocated per record. Usage for the tap's layout, one
 * interface per domain, vif and direction:
 * <pre>{@code
 * try (CaptureWriter w = CaptureWriter.pcapng(path)) {
 *     int tx = w.addInterface(LinkType.ETHERNET, "dom3.vif0.tx", "domain 3 vif 0, guest to host");
 *     w.write(tx, timestampNanos, frame, 0, frame.length);
 * }
 * }</pre>
 * pcapng interfaces record nanosecond timestamps ({@code if_tsresol} 9). A pcap file has the
 * single interface 0 given at creation. Not thread-safe.
 */
public abstract sealed class CaptureWriter implements Closeable, Flushable permits PcapWriter, PcapngWriter {
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final int BUFFER = 1 << 16;

    private final OutputStream out;
    final byte[] buf = new byte[BUFFER];
    int n;
    long records;
    private boolean closed;

    CaptureWriter(OutputStream out) {
        this.out = Objects.requireNonNull(out, "out");
    }

    /** A pcap stream with one interface (id 0) of {@code linkType}; µs or ns timestamps. */
    public static CaptureWriter pcap(OutputStream out, int linkType, boolean nanosecond) throws IOException {
        return new PcapWriter(out, linkType, nanosecond);
    }

    /** A pcap file (created or truncated, its folders made) with one interface (id 0) of {@code linkType}; failures name it. */
    public static CaptureWriter pcap(Path file, int linkType, boolean nanosecond) throws IOException {
        OutputStream out = OutputFile.open(file);
        try {
            return new PcapWriter(out, linkType, nanosecond);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** A pcapng stream of one section; add interfaces before writing their packets. */
    public static CaptureWriter pcapng(OutputStream out) throws IOException {
        return new PcapngWriter(out);
    }

    /** A pcapng file (created or truncated, its folders made) of one section; failures name it. */
    public static CaptureWriter pcapng(Path file) throws IOException {
        OutputStream out = OutputFile.open(file);
        try {
            return new PcapngWriter(out);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /**
     * Describes a new interface and returns its id (0, 1, 2, … in order). pcapng only: a pcap
     * file has exactly the interface given at creation.
     *
     * @param name        {@code if_name}, or null
     * @param description {@code if_description}, or null
     */
    public abstract int addInterface(int linkType, String name, String description) throws IOException;

    /**
     * Records interface statistics at {@code timestampNanos}: packets received and dropped so
     * far (cumulative), so a reader can report the loss. pcapng only.
     */
    public abstract void statistics(int interfaceId, long timestampNanos, long received, long dropped) throws IOException;

    /** Number of interfaces described. */
    public abstract int interfaceCount();

    /** Writes a whole frame: {@code data[offset, offset+length)} captured in full. */
    public final void write(int interfaceId, long timestampNanos, byte[] data, int offset, int length) throws IOException {
        write(interfaceId, timestampNanos, data, offset, length, length);
    }

    /**
     * Writes one record: {@code capturedLength} bytes from {@code data[offset]} of a frame that was
     * {@code originalLength} bytes on the wire.
     *
     * @throws IllegalArgumentException for an unknown interface, a negative or unrepresentable
     *         timestamp, a captured length over {@link CaptureReader#MAX_CAPLEN} or over the original
     *         length: the writer never produces a file its reader would reject
     */
    public final void write(int interfaceId, long timestampNanos, byte[] data, int offset,
            int capturedLength, int originalLength) throws IOException {
        if (closed) {
            throw new IllegalStateException("writer is closed");
        }
        Objects.checkIndex(interfaceId, interfaceCount());
        Objects.checkFromIndexSize(offset, capturedLength, data.length);
        if (capturedLength > CaptureReader.MAX_CAPLEN) {
            throw new IllegalArgumentException("captured length " + capturedLength + " exceeds " + CaptureReader.MAX_CAPLEN);
        }
        if (originalLength < capturedLength) {
            throw new IllegalArgumentException("original length " + originalLength + " < captured length " + capturedLength);
        }
        if (timestampNanos < 0) {
            throw new IllegalArgumentException("timestamp " + timestampNanos + " is before 1970");
        }
        record(interfaceId, timestampNanos, data, offset, capturedLength, originalLength);
        records++;
    }

    /** Copies the current record of {@code reader} (time, bytes, lengths) to interface {@code interfaceId}. */
    public final void write(int interfaceId, CaptureReader reader) throws IOException {
        write(interfaceId, reader.timestampNanos(), reader.array(), reader.dataOffset(),
                reader.capturedLength(), reader.originalLength());
    }

    /** Puts the record in the buffer (header, data, trailer) with {@link #room} and {@link #bytes}. */
    abstract void record(int interfaceId, long timestampNanos, byte[] data, int offset, int caplen, int origlen) throws IOException;

    /** Records written. */
    public final long records() { return records; }

    /** Makes {@code size} bytes of room in the buffer (size ≤ {@link #BUFFER}). */
    final void room(int size) throws IOException {
        if (buf.length - n < size) {
            drain();
        }
    }

    /** Appends bytes: through the buffer when they fit, straight to the stream when they do not. */
    final void bytes(byte[] data, int offset, int len) throws IOException {
        if (len <= buf.length - n) {
            System.arraycopy(data, offset, buf, n, len);
            n += len;
        } else {
            drain();
            out.write(data, offset, len);
        }
    }

    final void i32(int v) {
        LE32.set(buf, n, v);
        n += 4;
    }

    final void i16(int v) {
        LE16.set(buf, n, (short) v);
        n += 2;
    }

    final void i64(long v) {
        i32((int) v);
        i32((int) (v >>> 32));
    }

    final void zeros(int count) {
        for (int i = 0; i < count; i++) {
            buf[n++] = 0;
        }
    }

    private void drain() throws IOException {
        if (n > 0) {
            out.write(buf, 0, n);
            n = 0;
        }
    }

    final void checkOpen() {
        if (closed) {
            throw new IllegalStateException("writer is closed");
        }
    }

    @Override
    public void flush() throws IOException {
        checkOpen();
        drain();
        out.flush();
    }

    /** Writes what is buffered and closes the stream. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try (out) {
            drain();
        }
    }
}
