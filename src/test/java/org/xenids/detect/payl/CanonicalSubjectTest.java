package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/** Flows score with the model set's own subject objects; that changes which object is read, never a score. */
class CanonicalSubjectTest {

    @Test
    void equalSubjectsWithModelsShareOneObjectAndOthersAreLeftAsTheyCame() {
        ModelFileRefusesDamageTest.build();
        PaylModels models = ModelFileRefusesDamageTest.models;
        Subject a = new Subject("web", Direction.TO_SERVER, Subject.TCP, 80);
        Subject b = new Subject("web", Direction.TO_SERVER, Subject.TCP, 80);
        assertNotSame(a, b);
        assertSame(models.canonical(a), models.canonical(b));
        assertEquals(a, models.canonical(a));
        // No model of its own (another port, the image's fallback scores it): nothing to share.
        Subject other = new Subject("web", Direction.TO_SERVER, Subject.TCP, 8080);
        assertSame(other, models.canonical(other));
        for (byte[] p : ModelFileRefusesDamageTest.probes) {
            double fresh = models.score(new Subject("web", Direction.TO_SERVER, Subject.TCP, 80), p, 0, p.length);
            assertEquals(fresh, models.score(models.canonical(a), p, 0, p.length));
        }
    }
}
