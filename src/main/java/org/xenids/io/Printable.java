package org.xenids.io;

import java.util.function.IntPredicate;

/**
 * Untrusted text made fit for a terminal and for a one-line message. A guest's kernel memory, a
 * type name in its BTF, a file's name, a value in a user's YAML: any may hold a line break, which
 * splits a message, or an escape sequence, which the operator's terminal would act on. Escaped
 * characters are shown as {@code \xNN}, or {@code \x{N}} above 0xff.
 */
public final class Printable {
    private Printable() {}

    /** C0 and C1 control characters and DEL escaped; other characters kept (a file name may be UTF-8). */
    public static String controlsEscaped(String s) {
        return escaped(s, c -> c < 0x20 || (c >= 0x7f && c <= 0x9f));
    }

    /** Everything outside printable ASCII escaped: for text that is bytes (process names, kernel strings, type names). */
    public static String ascii(String s) {
        return escaped(s, c -> c < 0x20 || c >= 0x7f);
    }

    /**
     * {@link #controlsEscaped} of the first {@code max} characters, with the length when cut
     * ("abc… (1000000 characters)"): a value quoted in an error may be a megabyte long.
     */
    public static String cut(String s, int max) {
        if (s == null) {
            return "null";
        }
        return s.length() <= max ? controlsEscaped(s)
                : controlsEscaped(s.substring(0, max)) + "… (" + s.length() + " characters)";
    }

    private static String escaped(String s, IntPredicate escape) {
        int i = 0;
        while (i < s.length() && !escape.test(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!escape.test(c)) {
                b.append(c);
            } else if (c <= 0xff) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(String.format("\\x{%x}", (int) c));
            }
        }
        return b.toString();
    }
}
