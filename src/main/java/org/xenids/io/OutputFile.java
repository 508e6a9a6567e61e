package org.xenids.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * An output file whose every failure names it. A disk that fills up or a path that cannot be
 * written fails deep inside a writer, where the message is the system's alone ("No space left on
 * device"); a user with three outputs open must be told which one. Opening creates the missing
 * folders of the path, and says so when one of them cannot be made.
 */
public final class OutputFile extends FilterOutputStream {
    private final Path file;

    private OutputFile(Path file, OutputStream out) {
        super(out);
        this.file = file;
    }

    /** Opens {@code file} for writing, replacing it, behind a 64 KiB buffer. */
    public static OutputStream open(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            try {
                Files.createDirectories(parent);
            } catch (IOException e) {
                throw new IOException("output " + file + ": cannot create its folder " + parent + ": " + reason(e), e);
            }
        }
        try {
            return new java.io.BufferedOutputStream(new OutputFile(file, Files.newOutputStream(file)), 1 << 16);
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    @Override
    public void write(int b) throws IOException {
        try {
            out.write(b);
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    @Override
    public void flush() throws IOException {
        try {
            out.flush();
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            out.close();
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    /** {@code e} as "output FILE: reason", once (a buffered writer's close may flush into a failed write again). */
    static IOException named(Path file, IOException e) {
        String prefix = "output " + file + ": ";
        if (e.getMessage() != null && e.getMessage().startsWith(prefix)) {
            return e;
        }
        return new IOException(prefix + reason(e), e);
    }

    /** What went wrong, without the path the system repeats and without exception class names. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
