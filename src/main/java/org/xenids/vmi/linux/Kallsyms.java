package org.xenids.vmi.linux;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The kernel's own symbol table (CONFIG_KALLSYMS, base-relative), found in a copy of the
 * kernel image by its structure, as scripts/kallsyms.c lays it out in .rodata, each table
 * 8-byte aligned:
 * <pre>
 *   kallsyms_offsets       s32[num]  (absolute-percpu: &gt;= 0 absolute, &lt; 0 relative_base-1-off)
 *   kallsyms_relative_base u64
 *   kallsyms_num_syms      u32
 *   kallsyms_names         per symbol: length (1 byte, or 2 if bit 7 set), token bytes
 *   kallsyms_markers       u32 per 256 symbols: offset of that symbol's entry in names
 *   (kallsyms_seqs_of_names, on newer kernels)
 *   kallsyms_token_table   256 NUL-terminated strings, one per byte value
 *   kallsyms_token_index   u16[256]: each token's offset in the token table
 * </pre>
 * Linux 6.4 moved offsets and relative_base after the token index; both orders are read.
 * The token table is found first (byte values '0'..'9' stand for themselves, so "0\01\0…9\0"
 * appears in it) and proven by its index; the other tables are then found around it and
 * proven by the markers agreeing with the decoded names and by the addresses being sorted.
 * Nothing here is specific to one kernel build.
 *
 * <p>The guest's kernel can write these bytes: every offset read from them is checked against
 * the image, and the whole search runs on a budget of steps (bytes and entries walked, positions
 * tried), so memory crafted to look like tables everywhere ends it in bounded time.
 */
final class Kallsyms {
    private Kallsyms() {}

    private static final byte[] DIGITS = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009\000".getBytes(StandardCharsets.ISO_8859_1);
    /** A symbol table larger than this is not a kernel's (6.1 has ~95k symbols). */
    static final int MAX_SYMS = 1 << 22;
    /** Even a tinyconfig kernel has thousands; fewer means a chance match, not the table. */
    static final int MIN_SYMS = 1000;
    /** How far before the token table the tables may start (offsets + names + markers). */
    private static final int MAX_SPAN = 128 << 20;
    private static final int MAX_TOKEN = 128;
    private static final int MAX_NAME = 512;
    /**
     * Steps one search may take. Finding a real kernel's tables costs about 17 steps a symbol
     * (6.1: 1.6 M for 94k symbols), so a table of MAX_SYMS symbols still fits.
     */
    static final long MAX_STEPS = 128L << 20;
    /** Decoded names larger than this are not a kernel's (6.1: 2.4 MiB for 94k symbols). */
    static final int MAX_DECODED = 64 << 20;

    /** Steps left to one search, and what it has met so far, for the message when they run out. */
    private static final class Budget {
        private final String where;
        private final long steps;
        private final int maxDecoded;
        private long left;
        int tokenTables;

        Budget(String where, long steps, int maxDecoded) {
            this.where = where;
            this.steps = steps;
            this.left = steps;
            this.maxDecoded = maxDecoded;
        }

        void spend(long n) {
            left -= n;
            if (left < 0) {
                throw new IllegalStateException("no kallsyms tables in " + where + ": gave up after " + steps
                        + " steps of search around " + tokenTables + " token table(s) (memory full of kallsyms look-alikes);"
                        + " give --symbols FILE (the kernel's System.map or /proc/kallsyms)");
            }
        }
    }

    /** The table in {@code img} (bytes of the kernel image starting at virtual {@code base}). */
    static SymbolTable find(byte[] img, long base, String where) {
        return find(img, base, where, MAX_STEPS, MAX_DECODED);
    }

    /** As {@link #find(byte[], long, String)}, with other limits on the steps and the decoded names' bytes. */
    static SymbolTable find(byte[] img, long base, String where, long steps, int maxDecoded) {
        Budget budget = new Budget(where, steps, maxDecoded);
        for (int d = indexOf(img, DIGITS, 1); d >= 0; d = indexOf(img, DIGITS, d + 1)) {
            if (img[d - 1] != 0) {
                continue;
            }
            int[] tokenStart = tokenTable(img, d, budget);
            if (tokenStart == null) {
                continue;
            }
            budget.tokenTables++;
            SymbolTable t = tables(img, base, tokenStart, where, budget);
            if (t != null) {
                return t;
            }
        }
        throw new IllegalStateException("no kallsyms tables in " + where
                + (budget.tokenTables == 0 ? " (no kallsyms_token_table with its index)"
                        : " (" + budget.tokenTables + " token table(s) but no valid offsets/names/markers around them)"));
    }

    /**
     * Token start offsets (257 entries: 256 tokens and the table end) when {@code d}, the start
     * of token '0', is inside a token table followed by a matching token index.
     */
    static int[] tokenTable(byte[] img, int d, Budget budget) {
        int pos = d;
        for (int k = '0'; k < 256; k++) {
            int len = 0;
            while (pos < img.length && img[pos] != 0) {
                pos++;
                if (++len > MAX_TOKEN) {
                    return null;
                }
            }
            budget.spend(len + 1);
            if (len == 0 || pos >= img.length) {
                return null;
            }
            pos++;
        }
        budget.spend(256);
        int index = align8(pos);
        if (index + 512 > img.length) {
            return null;
        }
        int tableStart = d - u16(img, index + '0' * 2);
        if (tableStart < 0 || (tableStart & 7) != 0 || u16(img, index) != 0) {
            return null;
        }
        int[] start = new int[257];
        for (int k = 0; k < 256; k++) {
            start[k] = tableStart + u16(img, index + 2 * k);
            if (k > 0 && start[k] <= start[k - 1] || start[k] >= pos) {
                return null; // tokens in order, each inside the table (whose end was walked to)
            }
            if (k > 0 && (img[start[k] - 1] != 0 || img[start[k]] == 0)) {
                return null; // each token begins right after the previous one's NUL
            }
        }
        start[256] = pos;
        return start;
    }

    /**
     * Walks back from the token table to kallsyms_num_syms (a u32 count, zero padding, then
     * the names). The offsets and relative_base are right before it up to Linux 6.3, and right
     * after the token index since 6.4 (commit "scripts/kallsyms: change the output order").
     */
    private static SymbolTable tables(byte[] img, long base, int[] tokenStart, String where, Budget budget) {
        int tokens = tokenStart[0];
        long offsetsAfter = align8(align8(tokenStart[256]) + 512);
        int low = Math.max(8, tokens - MAX_SPAN);
        for (int x = (tokens - 8) & ~7; x >= low; x -= 8) {
            budget.spend(1);
            int n = i32(img, x);
            if (n < MIN_SYMS || n > MAX_SYMS || i32(img, x + 4) != 0) {
                continue;
            }
            long offsetsBefore = (x - 8 - 4L * n) & ~7L;
            long rbAfter = (offsetsAfter + 4L * n + 7) & ~7L;
            boolean before = offsetsBefore >= 0 && plausibleBase(i64(img, x - 8), base, img.length);
            boolean after = rbAfter + 8 <= img.length && plausibleBase(i64(img, (int) rbAfter), base, img.length);
            if ((!before && !after) || !markersBeforeTokens(img, x, n, tokens)) {
                continue;
            }
            int[] entry = names(img, x + 8, n, tokens, budget);
            if (entry == null || !markers(img, align8(entry[n]), entry, n, tokens)) {
                continue;
            }
            if (before) {
                SymbolTable t = decode(img, (int) offsetsBefore, i64(img, x - 8), n, entry, tokenStart,
                        String.format("kallsyms tables in memory at 0x%x (%d symbols)", base + offsetsBefore, n) + " in " + where, budget);
                if (t != null && sorted(t)) {
                    return t;
                }
            }
            if (after) {
                SymbolTable t = decode(img, (int) offsetsAfter, i64(img, (int) rbAfter), n, entry, tokenStart,
                        String.format("kallsyms tables in memory at 0x%x (%d symbols)", base + x, n) + " in " + where, budget);
                if (t != null && sorted(t)) {
                    return t;
                }
            }
        }
        return null;
    }

    /**
     * O(1) test before decoding names: kallsyms_markers (starting with 0, then growing) ends
     * right before the token table, or before kallsyms_seqs_of_names (3 bytes per symbol,
     * Linux 6.2+) when that sits between them.
     */
    private static boolean markersBeforeTokens(byte[] img, int x, int n, int tokens) {
        int bytes = align8(4 * ((n + 255) >>> 8));
        for (long between : new long[] {0, (3L * n + 7) & ~7L}) {
            long m = tokens - between - bytes;
            if (m > x && (i32(img, (int) m) == 0) && (n <= 256 || i32(img, (int) m + 4) > 0)) {
                return true;
            }
        }
        return false;
    }

    /** kallsyms_relative_base is _text (or the lowest symbol): inside the image. */
    private static boolean plausibleBase(long relativeBase, long base, int length) {
        return relativeBase - base >= 0 && relativeBase - base < length;
    }

    /** Entry offsets of {@code n} names starting at {@code at} (entry[n] = end), or null. */
    private static int[] names(byte[] img, int at, int n, int limit, Budget budget) {
        budget.spend(n); // the entries array, and at most n entries walked
        int[] entry = new int[n + 1];
        int pos = at;
        for (int i = 0; i < n; i++) {
            if (pos >= limit) {
                return null;
            }
            entry[i] = pos;
            int len = img[pos] & 0xff;
            if ((len & 0x80) != 0) {
                if (pos + 1 >= limit) {
                    return null;
                }
                len = (len & 0x7f) | ((img[pos + 1] & 0xff) << 7);
                pos += 2;
            } else {
                pos++;
            }
            if (len == 0) {
                return null;
            }
            pos += len;
        }
        if (pos > limit) {
            return null;
        }
        entry[n] = pos;
        return entry;
    }

    private static boolean markers(byte[] img, int at, int[] entry, int n, int limit) {
        int count = (n + 255) >>> 8;
        if (at + 4L * count > limit) {
            return false;
        }
        int names = entry[0];
        for (int k = 0; k < count; k++) {
            if (i32(img, at + 4 * k) != entry[k << 8] - names) {
                return false;
            }
        }
        return true;
    }

    /** The decoded table, or null when its names decode to more bytes than the budget allows. */
    private static SymbolTable decode(byte[] img, int offsetsAt, long relativeBase, int n, int[] entry,
                                      int[] tokenStart, String source, Budget budget) {
        budget.spend(n + (long) entry[n] - entry[0]);
        boolean absolutePercpu = false;
        for (int i = 0; i < n && !absolutePercpu; i++) {
            absolutePercpu = i32(img, offsetsAt + 4 * i) < 0;
        }
        byte[] types = new byte[n];
        long[] addresses = new long[n];
        int[] nameStart = new int[n + 1];
        // Names take 2-3 times their token bytes; each is cut at MAX_NAME.
        long guess = Math.min(3L * (entry[n] - entry[0]), (long) n * MAX_NAME);
        int max = budget.maxDecoded;
        byte[] out = new byte[(int) Math.min(Math.max(MAX_NAME, guess), max)];
        int len = 0;
        for (int i = 0; i < n; i++) {
            if (len + MAX_NAME > out.length) {
                if (out.length >= max) {
                    return null;
                }
                out = Arrays.copyOf(out, (int) Math.min(2L * out.length, max));
            }
            // The first expanded byte is the type letter; the name follows it.
            types[i] = '?';
            int limit = len + MAX_NAME;
            boolean first = true;
            int pos = entry[i];
            pos += (img[pos] & 0x80) != 0 ? 2 : 1;
            for (; pos < entry[i + 1]; pos++) {
                int t = img[pos] & 0xff;
                int from = tokenStart[t];
                int to = tokenStart[t + 1] - 1; // without the NUL
                if (first && from < to) {
                    types[i] = img[from++];
                    first = false;
                }
                for (; from < to && len < limit; from++) {
                    out[len++] = img[from];
                }
            }
            nameStart[i + 1] = len;
            int off = i32(img, offsetsAt + 4 * i);
            addresses[i] = absolutePercpu ? (off >= 0 ? off : relativeBase - 1 - off)
                    : relativeBase + Integer.toUnsignedLong(off);
        }
        return new SymbolTable(out, nameStart, types, addresses, n, source);
    }

    /** scripts/kallsyms sorts by address: a table that is not sorted was decoded from the wrong bytes. */
    private static boolean sorted(SymbolTable t) {
        for (int i = 1; i < t.size(); i++) {
            if (Long.compareUnsigned(t.address(i - 1), t.address(i)) > 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * First index of {@code pat} in {@code a} at or after {@code from}, or -1. Horspool: the
     * byte under the window's last position decides how far to skip, so most of a kernel
     * image is stepped over rather than compared.
     */
    static int indexOf(byte[] a, byte[] pat, int from) {
        int m = pat.length;
        int[] shift = new int[256];
        Arrays.fill(shift, m);
        for (int i = 0; i < m - 1; i++) {
            shift[pat[i] & 0xff] = m - 1 - i;
        }
        byte lastByte = pat[m - 1];
        int i = Math.max(from, 0);
        int last = a.length - m;
        while (i <= last) {
            byte c = a[i + m - 1];
            if (c == lastByte) {
                int j = m - 2;
                while (j >= 0 && a[i + j] == pat[j]) {
                    j--;
                }
                if (j < 0) {
                    return i;
                }
            }
            i += shift[c & 0xff];
        }
        return -1;
    }

    private static int align8(int v) { return (v + 7) & ~7; }

    static int u16(byte[] b, int at) { return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8; }

    static int i32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static long i64(byte[] b, int at) {
        return Integer.toUnsignedLong(i32(b, at)) | (long) i32(b, at + 4) << 32;
    }
}
