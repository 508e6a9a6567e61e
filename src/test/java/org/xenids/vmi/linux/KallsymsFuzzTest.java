package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The kallsyms search on hostile bytes (the guest's kernel image is the guest's to write): any
 * input ends in a sorted table of a plausible size or in one line saying why there is none,
 * never in another exception. jqwik mutates small built tables in the normal build; the Jazzer
 * target replays its committed inputs ({@code KallsymsFuzzTestInputs/}, tables built by
 * {@link KallsymsImage} in both layouts) and mutates them with {@code JAZZER_FUZZ=1}.
 */
class KallsymsFuzzTest {

    @Test
    void bothBuiltLayoutsDecode() {
        for (boolean linux64 : new boolean[] {false, true}) {
            KallsymsImage k = new KallsymsImage(1100, 24 << 10, linux64);
            SymbolTable t = Kallsyms.find(Arrays.copyOf(k.bytes(), k.end), KallsymsImage.TEXT, "built");
            assertEquals(1100, t.size());
            assertEquals(KallsymsImage.TEXT + 16 * 1099, t.require(KallsymsImage.name(1099)));
        }
    }

    @Property(tries = 300)
    void mutatedTablesDecodeOrFailCleanly(@ForAll boolean linux64,
                                          @ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = 100_000) Integer> positions,
                                          @ForAll @Size(min = 8, max = 8) List<Byte> values,
                                          @ForAll @IntRange(min = 0, max = 30_000) int cut) {
        KallsymsImage k = new KallsymsImage(1100, 24 << 10, linux64);
        byte[] img = Arrays.copyOf(k.bytes(), k.end);
        for (int i = 0; i < positions.size(); i++) {
            img[positions.get(i) % img.length] = values.get(i);
        }
        exercise(Arrays.copyOf(img, img.length - cut % img.length));
    }

    @FuzzTest(maxDuration = "5m")
    void kallsyms(byte[] data) {
        exercise(data);
    }

    static void exercise(byte[] img) {
        SymbolTable t;
        try {
            t = Kallsyms.find(img, KallsymsImage.TEXT, "fuzz");
        } catch (IllegalStateException e) {
            String m = e.getMessage();
            assertTrue(m.startsWith("no kallsyms tables in fuzz") && m.lines().count() == 1, m);
            return;
        }
        assertTrue(t.size() >= Kallsyms.MIN_SYMS && t.size() <= Kallsyms.MAX_SYMS, t.source());
        for (int i = 1; i < t.size(); i++) {
            assertTrue(Long.compareUnsigned(t.address(i - 1), t.address(i)) <= 0, t.source());
        }
    }
}
