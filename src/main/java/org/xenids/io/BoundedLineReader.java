package org.xenids.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Lines of a text input, each refused as soon as it passes a length bound, each decoded strictly.
 * A {@link java.io.BufferedReader} reads a whole line before anyone can look at its length, so a
 * file without a line break (a 3 GB file of zeros given as a labels file) is read into one string
 * until the heap runs out, and its decoding error says only "Input length = 1". Here both errors
 * name the input and the line. Line breaks are {@code \n}, {@code \r} or {@code \r\n}, as for
 * {@code BufferedReader.readLine}; they are found in the bytes, which is exact for UTF-8 and
 * ISO-8859-1, where no multi-byte character holds those two bytes.
 */
public final class BoundedLineReader implements Closeable {
    private final InputStream in;
    private final String name;
    private final int maxBytes;
    private final CharsetDecoder decoder;
    private final byte[] buf = new byte[1 << 16];
    private byte[] line = new byte[256];
    private int len, pos, end;
    private long lineNo;
    private boolean skipLf;

    /**
     * @param name     the input as errors name it (its path)
     * @param maxBytes the longest line accepted, in bytes, its break not counted
     */
    public BoundedLineReader(InputStream in, String name, Charset charset, int maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        this.in = in;
        this.name = name;
        this.maxBytes = maxBytes;
        this.decoder = charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    /** Opens {@code file}, named "{@code what} {@code file}" in errors (e.g. "labels file /x/l.csv"). */
    public static BoundedLineReader open(Path file, String what, Charset charset, int maxBytes) throws IOException {
        String name = what + " " + file;
        if (Files.isDirectory(file)) {
            // Opening a directory succeeds on Linux; its first read fails with no name in the error.
            throw new IOException(name + " is a directory");
        }
        return new BoundedLineReader(Files.newInputStream(file), name, charset, maxBytes);
    }

    /** The next line without its break, or null at the end of the input. */
    public String readLine() throws IOException {
        len = 0;
        boolean any = false;
        while (true) {
            if (pos == end) {
                int n = in.read(buf, 0, buf.length);
                pos = 0;
                end = Math.max(n, 0);
                if (n <= 0) {
                    return any ? decoded() : null;
                }
            }
            if (skipLf) {
                skipLf = false;
                if (buf[pos] == '\n') {
                    pos++;
                    continue;
                }
            }
            any = true;
            int start = pos;
            while (pos < end && buf[pos] != '\n' && buf[pos] != '\r') {
                pos++;
            }
            int n = pos - start;
            if (n > maxBytes - len) {
                throw new BadLineException(name + ": line " + (lineNo + 1) + " is longer than " + maxBytes + " bytes");
            }
            if (len + n > line.length) {
                line = Arrays.copyOf(line, Math.min(maxBytes, Math.max(len + n, line.length * 2)));
            }
            System.arraycopy(buf, start, line, len, n);
            len += n;
            if (pos < end) {
                skipLf = buf[pos++] == '\r';
                return decoded();
            }
        }
    }

    private String decoded() throws IOException {
        lineNo++;
        try {
            return decoder.reset().decode(ByteBuffer.wrap(line, 0, len)).toString();
        } catch (CharacterCodingException e) {
            throw new BadLineException(name + ": line " + lineNo + " is not valid " + decoder.charset().name());
        }
    }

    /** A line too long or not in the input's encoding: the input is malformed, not unreadable. */
    public static final class BadLineException extends IOException {
        BadLineException(String message) {
            super(message);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
