package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/**
 * Statistics trained on parts of a payload set and merged equal those trained on the whole set:
 * the point of Welford moments, since one image's model is learned across many guests and days.
 */
class MergeEqualsUnionPropertyTest {
    static final Subject A = new Subject("web", Direction.TO_SERVER, Subject.TCP, 80);
    static final Subject B = new Subject("web", Direction.TO_CLIENT, Subject.TCP, 80);

    /** Payloads with uneven, skewed byte distributions and lengths spread over many bins. */
    static List<byte[]> payloads(long seed, int n) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] p = new byte[1 + r.nextInt(r.nextBoolean() ? 64 : 3000)];
            int alphabet = 1 + r.nextInt(256);
            for (int j = 0; j < p.length; j++) {
                p[j] = (byte) (r.nextInt(4) == 0 ? r.nextInt(256) : 'a' + r.nextInt(alphabet) % 26);
            }
            out.add(p);
        }
        return out;
    }

    @Property(tries = 60)
    void mergedTrainersEqualOneTrainerOnTheUnion(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int n,
                                                 @ForAll @Size(min = 300, max = 300) List<@IntRange(min = 0, max = 4) Integer> part,
                                                 @ForAll @IntRange(min = 1, max = 5) int parts) {
        PaylSettings s = PaylSettings.defaults().withHoldout(0);
        List<byte[]> data = payloads(seed, n);
        PaylTrainer union = new PaylTrainer(s);
        List<PaylTrainer> split = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            split.add(new PaylTrainer(s));
        }
        for (int i = 0; i < n; i++) {
            Subject subj = i % 3 == 0 ? B : A;
            byte[] p = data.get(i);
            union.add(subj, p, 0, p.length);
            split.get(part.get(i) % parts).add(subj, p, 0, p.length);
        }
        PaylTrainer merged = new PaylTrainer(s);
        for (PaylTrainer t : split) {
            merged.merge(t);
        }
        assertSameStatistics(union, merged, 1e-12);
        assertEquals(union.trainedSamples(), merged.trainedSamples());
        assertEquals(union.bytes(), merged.bytes());
    }

    @Property(tries = 10)
    void savedAndLoadedTrainingStateIsBitForBitTheSame(@ForAll long seed) throws Exception {
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults().withSeed(seed));
        for (byte[] p : payloads(seed, 200)) {
            t.add(A, p, 0, p.length);
        }
        Path dir = Files.createTempDirectory("payl");
        Path f = dir.resolve("state.payl");
        t.save(f);
        PaylTrainer back = PaylTrainer.load(f);
        assertSameStatistics(t, back, 0);
        assertEquals(t.heldOutSamples(), back.heldOutSamples());
        assertEquals(t.settings(), back.settings());
        // Same statistics and held-out samples: the built models score identically.
        byte[] probe = payloads(seed + 1, 1).get(0);
        assertEquals(t.build().score(A, probe, 0, probe.length), back.build().score(A, probe, 0, probe.length));
        Files.delete(f);
        Files.delete(dir);
    }

    static void assertSameStatistics(PaylTrainer x, PaylTrainer y, double tol) {
        assertEquals(x.bins.keySet(), y.bins.keySet());
        x.bins.forEach((subj, xb) -> {
            Moments[] yb = y.bins.get(subj);
            for (int b = 0; b < xb.length; b++) {
                if (xb[b] == null) {
                    assertNull(yb[b]);
                    continue;
                }
                assertNotNull(yb[b], "bin " + b);
                assertEquals(xb[b].n, yb[b].n);
                for (int i = 0; i < 256; i++) {
                    assertEquals(xb[b].mean[i], yb[b].mean[i], tol, "mean of byte " + i + " in bin " + b);
                    // M2 grows with n; compare relative to its size.
                    assertEquals(xb[b].m2[i], yb[b].m2[i], tol * Math.max(1, Math.abs(xb[b].m2[i])) * 100,
                            "M2 of byte " + i + " in bin " + b);
                }
            }
        });
    }
}
