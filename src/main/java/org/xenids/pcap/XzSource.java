package org.xenids.pcap;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import org.tukaani.xz.XZIOException;
import org.tukaani.xz.XZInputStream;

/**
 * The decompressed stream of an xz-compressed capture. Decoder faults (corrupt or truncated
 * data, unsupported options, a dictionary over the memory limit) become format errors at the
 * uncompressed offset reached.
 */
final class XzSource extends Source.Buffered {
    /** Memory the decoder may use: enough for files made with {@code xz -9}, bounded for hostile ones. */
    static final int MEMORY_LIMIT_KIB = 100 * 1024;
    private final InputStream in;

    private XzSource(String name, InputStream in) {
        super(name, CaptureReader.DEFAULT_BUFFER, CaptureReader.MAX_BLOCK);
        this.in = in;
    }

    /** Decompresses what remains of {@code compressed}, which starts with the xz magic. */
    static XzSource over(Source compressed) throws IOException {
        InputStream raw = compressed instanceof Source.ArraySource
                ? new ByteArrayInputStream(compressed.buf, compressed.pos, compressed.available())
                : new Pull(compressed);
        try {
            return new XzSource(compressed.name, new XZInputStream(raw, MEMORY_LIMIT_KIB));
        } catch (XZIOException | EOFException e) {
            throw error(compressed.name, 0, e);
        }
    }

    @Override
    int read(byte[] b, int off, int len) throws IOException {
        try {
            int r;
            do {
                r = in.read(b, off, len);
            } while (r == 0);
            return r;
        } catch (XZIOException | EOFException e) {
            throw error(name, base + off, e);
        }
    }

    private static CaptureFormatException error(String name, long offset, IOException e) {
        String msg = e instanceof EOFException ? "xz stream is truncated" : "xz: " + e.getMessage();
        return new CaptureFormatException(name, offset, msg, e);
    }

    @Override
    public void close() throws IOException { in.close(); }

    /** Lets the decoder pull from a streaming source's buffer. */
    private static final class Pull extends InputStream {
        private final Source src;

        Pull(Source src) { this.src = src; }

        @Override
        public int read() throws IOException {
            return src.ensure(1) ? src.buf[src.pos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (src.available() == 0 && !src.ensure(1)) {
                return -1;
            }
            int k = Math.min(len, src.available());
            System.arraycopy(src.buf, src.pos, b, off, k);
            src.pos += k;
            return k;
        }

        @Override
        public void close() throws IOException { src.close(); }
    }
}
