package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;

/**
 * Any bytes given to the readers end in records and/or a {@link CaptureFormatException}: never
 * another exception, never a hang, never more records than the input could hold. In the normal
 * build these run once over the committed inputs in {@code CaptureReaderFuzzTestInputs/}; with
 * {@code JAZZER_FUZZ=1} Jazzer mutates them (see README, "Capture formats").
 */
class CaptureReaderFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void pcapReader(byte[] data) {
        read(data);
    }

    @FuzzTest(maxDuration = "5m")
    void pcapngReader(byte[] data) {
        read(data);
    }

    static void read(byte[] data) {
        try (CaptureReader r = CaptureReader.of(data, 0, data.length, "fuzz")) {
            long records = 0;
            while (r.next()) {
                records++;
                assertTrue(r.dataOffset() >= 0 && r.dataOffset() + r.capturedLength() <= data.length);
            }
            // Each record costs at least a 16-byte header (pcap) or 16-byte block (pcapng SPB).
            assertTrue(records * 16 <= data.length, "records " + records + " from " + data.length + " bytes");
        } catch (CaptureFormatException expected) {
            assertTrue(expected.getMessage().startsWith("fuzz: offset "), expected.getMessage());
            assertTrue(expected.getMessage().lines().count() == 1, expected.getMessage());
        } catch (IOException e) {
            throw new AssertionError("an in-memory reader failed with a non-format error", e);
        }
    }
}
