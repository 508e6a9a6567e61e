package org.xenids.vmi.linux;

import java.util.ArrayList;
import java.util.List;
import org.xenids.vmi.memory.MemoryFault;

/**
 * The linked-list views of the task set: the global task list from {@code init_task.tasks}
 * (plus each group's threads on request) and the parent → children tree. Every walk is bounded
 * (visited set, {@link #MAX_TASKS}); a cycle, a torn link ({@code next->prev} disagreeing), a
 * pointer that is no kernel address or a read fault ends or marks the walk with an
 * {@link Anomaly} instead of looping or failing the whole listing.
 */
final class TaskWalks {
    static final int MAX_TASKS = 1 << 20;
    /**
     * The most tasks one view keeps ({@link #MAX_TASKS}); the scan and the pid IDR walk use it
     * too. Not final so that tests can reach it with a real image of a few hundred tasks.
     */
    int maxTasks = MAX_TASKS;
    static final int MAX_THREADS = 1 << 16;
    static final int PF_EXITING = 0x4;
    static final int PF_KTHREAD = 0x00200000;

    /** One view's result: the tasks it saw, what went wrong, or why it could not run. */
    record View(String name, List<Task> tasks, List<Anomaly> anomalies, String unavailable) {
        static View unavailable(String name, String why) {
            return new View(name, List.of(), List.of(), why);
        }
    }

    final GuestReader r;
    final Layout l;
    final long initTask;

    TaskWalks(GuestReader r, Layout l, long initTask) {
        this.r = r;
        this.l = l;
        this.initTask = initTask;
        this.lastNodeOff = l.tasks();
    }

    /**
     * Reads one task_struct (one read of its member window, plus real_parent's tgid and cred's
     * uid); a fault on the task itself propagates, the pointed-to fields degrade to -1. The
     * window stays valid until the next task is read, so callers may take list links from it.
     */
    Task readTask(long t, String view, List<Anomaly> an) {
        r.window(t);
        int pid = r.w32(l.pid());
        String comm = r.wComm(l.comm());
        int tgid = l.tgid() >= 0 ? r.w32(l.tgid()) : -1;
        boolean kthread;
        if (l.flags() >= 0) {
            kthread = ((l.flagsInWindow() ? r.w32(l.flags()) : r.s32(t + l.flags())) & PF_KTHREAD) != 0;
        } else {
            kthread = l.mm() >= 0 && r.w64(l.mm()) == 0;
        }
        long start = l.startTime() >= 0 ? r.w64(l.startTime()) : 0;
        long parent = l.realParent() >= 0 && l.tgid() >= 0 ? r.w64(l.realParent()) : 0;
        long cred = l.cred() >= 0 && l.credUid() >= 0 ? r.w64(l.cred()) : 0;
        long next = r.w64(lastNodeOff);
        long prev = r.w64(lastNodeOff + 8);
        int ppid = parent == 0 ? -1 : field(parent, l.tgid(), t, "real_parent", view, an);
        int uid = cred == 0 ? -1 : field(cred, l.credUid(), t, "cred", view, an);
        lastNext = next;
        lastPrev = prev;
        return new Task(t, pid, tgid, ppid, uid, comm, kthread, start);
    }

    // The list links of the last task read, at the member walkList follows (set before readTask).
    private long lastNodeOff;  // always a member inside the window
    private long lastNext;
    private long lastPrev;

    private int field(long ptr, long off, long task, String what, String view, List<Anomaly> an) {
        if (!GuestReader.kernelPointer(ptr)) {
            an.add(new Anomaly(view, "bad-pointer", task, String.format("%s = 0x%x is not a kernel address", what, ptr)));
            return -1;
        }
        try {
            return r.s32(ptr + off);
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), what + " of task: " + f.getMessage()));
            return -1;
        }
    }

    /** The global task list from init_task (which is included), optionally with every group's threads. */
    View taskList(boolean withThreads) {
        String view = "task-list";
        List<Task> out = new ArrayList<>(256);
        List<Anomaly> an = new ArrayList<>();
        LongSet seen = new LongSet(512);
        long head = initTask + l.tasks();
        seen.add(head);
        try {
            out.add(readTask(initTask, view, an));
            walkList(head, l.tasks(), maxTasks, seen, view, "tasks", out, an);
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), f.getMessage()));
        }
        if (withThreads) {
            int leaders = out.size();
            int i = 0;
            int dropped = 0;
            for (; i < leaders && out.size() < maxTasks; i++) {
                dropped += threads(out.get(i).address(), out, an, seen);
            }
            if (dropped > 0 || i < leaders) {
                // The threads of the leader that filled the list were cut, or those of the rest never read.
                long at = out.get(dropped > 0 ? i - 1 : i).address();
                an.add(new Anomaly(view, "limit", at, "the task list with threads reached the limit of " + maxTasks + " tasks; stopped: "
                        + left(dropped, "%d thread past the limit left out", "%d threads past the limit left out",
                                leaders - i, "the threads of %d process not read", "the threads of %d processes not read")));
            }
        }
        return new View(view, List.copyOf(out), List.copyOf(an), null);
    }

    /**
     * Follows a circular list_head from {@code head}, each node being {@code nodeOff} into a
     * task_struct; checks every node's prev against the node it came from.
     */
    private void walkList(long head, long nodeOff, int limit, LongSet seen, String view, String member,
                          List<Task> out, List<Anomaly> an) {
        long prev = head;
        long node = r.u64(head);
        int n = 0;
        while (node != head) {
            if (n++ >= limit || out.size() >= maxTasks) {
                an.add(new Anomaly(view, "limit", node, "more than " + limit + " entries in the " + member + " list; stopped"));
                return;
            }
            if (!GuestReader.kernelPointer(node)) {
                an.add(new Anomaly(view, "bad-pointer", prev,
                        String.format("%s.next = 0x%x is not a kernel address; list cut here", member, node)));
                return;
            }
            if (!seen.add(node)) {
                an.add(new Anomaly(view, "cycle", node,
                        String.format("%s list loops back to 0x%x without returning to its head", member, node)));
                return;
            }
            lastNodeOff = nodeOff;
            try {
                out.add(readTask(node - nodeOff, view, an));
            } catch (MemoryFault f) {
                an.add(new Anomaly(view, "fault", node, String.format(
                        "%s link 0x%x (from 0x%x) leads to unreadable memory: %s", member, node, prev, f.getMessage())));
                return;
            } finally {
                lastNodeOff = l.tasks();
            }
            long back = lastPrev;
            if (back != prev) {
                an.add(new Anomaly(view, "torn-link", node - nodeOff, String.format(
                        "%s.prev = 0x%x, but the list reached it from 0x%x", member, back, prev)));
            }
            prev = node;
            node = lastNext;
        }
    }

    /** Adds the threads of {@code leader} but not past {@link #maxTasks}; returns how many it left out. */
    private int threads(long leader, List<Task> out, List<Anomaly> an, LongSet seen) {
        String view = "task-list";
        try {
            long head;
            long nodeOff;
            if (l.signal() >= 0 && l.signalThreadHead() >= 0 && l.threadNode() >= 0) {
                long sig = r.u64(leader + l.signal());
                if (sig == 0) {
                    return 0;
                }
                head = sig + l.signalThreadHead();
                nodeOff = l.threadNode();
            } else if (l.threadGroup() >= 0) {
                head = leader + l.threadGroup();
                nodeOff = l.threadGroup();
            } else {
                return 0;
            }
            List<Task> group = new ArrayList<>();
            LongSet local = new LongSet(16);
            local.add(head);
            walkList(head, nodeOff, MAX_THREADS, local, view, "thread", group, an);
            int dropped = 0;
            for (Task t : group) {
                if (t.address() != leader && seen.add(t.address() + l.tasks())) {
                    if (out.size() < maxTasks) {
                        out.add(t);
                    } else {
                        dropped++;
                    }
                }
            }
            return dropped;
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), "threads of task 0x" + Long.toHexString(leader) + ": " + f.getMessage()));
            return 0;
        }
    }

    /**
     * What a walk cut at the limit left, in words: "3 threads past the limit left out and the
     * threads of 2 processes not read", either part alone when the other is 0.
     */
    private static String left(int dropped, String droppedOne, String droppedMany,
                               int unread, String unreadOne, String unreadMany) {
        String d = String.format(dropped == 1 ? droppedOne : droppedMany, dropped);
        String u = String.format(unread == 1 ? unreadOne : unreadMany, unread);
        return dropped == 0 ? u : unread == 0 ? d : d + " and " + u;
    }

    /** The parent → children tree from init_task (thread-group leaders only, as the kernel links them). */
    View childrenTree() {
        String view = "children-tree";
        if (!l.hasTree()) {
            return View.unavailable(view, "no task_struct.children/sibling offsets in " + l.source());
        }
        List<Task> out = new ArrayList<>(256);
        List<Anomaly> an = new ArrayList<>();
        LongSet seenNodes = new LongSet(512);
        try {
            out.add(readTask(initTask, view, an));
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), f.getMessage()));
            return new View(view, List.of(), List.copyOf(an), null);
        }
        int i = 0;
        int dropped = 0;
        for (; i < out.size() && out.size() < maxTasks; i++) {
            long parent = out.get(i).address();
            long head = parent + l.children();
            if (!seenNodes.add(head)) {
                an.add(new Anomaly(view, "cycle", parent, "task reached twice in the children tree"));
                continue;
            }
            List<Task> kids = new ArrayList<>();
            try {
                walkList(head, l.sibling(), maxTasks, seenNodes, view, "children", kids, an);
            } catch (MemoryFault f) {
                an.add(new Anomaly(view, "fault", f.address(), "children of task 0x" + Long.toHexString(parent) + ": " + f.getMessage()));
            }
            int room = maxTasks - out.size();
            if (kids.size() > room) {
                dropped += kids.size() - room;
                kids = kids.subList(0, room);
            }
            out.addAll(kids);
        }
        if (dropped > 0 || i < out.size()) {
            // The children of the parent that filled the tree were cut, or those of the rest never read.
            long at = out.get(dropped > 0 ? i - 1 : i).address();
            an.add(new Anomaly(view, "limit", at, "the children tree reached the limit of " + maxTasks + " tasks; stopped: "
                    + left(dropped, "%d child past the limit left out", "%d children past the limit left out",
                            out.size() - i, "the children of %d task not read", "the children of %d tasks not read")));
        }
        return new View(view, List.copyOf(out), List.copyOf(an), null);
    }
}
