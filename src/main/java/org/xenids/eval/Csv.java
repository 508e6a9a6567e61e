package org.xenids.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xenids.io.BoundedLineReader;

/** RFC 4180 fields of one line (quotes, doubled quotes); bounded by the line it is given. */
final class Csv {
    static final int MAX_LINE = 64 * 1024;

    private Csv() {}

    /** A CSV file's lines, UTF-8, each at most {@link #MAX_LINE} bytes (refused as soon as one is longer). */
    static BoundedLineReader lines(Path file, String what) throws IOException {
        return BoundedLineReader.open(file, what, StandardCharsets.UTF_8, MAX_LINE);
    }

    static List<String> split(String line, String where) throws IOException {
        if (line.length() > MAX_LINE) {
            throw new IOException(where + ": line longer than " + MAX_LINE + " characters");
        }
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                        f.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    f.append(c);
                }
            } else if (c == '"' && f.isEmpty()) {
                quoted = true;
            } else if (c == ',') {
                out.add(f.toString());
                f.setLength(0);
            } else {
                f.append(c);
            }
        }
        if (quoted) {
            throw new IOException(where + ": unterminated quoted field");
        }
        out.add(f.toString());
        return out;
    }

    static String field(String s) {
        if (s == null) {
            return "";
        }
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    /** Column indices of the named columns in a header; fails naming the first one missing. */
    static int[] columns(List<String> header, String where, String... names) throws IOException {
        int[] idx = new int[names.length];
        for (int i = 0; i < names.length; i++) {
            idx[i] = header.indexOf(names[i]);
            if (idx[i] < 0) {
                throw new IOException(where + ": header has no column '" + names[i] + "'");
            }
        }
        return idx;
    }

    static int port(String s, String where) throws IOException {
        try {
            int p = Integer.parseInt(s);
            if (p < 0 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new IOException(where + ": bad port '" + s + "'");
        }
    }

    static double number(String s, String where, String what) throws IOException {
        try {
            double d = Double.parseDouble(s);
            if (Double.isNaN(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IOException(where + ": bad " + what + " '" + s + "'");
        }
    }
}
