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
    }

    /** Reads one task_struct; pid and comm faults propagate, the other fields degrade to -1. */
    Task readTask(long t, String view, List<Anomaly> an) {
        int pid = r.s32(t + l.pid());
        String comm = r.comm(t + l.comm());
        int tgid = l.tgid() >= 0 ? r.s32(t + l.tgid()) : -1;
        boolean kthread;
        if (l.flags() >= 0) {
            kthread = (r.s32(t + l.flags()) & PF_KTHREAD) != 0;
        } else {
            kthread = l.mm() >= 0 && r.u64(t + l.mm()) == 0;
        }
        int ppid = -1;
        if (l.realParent() >= 0 && l.tgid() >= 0) {
            long p = r.u64(t + l.realParent());
            ppid = field(p, l.tgid(), t, "real_parent", view, an);
        }
        int uid = -1;
        if (l.cred() >= 0 && l.credUid() >= 0) {
            long c = r.u64(t + l.cred());
            uid = field(c, l.credUid(), t, "cred", view, an);
        }
        long start = l.startTime() >= 0 ? r.u64(t + l.startTime()) : 0;
        return new Task(t, pid, tgid, ppid, uid, comm, kthread, start);
    }

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
            walkList(head, l.tasks(), MAX_TASKS, seen, view, "tasks", out, an);
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), f.getMessage()));
        }
        if (withThreads) {
            int leaders = out.size();
            for (int i = 0; i < leaders && out.size() < MAX_TASKS; i++) {
                threads(out.get(i).address(), out, an, seen);
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
            if (n++ >= limit || out.size() >= MAX_TASKS) {
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
            long back = r.u64(node + 8);
            if (back != prev) {
                an.add(new Anomaly(view, "torn-link", node - nodeOff, String.format(
                        "%s.prev = 0x%x, but the list reached it from 0x%x", member, back, prev)));
            }
            out.add(readTask(node - nodeOff, view, an));
            prev = node;
            node = r.u64(node);
        }
    }

    private void threads(long leader, List<Task> out, List<Anomaly> an, LongSet seen) {
        String view = "task-list";
        try {
            long head;
            long nodeOff;
            if (l.signal() >= 0 && l.signalThreadHead() >= 0 && l.threadNode() >= 0) {
                long sig = r.u64(leader + l.signal());
                if (sig == 0) {
                    return;
                }
                head = sig + l.signalThreadHead();
                nodeOff = l.threadNode();
            } else if (l.threadGroup() >= 0) {
                head = leader + l.threadGroup();
                nodeOff = l.threadGroup();
            } else {
                return;
            }
            List<Task> group = new ArrayList<>();
            LongSet local = new LongSet(16);
            local.add(head);
            walkList(head, nodeOff, MAX_THREADS, local, view, "thread", group, an);
            for (Task t : group) {
                if (t.address() != leader && seen.add(t.address() + l.tasks())) {
                    out.add(t);
                }
            }
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), "threads of task 0x" + Long.toHexString(leader) + ": " + f.getMessage()));
        }
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
        for (int i = 0; i < out.size() && out.size() < MAX_TASKS; i++) {
            long parent = out.get(i).address();
            long head = parent + l.children();
            if (!seenNodes.add(head)) {
                an.add(new Anomaly(view, "cycle", parent, "task reached twice in the children tree"));
                continue;
            }
            List<Task> kids = new ArrayList<>();
            try {
                walkList(head, l.sibling(), MAX_TASKS, seenNodes, view, "children", kids, an);
            } catch (MemoryFault f) {
                an.add(new Anomaly(view, "fault", f.address(), "children of task 0x" + Long.toHexString(parent) + ": " + f.getMessage()));
            }
            out.addAll(kids);
        }
        return new View(view, List.copyOf(out), List.copyOf(an), null);
    }
}
