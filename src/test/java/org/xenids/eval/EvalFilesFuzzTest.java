package org.xenids.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.AfterAll;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The files {@code xenids eval} joins are anyone's: labels from a dataset, score files and EVE
 * logs from other tools. An input is the three files, cut at lines {@code ====}: labels, scores,
 * EVE. They must evaluate to curves with an AUC in [0, 1] and a report, or be refused by one
 * {@link IOException} line naming one of the three files. In the normal build this runs once over
 * {@code EvalFilesFuzzTestInputs/} (slices of the dev set's labels and of real detect output);
 * with {@code JAZZER_FUZZ=1} Jazzer mutates them.
 */
class EvalFilesFuzzTest {
    private static final byte[] CUT = "\n====\n".getBytes();
    private static Path dir;

    @FuzzTest(maxDuration = "5m")
    void anyLabelsScoresAndEveEvaluateOrAreRefusedInOneLine(byte[] input) throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("xenids-eval-fuzz");
        }
        byte[][] parts = split(input);
        Path labels = Files.write(dir.resolve("labels.csv"), parts[0]);
        Path scores = Files.write(dir.resolve("scores.csv"), parts[1]);
        Path eve = Files.write(dir.resolve("eve.json"), parts[2]);
        Evaluation.Result r;
        try {
            r = Evaluation.run(labels, List.of(scores), List.of(eve));
        } catch (IOException refused) {
            String m = refused.getMessage();
            assertEquals(1, m.lines().count(), m);
            assertTrue(m.contains(labels.toString()) || m.contains(scores.toString()) || m.contains(eve.toString()), m);
            return;
        }
        double auc = r.overall().auc();
        assertTrue(Double.isNaN(auc) || (auc >= 0 && auc <= 1), "AUC " + auc);
        StringWriter out = new StringWriter();
        r.report(new PrintWriter(out));
        assertTrue(!out.toString().isEmpty());
    }

    /** The three files and their directory go when the inputs are done (deleteOnExit cannot remove a full directory). */
    @AfterAll
    static void removeFiles() throws IOException {
        if (dir != null) {
            for (String f : List.of("labels.csv", "scores.csv", "eve.json")) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.delete(dir);
            dir = null;
        }
    }

    /** The input cut at the first two {@code \n====\n}: labels, scores, EVE; missing parts are empty. */
    static byte[][] split(byte[] in) {
        byte[][] parts = {new byte[0], new byte[0], new byte[0]};
        int from = 0, k = 0;
        for (int at; k < 2 && (at = indexOf(in, from)) >= 0; k++) {
            parts[k] = Arrays.copyOfRange(in, from, at);
            from = at + CUT.length;
        }
        parts[k] = Arrays.copyOfRange(in, from, in.length);
        return parts;
    }

    private static int indexOf(byte[] in, int from) {
        outer:
        for (int i = from; i <= in.length - CUT.length; i++) {
            for (int j = 0; j < CUT.length; j++) {
                if (in[i + j] != CUT[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
