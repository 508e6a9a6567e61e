package org.xenids.vmi.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.xenids.io.BoundedLineReader;
import org.xenids.io.Printable;

/**
 * A System.map or /proc/kallsyms-format file ("ffffffff81000000 T _text", kallsyms lines may
 * end with "[module]"); ".xz" files are read through xz. The addresses are the file's; the
 * locator slides kernel-image symbols to where the running kernel has them.
 */
final class SymbolFile {
    private SymbolFile() {}

    /** Far above any kernel's symbol count; bounds memory on a hostile file. */
    private static final int MAX_LINES = 4_000_000;
    /** Far above a kallsyms line (a 16-digit address, a type, a symbol of at most 512 bytes, a module). */
    private static final int MAX_LINE = 4096;

    static SymbolTable read(Path file) {
        byte[] names = new byte[1 << 20];
        int nameLen = 0;
        int[] starts = new int[1 << 16];
        byte[] types = new byte[starts.length];
        long[] addrs = new long[starts.length];
        int n = 0;
        int lineNo = 0;
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.toString().endsWith(".xz") ? new org.tukaani.xz.XZInputStream(raw) : raw;
             BoundedLineReader r = new BoundedLineReader(in, "symbol file " + file, StandardCharsets.ISO_8859_1, MAX_LINE)) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                if (lineNo > MAX_LINES) {
                    throw new IllegalArgumentException(file + ": more than " + MAX_LINES + " lines; not a symbol map");
                }
                String[] f = line.trim().split("\\s+");
                if (f.length < 3 || f[1].length() != 1 || f[0].length() > 16) {
                    throw new IllegalArgumentException(file + ":" + lineNo + ": not an 'address type name' line: "
                            + abbreviate(line));
                }
                long a;
                try {
                    a = Long.parseUnsignedLong(f[0], 16);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(file + ":" + lineNo + ": bad address '" + abbreviate(f[0]) + "'");
                }
                if (n + 1 == starts.length) {
                    starts = Arrays.copyOf(starts, n * 2);
                    types = Arrays.copyOf(types, n * 2);
                    addrs = Arrays.copyOf(addrs, n * 2);
                }
                byte[] name = f[2].getBytes(StandardCharsets.ISO_8859_1);
                if (nameLen + name.length > names.length) {
                    names = Arrays.copyOf(names, Math.max(names.length * 2, nameLen + name.length));
                }
                System.arraycopy(name, 0, names, nameLen, name.length);
                nameLen += name.length;
                starts[n + 1] = nameLen;
                types[n] = (byte) f[1].charAt(0);
                addrs[n] = a;
                n++;
            }
        } catch (BoundedLineReader.BadLineException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("symbol file " + file + ": " + reason(e, file), e);
        }
        if (n == 0) {
            throw new IllegalArgumentException(file + ": no symbols");
        }
        return new SymbolTable(names, starts, types, addrs, n, "symbol file " + file);
    }

    /** Why reading failed, in words ("no such file", "permission denied", ...). */
    private static String reason(IOException e, Path file) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.io.EOFException && file.toString().endsWith(".xz")) {
            return "the xz stream is truncated";
        }
        if (e instanceof org.tukaani.xz.XZIOException) {
            return "not a valid xz stream (" + e.getMessage() + ")";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? "cannot be read" : "cannot be read (" + e.getMessage() + ")";
    }

    private static String abbreviate(String s) {
        return Printable.ascii(s.length() > 60 ? s.substring(0, 60) : s) + (s.length() > 60 ? "…" : "");
    }
}
