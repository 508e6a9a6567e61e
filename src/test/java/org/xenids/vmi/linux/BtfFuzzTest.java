package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The BTF parser on hostile bytes: any input ends in layouts or a one-line
 * IllegalArgumentException naming the origin, in bounded time. jqwik mutates a small valid blob
 * in the normal build; the Jazzer target replays its committed inputs
 * ({@code BtfFuzzTestInputs/}) and mutates them with {@code JAZZER_FUZZ=1}.
 */
class BtfFuzzTest {

    @Test
    void miniBlobResolvesEveryConstruct() {
        Btf b = Btf.parse(ByteBuffer.wrap(MiniBtf.blob()), "mini");
        assertEquals(4, b.offset("task_struct.tgid"));
        assertEquals(16, b.offset("task_struct.tasks.prev") - 0);
        assertEquals(27, b.offset("task_struct.comm[3]"));
        assertEquals(40, b.offset("task_struct.a"));
        assertEquals(4, b.member("task_struct.b").size());
        KernelTypes.Member bits = b.member("task_struct.bits");
        assertEquals(44, bits.offset());
        assertEquals(3, bits.bitOffset());
        assertEquals(3, bits.bitSize());
        assertEquals(64, b.sizeOf("task_struct"));
    }

    @Property(tries = 2000)
    void mutatedBlobsParseOrFailCleanly(@ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = 100_000) Integer> positions,
                                        @ForAll @Size(min = 8, max = 8) List<Byte> values,
                                        @ForAll @IntRange(min = 0, max = 400) int cut) {
        byte[] blob = MiniBtf.blob();
        for (int i = 0; i < positions.size(); i++) {
            blob[positions.get(i) % blob.length] = values.get(i);
        }
        if (cut > 0 && cut < blob.length) {
            blob = java.util.Arrays.copyOf(blob, blob.length - cut % blob.length);
        }
        exercise(blob);
    }

    @FuzzTest(maxDuration = "5m")
    void btfParser(byte[] data) {
        exercise(data);
    }

    static void exercise(byte[] data) {
        Btf b;
        try {
            b = Btf.parse(ByteBuffer.wrap(data), "fuzz");
        } catch (IllegalArgumentException e) {
            assertClean(e);
            return;
        }
        for (String p : MiniBtf.PATHS) {
            try {
                KernelTypes.Member m = b.member(p);
                assertTrue(m.size() >= 0);
            } catch (IllegalArgumentException e) {
                assertClean(e);
            }
        }
        try {
            b.sizeOf("task_struct");
        } catch (IllegalArgumentException e) {
            assertClean(e);
        }
    }

    private static void assertClean(IllegalArgumentException e) {
        assertTrue(e.getMessage() != null && e.getMessage().lines().count() == 1, String.valueOf(e.getMessage()));
    }
}
