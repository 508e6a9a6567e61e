package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.eval.Evaluation;
import org.xenids.testdata.EveSchema;

/** {@code xenids demo}, run once as a user runs it: the whole network and host pipelines. */
class DemoCommandTest {
    @TempDir
    static Path dir;
    static String[] result;

    @BeforeAll
    static void runDemo() {
        result = MainTest.run("demo", "--out", dir.toString());
    }

    @Test
    void demoSucceedsAndWritesEveScoresRocAndModels() {
        assertEquals("0", result[0], result[2]);
        for (String f : List.of("eve.json", "scores.csv", "roc.csv", "roc.svg", "models/" + PaylRun.MODEL_FILE)) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        assertTrue(result[1].contains("rebuilt by the tap"), result[1]);
    }

    @Test
    void everyEveRecordIsValidSuricataEve() throws Exception {
        List<String> lines = Files.readAllLines(dir.resolve("eve.json"));
        assertTrue(lines.size() > 10, "alerts expected, got " + lines.size());
        EveSchema.assertValid(lines);
        assertTrue(lines.getLast().contains("\"event_type\":\"stats\""), "the run's counts last: " + lines.getLast());
    }

    @Test
    void everyShellcodeFlowIsAlertedAndAlertsNameTheGuest() throws Exception {
        Evaluation.Result r = Evaluation.run(dir.resolve("input/demo-test.csv"), List.of(dir.resolve("scores.csv")), List.of());
        assertEquals(5, r.byType().get("shellcode_tcp").positives());
        assertEquals(1.0, r.alertedShare("shellcode_tcp"), "every shellcode flow scores above its threshold");
        ObjectMapper m = new ObjectMapper();
        int alerts = 0;
        for (String line : Files.readAllLines(dir.resolve("eve.json"))) {
            JsonNode e = m.readTree(line);
            if (e.get("event_type").asText().equals("alert")) {
                JsonNode ctx = e.get("alert").get("context");
                assertTrue(ctx != null && ctx.hasNonNull("domain") && ctx.hasNonNull("vm_image"), line);
                alerts++;
            }
        }
        assertTrue(alerts >= 5, "alerts: " + alerts);
    }

    @Test
    void hostPartListsTheGuestsOwnProcessesAndNoHiddenOne() throws Exception {
        JsonNode truth = new ObjectMapper().readTree(DemoCommandTest.class.getResourceAsStream("/org/xenids/demo/guest.truth.json"));
        Set<String> expected = new HashSet<>();
        JsonNode ps = truth.has("ps") ? truth.get("ps") : truth.get("processes");
        for (JsonNode p : ps) {
            expected.add("[" + String.format("%5d", p.get("pid").asInt()) + "] ");
        }
        for (String pid : expected) {
            assertTrue(result[1].contains(pid), "demo output lacks " + pid);
        }
        assertTrue(result[1].contains("no hidden process"), result[1]);
    }
}
