package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * kallsyms tables are read from the guest's memory, which the guest's kernel can write: tables
 * that point outside the image, or memory crafted to look like tables everywhere, must end the
 * search with one line, in bounded time.
 */
class KallsymsHostileTest {
    static final Duration BOUND = Duration.ofSeconds(20);

    @Test
    void builtTablesDecodeToTheirSymbols() {
        KallsymsImage k = new KallsymsImage(1200, 64 << 10);
        SymbolTable t = Kallsyms.find(k.bytes(), KallsymsImage.TEXT, "built");
        assertEquals(1200, t.size());
        assertEquals(KallsymsImage.TEXT + 16 * 777, t.require(KallsymsImage.name(777)));
        assertEquals('T', t.type(5));
    }

    @Test
    void tokenIndexPointingPastTheImageIsNoTable() {
        KallsymsImage k = new KallsymsImage(1200, 64 << 10);
        byte[] hostile = Arrays.copyOf(k.bytes(), k.end); // the image ends with the index
        ByteBuffer.wrap(hostile).order(ByteOrder.LITTLE_ENDIAN).putShort(k.tokenIndex + 2 * 255, (short) 0xfff0);
        var e = assertThrows(IllegalStateException.class, () -> Kallsyms.find(hostile, KallsymsImage.TEXT, "cut image"));
        assertTrue(e.getMessage().startsWith("no kallsyms tables in cut image"), e.getMessage());
    }

    @Test
    void namesDecodingPastTheLimitAreNoTable() {
        KallsymsImage k = new KallsymsImage(1200, 64 << 10); // 1200 names of 10 bytes
        assertEquals(1200, Kallsyms.find(k.bytes(), KallsymsImage.TEXT, "built", Kallsyms.MAX_STEPS, 16 << 10).size());
        var e = assertThrows(IllegalStateException.class,
                () -> Kallsyms.find(k.bytes(), KallsymsImage.TEXT, "built", Kallsyms.MAX_STEPS, 8 << 10));
        assertTrue(e.getMessage().endsWith("(1 token table(s) but no valid offsets/names/markers around them)"), e.getMessage());
    }

    /**
     * num_syms look-alikes every 16 bytes, each preceded by a plausible relative_base, whose
     * names walk hops over all the others: unbounded, each would walk and allocate for 100 000
     * names, and the search would be quadratic in the memory's size.
     */
    @Test
    void numSymsLookAlikesEverywhereAreSearchedWithinABudget() {
        KallsymsImage k = new KallsymsImage(1200, 64 << 10);
        int size = 6 << 20;
        int n = 100_000;
        ByteBuffer img = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        int tokens = size - (8 << 10);
        img.put(tokens, k.bytes(), k.tokenTable, k.end - k.tokenTable);
        int markers = tokens - KallsymsImage.align8(4 * ((n + 255) / 256));
        img.putInt(markers + 4, 1); // markers[0] = 0, markers[1] > 0: kallsyms_markers would end at the token table
        for (int x = 4 * n + 16; x + 16 <= markers; x += 16) {
            img.putInt(x, n).putInt(x + 4, 0);
            img.putLong(x + 8, KallsymsImage.TEXT + 0x0f); // relative_base of the next; as a name: 15 bytes long
        }
        var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class,
                () -> Kallsyms.find(img.array(), KallsymsImage.TEXT, "decoys")));
        assertTrue(e.getMessage().startsWith("no kallsyms tables in decoys: gave up after")
                && e.getMessage().endsWith("give --symbols FILE (the kernel's System.map or /proc/kallsyms)"), e.getMessage());
    }

    /** Every kilobyte a valid token table and index with nothing around them: each would start a search back over the whole image. */
    @Test
    void tokenTableLookAlikesEverywhereAreSearchedWithinABudget() {
        KallsymsImage k = new KallsymsImage(1200, 64 << 10);
        int table = k.end - k.tokenTable;
        byte[] img = new byte[16 << 20];
        for (int at = 8; at + table <= img.length; at += KallsymsImage.align8(table)) {
            System.arraycopy(k.bytes(), k.tokenTable, img, at, table);
        }
        var e = assertTimeoutPreemptively(BOUND, () -> assertThrows(IllegalStateException.class,
                () -> Kallsyms.find(img, KallsymsImage.TEXT, "token tables")));
        assertTrue(e.getMessage().startsWith("no kallsyms tables in token tables: gave up after"), e.getMessage());
    }
}
