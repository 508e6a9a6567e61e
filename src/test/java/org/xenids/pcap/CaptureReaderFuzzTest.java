package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Any bytes given to the readers end in records and/or a {@link CaptureFormatException}: never
 * another exception, never a hang, never more steps than the bytes could hold; and the in-place
 * reader and the streaming reader (with a tiny buffer that must be compacted and grown) agree on
 * every record and on the error. In the normal build these run once over the committed inputs in
 * {@code CaptureReaderFuzzTestInputs/}; with {@code JAZZER_FUZZ=1} Jazzer mutates them (README,
 * "Capture formats").
 */
class CaptureReaderFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void pcapReader(byte[] data) {
        check(data);
    }

    @FuzzTest(maxDuration = "5m")
    void pcapngReader(byte[] data) {
        check(data);
    }

    static void check(byte[] data) {
        List<String> inPlace = read(data, false);
        List<String> streamed = read(data, true);
        assertEquals(inPlace, streamed, "in-place and streaming readers disagree");
    }

    /** What a reader delivers: one line per record, then the error if any. */
    static List<String> read(byte[] data, boolean streaming) {
        List<String> out = new ArrayList<>();
        CaptureReader r = null;
        try {
            r = streaming
                    ? CaptureReader.open(new Source.StreamSource("fuzz", new ByteArrayInputStream(data), 64, CaptureReader.MAX_BLOCK))
                    : CaptureReader.of(data, 0, data.length, "fuzz");
            while (r.next()) {
                int end = r.dataOffset() + r.capturedLength();
                assertTrue(r.dataOffset() >= 0 && end <= r.array().length);
                out.add(r.interfaceId() + " " + r.linkType() + " " + r.timestampNanos() + " " + r.originalLength()
                        + " @" + r.recordOffset() + " " + Arrays.hashCode(Arrays.copyOfRange(r.array(), r.dataOffset(), end)));
            }
        } catch (CaptureFormatException expected) {
            assertTrue(expected.getMessage().startsWith("fuzz: offset "), expected.getMessage());
            assertEquals(1, expected.getMessage().lines().count(), expected.getMessage());
            out.add(expected.getMessage());
        } catch (IOException e) {
            throw new AssertionError("an in-memory reader failed with a non-format error", e);
        }
        if (r != null) {
            // Every step (record or block, skipped ones too) consumes at least 12 bytes of the
            // uncompressed stream, so work is bounded by its size: the input's, unless it is xz.
            long consumed = r.src.offset();
            assertTrue(r.steps <= consumed / 12 + 1, r.steps + " steps over " + consumed + " bytes");
            if (!r.stats().compressed()) {
                assertTrue(consumed <= data.length);
            }
            assertEquals(out.size() - (out.isEmpty() || !out.getLast().startsWith("fuzz:") ? 0 : 1), r.records());
        }
        return out;
    }
}
