package org.xenids.vmi.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * A physical-memory scan for task_structs, in the manner of Volatility's psscan: every
 * 64-byte-aligned object (the task_struct slab's alignment) whose {@code sched_class} equals
 * one of the kernel's scheduling classes is a candidate, then read through the direct map and
 * kept only when it looks like a live task: printable comm, pid/tgid in range, list and
 * parent pointers that are kernel addresses, and its own {@code tasks} links either consistent
 * ({@code next->prev == self}), pointing at itself (list_del_init) or RCU-deleted. Exited tasks
 * whose memory is not reused yet (exit_state set or PF_EXITING) are counted apart, and so are the
 * candidates met once {@link TaskWalks#maxTasks} tasks are kept (not checked, with one anomaly).
 */
final class TaskScan {
    static final int PID_MAX_LIMIT = 4 * 1024 * 1024;
    static final long LIST_POISON2 = 0xdead000000000122L;
    static final int ALIGN = 64;
    static final int CHUNK = 1 << 20;

    private final TaskWalks walks;
    private final GuestReader r;
    private final Layout l;
    int candidates;
    int exited;
    int rejected;
    int pastLimit;
    private long firstPastLimit;

    TaskScan(TaskWalks walks) {
        this.walks = walks;
        this.r = walks.r;
        this.l = walks.l;
    }

    /**
     * @param directMap the direct map's base (page_offset_base): physical p is virtual directMap + p
     * @param schedClasses the run-time addresses of the kernel's sched_class objects
     */
    TaskWalks.View scan(PhysicalMemory pm, long directMap, long[] schedClasses) {
        String view = "scan";
        if (!l.hasScan()) {
            return TaskWalks.View.unavailable(view, "no task_struct.sched_class offset in " + l.source());
        }
        if (schedClasses.length == 0) {
            return TaskWalks.View.unavailable(view, "no *_sched_class symbols");
        }
        List<Task> out = new ArrayList<>(256);
        List<Anomaly> an = new ArrayList<>();
        candidates = exited = rejected = pastLimit = 0;
        long so = l.schedClass();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK, 64);
            for (PhysicalMemory.Range range : pm.ranges()) {
                // Candidate objects start on 64-byte boundaries; their sched_class field follows.
                long first = (range.start() + ALIGN - 1) & -ALIGN;
                for (long base = first; base < range.end(); base += CHUNK) {
                    long len = Math.min(CHUNK, range.end() - base);
                    MemorySegment chunk = buf.asSlice(0, len);
                    try {
                        pm.read(base, chunk);
                    } catch (MemoryFault f) {
                        an.add(new Anomaly(view, "fault", base, "physical read: " + f.getMessage()));
                        continue;
                    }
                    for (long off = so % ALIGN; off + 8 <= len; off += ALIGN) {
                        long v = chunk.get(GuestReader.LE_LONG, off);
                        if (v < 0 && match(v, schedClasses)) {
                            long objPhys = base + off - so;
                            if (objPhys >= 0) {
                                candidate(directMap + objPhys, out, an);
                            }
                        }
                    }
                }
            }
        }
        if (pastLimit > 0) {
            an.add(new Anomaly(view, "limit", firstPastLimit, String.format(
                    "the scan reached the limit of %d tasks; stopped: %d further candidates not checked", walks.maxTasks, pastLimit)));
        }
        return new TaskWalks.View(view, List.copyOf(out), List.copyOf(an), null);
    }

    private static boolean match(long v, long[] set) {
        for (long s : set) {
            if (s == v) {
                return true;
            }
        }
        return false;
    }

    private void candidate(long t, List<Task> out, List<Anomaly> an) {
        candidates++;
        if (out.size() >= walks.maxTasks) {
            // A full scan is no evidence against the candidate: counted apart from those rejected.
            if (pastLimit++ == 0) {
                firstPastLimit = t;
            }
            return;
        }
        try {
            if (!plausible(t)) {
                rejected++;
                return;
            }
            int exitState = l.exitState() >= 0 ? r.s32(t + l.exitState()) : 0;
            int flags = l.flags() >= 0 ? r.s32(t + l.flags()) : 0;
            if (exitState != 0 || (flags & TaskWalks.PF_EXITING) != 0) {
                exited++;
                return;
            }
            out.add(walks.readTask(t, "scan", new ArrayList<>()));
        } catch (MemoryFault f) {
            rejected++;
        }
    }

    /** The structural checks a real task_struct passes. */
    boolean plausible(long t) {
        if (!r.printableComm(t + l.comm())) {
            return false;
        }
        int pid = r.s32(t + l.pid());
        int tgid = r.s32(t + l.tgid());
        if (pid < 0 || pid > PID_MAX_LIMIT || tgid < 0 || tgid > PID_MAX_LIMIT) {
            return false;
        }
        if (l.realParent() >= 0 && !GuestReader.kernelPointer(r.u64(t + l.realParent()))) {
            return false;
        }
        long self = t + l.tasks();
        long next = r.u64(self);
        long prev = r.u64(self + 8);
        if (next == self && prev == self) {
            return true; // unlinked with list_del_init
        }
        if (!GuestReader.kernelPointer(next)) {
            return false;
        }
        if (prev == LIST_POISON2) {
            return true; // unlinked with list_del_rcu; liveness is checked by the caller
        }
        return GuestReader.kernelPointer(prev) && same(r.u64(next + 8), self) && same(r.u64(prev), self);
    }

    /** Equal, or aliases of one physical address (init_task is reached through the direct map). */
    private boolean same(long a, long b) {
        if (a == b) {
            return true;
        }
        try {
            return GuestReader.kernelPointer(a) && r.vm.translate(a) == r.vm.translate(b);
        } catch (MemoryFault f) {
            return false;
        }
    }
}
