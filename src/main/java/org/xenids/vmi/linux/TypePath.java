package org.xenids.vmi.linux;

import java.util.ArrayList;
import java.util.List;

/** A parsed member path: "pid.numbers[0].nr" → struct "pid", steps numbers, [0], nr. */
record TypePath(String text, String root, List<Step> steps) {

    /** A member name (index &lt; 0) or an array index (name null). */
    record Step(String name, long index) {
        boolean isIndex() { return name == null; }
    }

    static final int MAX_LENGTH = 512;
    static final long MAX_INDEX = 1 << 24;

    static TypePath parse(String text) {
        if (text == null || text.isEmpty() || text.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("bad member path '" + text + "'");
        }
        List<Step> steps = new ArrayList<>();
        int i = 0;
        int n = text.length();
        String root = null;
        boolean expectName = true;
        while (i < n) {
            char c = text.charAt(i);
            if (expectName) {
                int s = i;
                while (i < n && isIdent(text.charAt(i))) {
                    i++;
                }
                if (s == i) {
                    throw new IllegalArgumentException("bad member path '" + text + "' at character " + s);
                }
                String name = text.substring(s, i);
                if (root == null) {
                    root = name;
                } else {
                    steps.add(new Step(name, -1));
                }
                expectName = false;
            } else if (c == '.') {
                i++;
                expectName = true;
            } else if (c == '[' && root != null) {
                int close = text.indexOf(']', i);
                if (close < 0 || close == i + 1 || close - i > 9) {
                    throw new IllegalArgumentException("bad array index in member path '" + text + "'");
                }
                long idx;
                try {
                    idx = Long.parseLong(text.substring(i + 1, close));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad array index in member path '" + text + "'");
                }
                if (idx < 0 || idx > MAX_INDEX) {
                    throw new IllegalArgumentException("array index out of range in member path '" + text + "'");
                }
                steps.add(new Step(null, idx));
                i = close + 1;
            } else {
                throw new IllegalArgumentException("bad member path '" + text + "' at character " + i);
            }
        }
        if (expectName || root == null) {
            throw new IllegalArgumentException("bad member path '" + text + "'");
        }
        return new TypePath(text, root, List.copyOf(steps));
    }

    private static boolean isIdent(char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
}
