package org.xenids.vmi.linux;

/**
 * Text from a guest's type data or a user's file (a BTF or ISF type name, a symbol map's line),
 * fit for a one-line error message: both may hold any character, and a line break would split
 * the message while an escape sequence would reach the user's terminal. Control characters and
 * everything outside printable ASCII are shown as {@code \xNN} (code points above 0xff as
 * {@code \x{N}}).
 */
final class Printable {
    private Printable() {}

    static String of(String s) {
        int i = 0;
        while (i < s.length() && plain(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (plain(c)) {
                b.append(c);
            } else if (c <= 0xff) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(String.format("\\x{%x}", (int) c));
            }
        }
        return b.toString();
    }

    private static boolean plain(char c) {
        return c >= 0x20 && c < 0x7f;
    }
}
