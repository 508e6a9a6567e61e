package org.xenids.pcap;

import java.io.IOException;
import java.io.InputStream;

/**
 * The compressed bytes of an .xz file, read once and in order by the container
 * ({@link XzDecoder}) and the LZMA2 chunks ({@link Lzma2Decoder}) in turn. It counts the bytes
 * read and holds the part of the file being read, set by the container, because every fault
 * says where in the compressed file the data end or went wrong; the faults are worded here so
 * that both readers say it the same way.
 */
final class XzInput {
    private final InputStream in;

    /** Compressed bytes read. */
    private long pos;
    /** Where the parser is, for messages ("block 2's data", "the index"). */
    private String part = "the stream header";

    XzInput(InputStream in) {
        this.in = in;
    }

    /** Compressed bytes read so far: the offset of the next byte in the file. */
    long position() { return pos; }

    /** Names the part of the file read from here on, for the faults met in it. */
    void enter(String part) { this.part = part; }

    void close() throws IOException { in.close(); }

    int u8() throws IOException {
        int c = in.read();
        if (c < 0) {
            throw truncated();
        }
        pos++;
        return c;
    }

    int u16() throws IOException {
        return u8() << 8 | u8();
    }

    /** Reads {@code n} bytes, fewer only where the file ends. */
    int readUpTo(byte[] b, int off, int n) throws IOException {
        int got = 0;
        while (got < n) {
            int r = in.read(b, off + got, n - got);
            if (r < 0) {
                break;
            }
            got += r;
        }
        pos += got;
        return got;
    }

    void readFully(byte[] b, int off, int n) throws IOException {
        if (readUpTo(b, off, n) < n) {
            throw truncated();
        }
    }

    // ---- faults ----------------------------------------------------------------------------

    /** A fault of the xz data, turned into a {@link CaptureFormatException} at the decompressed offset reached. */
    static final class Fault extends IOException {
        private static final long serialVersionUID = 1L;

        Fault(String message) { super(message); }
    }

    /** The file ends here; the message is fixed now, at the position and part reached. */
    Fault truncated() {
        return new Fault("xz stream is truncated: the compressed file ends at byte " + pos + ", in " + part
                + "; the decompressed data end here");
    }

    Fault corrupt(String what) {
        return new Fault("xz data are corrupt: " + what + " (in " + part + ")");
    }

    Fault unsupported(String what) {
        return new Fault("xz: unsupported " + what + " (in " + part + ")");
    }
}
