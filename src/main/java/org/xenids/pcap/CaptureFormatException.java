package org.xenids.pcap;

import java.io.IOException;

/**
 * A capture file that breaks its format: the one-line message names the file and the byte offset
 * (in the uncompressed stream) of the record or block at fault, e.g.
 * {@code "train.pcap: offset 123456: record length 4294967295 exceeds snaplen 262144"}.
 * It is an {@link IOException} so callers that already handle I/O failures handle this too.
 */
public final class CaptureFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final String source;
    private final long offset;
    private final String detail;

    public CaptureFormatException(String source, long offset, String detail) {
        super(source + ": offset " + offset + ": " + detail);
        this.source = source;
        this.offset = offset;
        this.detail = detail;
    }

    CaptureFormatException(String source, long offset, String detail, Throwable cause) {
        this(source, offset, detail);
        initCause(cause);
    }

    /** The name of the capture (file name, or the name given to an in-memory reader). */
    public String source() { return source; }

    /** Byte offset, in the uncompressed capture, of the record, block or field at fault. */
    public long offset() { return offset; }

    /** The message without the source and offset prefix. */
    public String detail() { return detail; }
}
