package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/** A model trained on identical payloads (σ = 0 everywhere) keeps a threshold with a meaning. */
class ThresholdFloorTest {
    static final Subject REDIS = new Subject("redis", Direction.TO_CLIENT, Subject.TCP, 6379);

    private static double score(PaylModels m, String payload) {
        byte[] b = payload.getBytes(StandardCharsets.ISO_8859_1);
        return m.score(REDIS, b, 0, b.length);
    }

    @Test
    void identicalRepliesGiveAFloorNotAZeroThreshold() {
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        byte[] ok = "+OK\r\n".getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 200; i++) {
            t.add(REDIS, ok, 0, ok.length);
        }
        PaylModels m = t.build();
        // The least a floor can be: one byte replaced in a payload of the full depth, σ = 0.
        PaylSettings s = PaylSettings.defaults();
        double weakestFloor = 2 / (s.alpha() * s.depth());
        for (PaylModels.ModelInfo info : m.models()) {
            assertTrue(info.threshold() >= weakestFloor * (1 - 1e-6), info.key() + " threshold " + info.threshold());
        }
        // The trained reply itself is normal; a different reply is anomalous, by a finite margin.
        assertTrue(score(m, "+OK\r\n") <= 1.0, "trained reply scores " + score(m, "+OK\r\n"));
        double other = score(m, "-ERR unknown command 'FLUSHALL'\r\n");
        assertTrue(other > 1.0 && other < 1e6, "a different reply scores " + other);
    }
}
