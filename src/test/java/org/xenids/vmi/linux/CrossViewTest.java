package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CrossViewTest {

    @ParameterizedTest
    @ValueSource(strings = {"nokaslr-hidden", "kaslr-hidden"})
    void exactlyTheTwoHiddenProcessesAreReportedWithTheirViews(String name) {
        CrossView cv = ProcessListTest.image(name).guest().crossView();
        GuestImages.Truth truth = GuestImages.truth(name);
        assertEquals(List.of(CrossView.TASK_LIST, CrossView.PID_IDR, CrossView.CHILDREN_TREE, CrossView.SCAN), cv.views());
        assertEquals(Map.of(), cv.unavailable());
        List<CrossView.Row> hidden = cv.hidden();
        assertEquals(truth.hiddenPids(), hidden.stream().map(r -> r.task().pid()).toList());
        assertEquals(truth.hiddenComms(), hidden.stream().map(r -> r.task().comm()).toList());
        // hide-list: unlinked from tasks only; hide-full: also removed from the pid IDR.
        assertEquals(Set.of(CrossView.PID_IDR, CrossView.CHILDREN_TREE, CrossView.SCAN), hidden.get(0).seenBy());
        assertEquals(Set.of(CrossView.CHILDREN_TREE, CrossView.SCAN), hidden.get(1).seenBy());
        long listed = cv.rows().stream().filter(r -> r.status() == CrossView.Status.LISTED).count();
        assertEquals(truth.comms().size(), listed);
        assertTrue(cv.anomalies().isEmpty(), cv.anomalies().toString());
        // the scan met 234 sched_class matches on both images: 216 live tasks, 4 reaped ones
        // (EXIT_DEAD, like Volatility's psscan rows), the rest failed the structural checks
        assertEquals(234, cv.counts().scanCandidates());
        assertEquals(4, cv.counts().scanExited());
        assertEquals(216, cv.rows().stream().filter(r -> r.seenBy().contains(CrossView.SCAN)).count());
    }
}
