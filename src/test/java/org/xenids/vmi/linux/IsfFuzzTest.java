package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * An ISF file is often downloaded from a symbol pack: anyone's JSON. Any JSON must give every
 * member the walkers read, or one line naming the file saying why not, in bounded time. The
 * committed input ({@code IsfFuzzTestInputs/}) is the part of the Debian 6.1 ISF that the walkers
 * use (dwarf2json output, cut to those structs and members); with {@code JAZZER_FUZZ=1} Jazzer
 * mutates it.
 */
class IsfFuzzTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theCommittedCutOfTheDebianIsfGivesTheWalkersTheirOffsets() throws IOException {
        try (InputStream in = IsfFuzzTest.class.getResourceAsStream("IsfFuzzTestInputs/isf/debian-6.1-walker-types.json")) {
            Layout l = Layout.of(IsfTypes.of(JSON.readTree(in), "cut ISF"));
            assertEquals(2192, l.tasks()); // as the kernel's own BTF says (BtfTest)
            assertEquals(2976, l.comm());
            assertTrue(l.hasIdr() && l.hasTree() && l.hasScan() && l.hasThreads());
        }
    }

    @FuzzTest(maxDuration = "5m")
    void isf(byte[] data) {
        JsonNode root;
        try {
            root = JSON.readTree(data);
        } catch (IOException notJson) {
            return; // IsfTypes.load turns this into "not valid JSON" (TypeSourcesTest)
        }
        KernelTypes t;
        try {
            t = IsfTypes.of(root == null ? JSON.nullNode() : root, "fuzz.json");
        } catch (IllegalArgumentException e) {
            assertClean(e);
            return;
        }
        for (String p : Layout.PATHS) {
            try {
                t.member(p);
            } catch (IllegalArgumentException e) {
                assertClean(e);
            }
        }
        try {
            Layout.of(t).windowLength();
        } catch (IllegalArgumentException e) {
            assertClean(e);
        }
    }

    private static void assertClean(IllegalArgumentException e) {
        String m = e.getMessage();
        assertTrue(m != null && m.lines().count() == 1 && m.contains("fuzz.json"), String.valueOf(m));
    }
}
