package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostileMemoryTest {
    static KernelTypes types() { return GuestImages.nokaslr().types(); }

    static List<String> kinds(List<Anomaly> an) { return an.stream().map(Anomaly::kind).toList(); }

    @Test
    void wellFormedSyntheticKernelHasNoAnomaliesAndNothingHidden() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        LinuxGuest.ProcessList p = k.guest().processes(true);
        assertEquals(11, p.tasks().size());
        assertEquals(List.of(), p.anomalies());
        assertEquals(1000, p.tasks().get(3).uid());
        CrossView cv = k.guest().crossView();
        assertEquals(List.of(), cv.anomalies());
        assertEquals(List.of(), cv.hidden());
        assertEquals(4, cv.views().size());
        assertTrue(cv.rows().stream().filter(r -> r.task().pid() > 0).allMatch(r -> r.seenBy().size() == 4), cv.rows().toString());
    }

    @Test
    void cyclicTaskListIsCutWithACycleAnomaly() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        k.put64(SyntheticKernel.task(7) + k.l.tasks(), SyntheticKernel.task(3) + k.l.tasks());
        LinuxGuest.ProcessList p = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> k.guest().processes(false));
        assertEquals(8, p.tasks().size());
        assertEquals(List.of("cycle"), kinds(p.anomalies()));
    }

    @Test
    void prevPointerDisagreeingWithTheWalkIsATornLinkAndTheWalkGoesOn() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        k.put64(SyntheticKernel.task(6) + k.l.tasks() + 8, SyntheticKernel.task(2) + k.l.tasks());
        LinuxGuest.ProcessList p = k.guest().processes(false);
        assertEquals(11, p.tasks().size());
        assertEquals(List.of("torn-link"), kinds(p.anomalies()));
        assertEquals(SyntheticKernel.task(6), p.anomalies().get(0).address());
    }

    @Test
    void pointerIntoAHoleEndsTheWalkWithAFaultNamingTheAddress() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        long hole = SyntheticKernel.BASE + (64L << 20);
        k.put64(SyntheticKernel.task(4) + k.l.tasks(), hole);
        LinuxGuest.ProcessList p = k.guest().processes(false);
        assertEquals(5, p.tasks().size());
        Anomaly a = p.anomalies().get(0);
        assertEquals("fault", a.kind());
        assertEquals(hole, a.address());
        assertTrue(a.message().contains("unreadable"), a.message());
    }

    @Test
    void nonCanonicalPointerIsReportedNotFollowed() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        k.put64(SyntheticKernel.task(2) + k.l.tasks(), 0x8000_0000_0000_1000L);
        LinuxGuest.ProcessList p = k.guest().processes(false);
        assertEquals(3, p.tasks().size());
        assertEquals("bad-pointer", p.anomalies().get(0).kind());
        k.put64(SyntheticKernel.task(2) + k.l.tasks(), 0x1234_0000_0000_0000L);
        assertEquals("bad-pointer", k.guest().processes(false).anomalies().get(0).kind());
    }

    @Test
    void unterminatedCommIsBoundedAndFailsTheScanChecks() {
        SyntheticKernel k = new SyntheticKernel(types(), 5);
        long comm = SyntheticKernel.task(2) + k.l.comm();
        for (int i = 0; i < 64; i++) {
            k.mem[(int) (comm - SyntheticKernel.BASE) + i] = 'A';
        }
        LinuxGuest.ProcessList p = k.guest().processes(false);
        assertEquals("A".repeat(16), p.tasks().get(2).comm());
        CrossView cv = k.guest().crossView();
        CrossView.Row row = cv.rows().stream().filter(r -> r.task().pid() == 2).findFirst().orElseThrow();
        assertTrue(!row.seenBy().contains(CrossView.SCAN), row.toString());
        assertEquals(List.of(), cv.hidden());
    }

    @Test
    void selfReferencingXarrayNodeIsACycleNotARecursion() {
        SyntheticKernel k = new SyntheticKernel(types(), 5);
        k.put64(SyntheticKernel.NODE + k.l.xaSlots() + 8 * 40, SyntheticKernel.NODE | 2);
        k.mem[(int) (SyntheticKernel.NODE - SyntheticKernel.BASE + k.l.xaShift())] = 6;
        CrossView cv = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> k.guest().crossView());
        assertTrue(cv.anomalies().stream().anyMatch(a -> a.view().equals("pid-idr")), cv.anomalies().toString());
        assertEquals(List.of(), cv.hidden());
    }

    @Test
    void childrenListLoopingBackToAnAncestorIsACycle() {
        SyntheticKernel k = new SyntheticKernel(types(), 5);
        // task 3's children list claims init's first child as its own
        k.put64(SyntheticKernel.task(3) + k.l.children(), SyntheticKernel.task(1) + k.l.sibling());
        CrossView cv = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> k.guest().crossView());
        assertTrue(cv.anomalies().stream().anyMatch(a -> a.view().equals("children-tree") && a.kind().equals("cycle")),
                cv.anomalies().toString());
        assertEquals(List.of(), cv.hidden());
    }

    @Test
    void processUnlinkedFromTheTaskListIsHiddenButAnExitedOneIsNot() {
        SyntheticKernel k = new SyntheticKernel(types(), 6);
        unlink(k, 3, true);
        unlink(k, 5, false);
        k.put32(SyntheticKernel.task(5) + k.l.exitState(), 16); // EXIT_DEAD: reaped between views
        CrossView cv = k.guest().crossView();
        assertEquals(List.of(3), cv.hidden().stream().map(r -> r.task().pid()).toList());
        CrossView.Row five = cv.rows().stream().filter(r -> r.task().pid() == 5).findFirst().orElseThrow();
        assertEquals(CrossView.Status.EXITED, five.status());
    }

    @Test
    void liveGuestWalkThatMeetsATornListIsRetriedAndSucceeds() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        k.healed = k.mem.clone();
        // the guest is mid-update: task 5's next points back to task 2 (a cycle) for a moment
        k.put64(SyntheticKernel.task(5) + k.l.tasks(), SyntheticKernel.task(2) + k.l.tasks());
        LinuxGuest.ProcessList still = k.guest().processes(false);
        assertEquals(1, still.attempts());
        assertEquals(List.of("cycle"), kinds(still.anomalies()));
        k.live = true;
        k.reads = 0;
        k.healAfterReads = 25; // the first walk (24 reads up to the cycle) sees the update half-done
        LinuxGuest.ProcessList live = k.guest().processes(false);
        assertEquals(2, live.attempts());
        assertEquals(List.of(), live.anomalies());
        assertEquals(11, live.tasks().size());
    }

    @Test
    void liveRetriesAreBoundedAndTheLastAnomalyIsReported() {
        SyntheticKernel k = new SyntheticKernel(types(), 10);
        k.live = true;
        k.put64(SyntheticKernel.task(5) + k.l.tasks(), SyntheticKernel.task(2) + k.l.tasks());
        LinuxGuest.ProcessList p = k.guest().processes(false);
        assertEquals(LinuxGuest.LIVE_ATTEMPTS, p.attempts());
        assertEquals(List.of("cycle"), kinds(p.anomalies()));
    }

    @Test
    void threadsAreListedOnRequestAndAreNotHidden() {
        SyntheticKernel k = new SyntheticKernel(types(), 8);
        // task 8 becomes a second thread of task 2: off the task list and the children tree,
        // on the thread list of 2's signal_struct, as the kernel keeps non-leader threads
        unlink(k, 8, false);
        long sib = SyntheticKernel.task(8) + k.l.sibling();
        long n = k.get64(sib);
        long p = k.get64(sib + 8);
        k.put64(p, n);
        k.put64(n + 8, p);
        k.put32(SyntheticKernel.task(8) + k.l.tgid(), 2);
        k.put64(SyntheticKernel.task(8) + k.l.tasks() + 8, SyntheticKernel.task(8) + k.l.tasks());
        k.put64(SyntheticKernel.task(8) + k.l.tasks(), SyntheticKernel.task(8) + k.l.tasks());
        long sig = SyntheticKernel.BASE + 0xD0000;
        long head = sig + k.l.signalThreadHead();
        long a = SyntheticKernel.task(2) + k.l.threadNode();
        long b = SyntheticKernel.task(8) + k.l.threadNode();
        k.put64(head, a);
        k.put64(a, b);
        k.put64(b, head);
        k.put64(head + 8, b);
        k.put64(b + 8, a);
        k.put64(a + 8, head);
        k.put64(SyntheticKernel.task(2) + k.l.signal(), sig);
        k.put64(SyntheticKernel.task(8) + k.l.signal(), sig);
        assertEquals(8, k.guest().processes(false).tasks().size());
        LinuxGuest.ProcessList all = k.guest().processes(true);
        assertEquals(List.of(), all.anomalies());
        assertEquals(9, all.tasks().size());
        Task thread = all.tasks().get(8);
        assertEquals(8, thread.pid());
        assertEquals(2, thread.tgid());
        assertTrue(thread.isThread());
        assertEquals(List.of(), k.guest().crossView().hidden());
    }

    @Test
    void hiddenProcessAndWalkAnomaliesBecomeSchemaValidEveRecords() throws Exception {
        SyntheticKernel k = new SyntheticKernel(types(), 6);
        unlink(k, 4, true);
        k.put64(SyntheticKernel.task(2) + k.l.children(), 0x8000_0000_0000_0000L);
        CrossView cv = k.guest().crossView();
        assertEquals(1, cv.hidden().size());
        var events = cv.events(1_795_293_339_485_768_123L, "synthetic");
        assertEquals(1 + cv.anomalies().size(), events.size());
        assertTrue(cv.anomalies().size() >= 1);
        var buf = new java.io.ByteArrayOutputStream();
        try (var w = org.xenids.alert.EveWriter.of(buf)) {
            events.forEach(w::write);
        }
        List<String> lines = buf.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
        org.xenids.testdata.EveSchema.assertValid(lines);
        assertTrue(lines.get(0).contains("\"signature_id\":9100001"), lines.get(0));
        assertTrue(lines.get(0).contains("\"comm\":\"task-4\""), lines.get(0));
        assertTrue(lines.get(1).contains("\"event_type\":\"anomaly\""), lines.get(1));
        Anomaly first = cv.anomalies().get(0);
        var pktvars = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(1)).path("metadata").path("pktvars");
        assertEquals(String.format("0x%016x", first.address()), pktvars.path(0).path("address").asText(), lines.get(1));
        assertEquals(first.message(), pktvars.path(1).path("message").asText(), lines.get(1));
        assertEquals("synthetic", pktvars.path(2).path("image").asText(), lines.get(1));
    }

    /** Removes task i from the task list (list_del_init when {@code init}, else list_del_rcu). */
    static void unlink(SyntheticKernel k, int i, boolean init) {
        long self = SyntheticKernel.task(i) + k.l.tasks();
        long next = k.get64(self);
        long prev = k.get64(self + 8);
        k.put64(prev, next);
        k.put64(next + 8, prev);
        if (init) {
            k.put64(self, self);
            k.put64(self + 8, self);
        } else {
            k.put64(self + 8, TaskScan.LIST_POISON2);
        }
    }
}
