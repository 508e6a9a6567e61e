package org.xenids.pcap;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The decompressed stream of an xz-compressed capture (see {@link XzDecoder}). A fault of the xz
 * data (cut or corrupt, unsupported options, a dictionary over the memory limit) becomes a format
 * error at the decompressed offset where the data end, after every byte decoded before it.
 */
final class XzSource extends Source.Buffered {
    /** Memory the decoder may use: enough for files made with {@code xz -9}, bounded for hostile ones. */
    static final int MEMORY_LIMIT_KIB = 100 * 1024;
    private final XzDecoder in;

    private XzSource(String name, XzDecoder in) {
        super(name, CaptureReader.DEFAULT_BUFFER, CaptureReader.MAX_BLOCK);
        this.in = in;
    }

    /** Decompresses what remains of {@code compressed}, which starts with the xz magic. */
    static XzSource over(Source compressed) {
        InputStream raw = compressed instanceof Source.ArraySource
                ? new ByteArrayInputStream(compressed.buf, compressed.pos, compressed.available())
                : new Pull(compressed);
        return new XzSource(compressed.name, new XzDecoder(compressed.name, raw, MEMORY_LIMIT_KIB * 1024L));
    }

    @Override
    int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
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
