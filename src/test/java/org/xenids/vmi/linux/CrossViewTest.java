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
        // The scan finds every live task, listed or hidden, and the 4 reaped ones (EXIT_DEAD) that
        // Volatility's psscan lists too; its other sched_class matches fail the structural checks.
        long scanned = cv.rows().stream().filter(r -> r.seenBy().contains(CrossView.SCAN)).count();
        assertEquals(truth.comms().size() + truth.hiddenPids().size(), scanned);
        assertEquals(4, cv.counts().scanExited());
        assertTrue(cv.counts().scanCandidates() >= scanned + cv.counts().scanExited(), cv.counts().toString());
    }
}
