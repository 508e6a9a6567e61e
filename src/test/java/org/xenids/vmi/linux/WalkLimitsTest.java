package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every view that stops at the task limit says so: one {@code limit} anomaly each, and the scan
 * counts the candidates it did not check apart from those it rejected. The recorded nokaslr image
 * (214 tasks on the list, 2 hidden, no threads) with the limit lowered to reach it.
 */
class WalkLimitsTest {

    private static List<Anomaly> limits(List<Anomaly> an, String view) {
        return an.stream().filter(a -> a.view().equals(view) && a.kind().equals("limit")).toList();
    }

    @Test
    void eachViewCutAtTheLimitReportsItOnceAndTheScanCountsWhatItDidNotCheck() {
        CrossView full = GuestImages.nokaslr().guest().crossView();
        assertEquals(List.of(), full.anomalies());
        assertEquals(0, full.counts().scanPastLimit());
        long scanned = full.rows().stream().filter(r -> r.seenBy().contains(CrossView.SCAN)).count();
        assertEquals(full.counts().scanCandidates(), scanned + full.counts().scanExited() + full.counts().scanRejected());

        LinuxGuest g = GuestImages.nokaslr().guest();
        g.walks().maxTasks = 100;
        CrossView cut = g.crossView();
        CrossView.Counts c = cut.counts();
        assertEquals(full.counts().scanCandidates(), c.scanCandidates(), "every candidate is counted");
        assertTrue(c.scanPastLimit() > 0, c.toString());
        assertTrue(c.scanRejected() <= full.counts().scanRejected(), "a full scan rejects none: " + c + " vs " + full.counts());
        assertEquals(c.scanCandidates(), 100 + c.scanExited() + c.scanRejected() + c.scanPastLimit(), c.toString());
        List<Anomaly> scan = limits(cut.anomalies(), CrossView.SCAN);
        assertEquals(1, scan.size(), cut.anomalies().toString());
        assertEquals("the scan reached the limit of 100 tasks; stopped: " + c.scanPastLimit() + " further candidates not checked",
                scan.get(0).message());

        List<Anomaly> tree = limits(cut.anomalies(), CrossView.CHILDREN_TREE);
        assertEquals(1, tree.size(), cut.anomalies().toString());
        assertTrue(tree.get(0).message().matches("the children tree reached the limit of 100 tasks; stopped: "
                + "[1-9]\\d* children past the limit left out and the children of [1-9]\\d* tasks not read"), tree.get(0).message());

        List<Anomaly> idr = limits(cut.anomalies(), CrossView.PID_IDR);
        assertEquals(1, idr.size(), "one anomaly, not one per pid past the limit: " + idr.size());
        assertTrue(idr.get(0).message().matches("the pid IDR walk reached the limit of 100 tasks: [1-9]\\d* further pids found, their tasks not read"), idr.get(0).message());

        assertTrue(!limits(cut.anomalies(), CrossView.TASK_LIST).isEmpty(), cut.anomalies().toString());
    }

    @Test
    void aThreadWalkLeftWithNoRoomSaysHowManyProcessesItDidNotRead() {
        LinuxGuest g = GuestImages.nokaslr().guest();
        int listed = g.processes(false).tasks().size();
        g.walks().maxTasks = listed; // the task list fits exactly: no room for a thread
        assertEquals(List.of(), g.processes(false).anomalies());
        LinuxGuest.ProcessList p = g.processes(true);
        assertEquals(listed, p.tasks().size());
        assertEquals(1, p.anomalies().size(), p.anomalies().toString());
        Anomaly a = p.anomalies().get(0);
        assertEquals("limit", a.kind());
        assertEquals(CrossView.TASK_LIST, a.view());
        assertEquals(p.tasks().get(0).address(), a.address());
        assertEquals("the task list with threads reached the limit of " + listed + " tasks; stopped: the threads of " + listed + " processes not read",
                a.message());
    }

    /** Threads found with no room left for them are counted with the processes whose threads were not read. */
    @Test
    void threadsPastTheLimitAreCountedAsLeftOut() {
        SyntheticKernel k = new SyntheticKernel(HostileMemoryTest.types(), 8);
        // tasks 7 and 8 become threads of task 2, as in HostileMemoryTest's thread case
        long sig = SyntheticKernel.BASE + 0xD0000;
        long head = sig + k.l.signalThreadHead();
        long[] nodes = {head, SyntheticKernel.task(2) + k.l.threadNode(), SyntheticKernel.task(7) + k.l.threadNode(),
            SyntheticKernel.task(8) + k.l.threadNode()};
        for (int j = 0; j < nodes.length; j++) {
            k.put64(nodes[j], nodes[(j + 1) % nodes.length]);
            k.put64(nodes[j] + 8, nodes[(j + nodes.length - 1) % nodes.length]);
        }
        k.put64(SyntheticKernel.task(2) + k.l.signal(), sig);
        for (int t : new int[] {7, 8}) {
            HostileMemoryTest.unlink(k, t, false);
            long sib = SyntheticKernel.task(t) + k.l.sibling();
            long n = k.get64(sib);
            long p = k.get64(sib + 8);
            k.put64(p, n);
            k.put64(n + 8, p);
            k.put32(SyntheticKernel.task(t) + k.l.tgid(), 2);
            k.put64(SyntheticKernel.task(t) + k.l.tasks(), SyntheticKernel.task(t) + k.l.tasks());
            k.put64(SyntheticKernel.task(t) + k.l.tasks() + 8, SyntheticKernel.task(t) + k.l.tasks());
            k.put64(SyntheticKernel.task(t) + k.l.signal(), sig);
        }
        LinuxGuest g = k.guest();
        assertEquals(List.of(), g.processes(true).anomalies());
        assertEquals(9, g.processes(true).tasks().size(), "init, tasks 1 to 6, two threads");
        g.walks().maxTasks = 8; // room for one of the two threads
        LinuxGuest.ProcessList p = g.processes(true);
        assertEquals(8, p.tasks().size());
        assertEquals(1, p.anomalies().size(), p.anomalies().toString());
        assertEquals(SyntheticKernel.task(2), p.anomalies().get(0).address());
        assertEquals("the task list with threads reached the limit of 8 tasks; stopped: 1 thread past the limit left out"
                + " and the threads of 4 processes not read", p.anomalies().get(0).message());
    }

    @Test
    void aChildrenTreeWithinTheLimitIsNoAnomalyAndOneCutShortIsOne() {
        LinuxGuest g = GuestImages.nokaslr().guest();
        int inTree = g.walks().childrenTree().tasks().size();
        g.walks().maxTasks = inTree + 1;
        assertEquals(List.of(), g.walks().childrenTree().anomalies());
        g.walks().maxTasks = inTree - 1;
        TaskWalks.View v = g.walks().childrenTree();
        assertEquals(inTree - 1, v.tasks().size());
        assertEquals(1, limits(v.anomalies(), CrossView.CHILDREN_TREE).size(), v.anomalies().toString());
    }
}
