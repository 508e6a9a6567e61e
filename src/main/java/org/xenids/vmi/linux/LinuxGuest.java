package org.xenids.vmi.linux;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.arch.VirtualMemory;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * A Linux guest kernel read from outside: its processes from the task list, and the cross-view
 * check against the pid IDR, the children tree and a physical scan. The package's entry point.
 * Not thread-safe (one reader, reusable buffers). On a live guest, a walk that meets a torn
 * link, a cycle or a fault is retried (at most {@link #LIVE_ATTEMPTS} times) after dropping
 * cached translations; what is still wrong after that is reported as anomalies.
 */
public final class LinuxGuest {
    public static final int LIVE_ATTEMPTS = 3;
    static final long DEFAULT_DIRECT_MAP_4LEVEL = 0xffff888000000000L;
    static final long DEFAULT_DIRECT_MAP_5LEVEL = 0xff11000000000000L;
    static final String[] SCHED_CLASSES = {"stop_sched_class", "dl_sched_class", "rt_sched_class",
        "fair_sched_class", "idle_sched_class", "ext_sched_class"};

    private final PhysicalMemory pm;
    private final VirtualMemory vm;
    private final Symbols syms;
    private final KernelTypes types;
    private final Layout layout;
    private final GuestReader r;
    private final TaskWalks walks;

    /** The task list as read, what was wrong with it, and how many walks it took. */
    public record ProcessList(List<Task> tasks, List<Anomaly> anomalies, int attempts) {}

    private LinuxGuest(PhysicalMemory pm, VirtualMemory vm, Symbols syms, KernelTypes types) {
        this.pm = pm;
        this.vm = vm;
        this.syms = syms;
        this.types = types;
        this.layout = Layout.of(types);
        this.r = new GuestReader(vm, layout.windowLo(), layout.windowLength());
        this.walks = new TaskWalks(r, layout, syms.require("init_task"));
    }

    /**
     * @param kernel the kernel's address space (kernel DTB)
     * @param syms run-time symbol addresses (needs init_task; init_pid_ns, *_sched_class and
     *     page_offset_base for the other views)
     */
    public static LinuxGuest open(PhysicalMemory pm, VirtualMemory kernel, Symbols syms, KernelTypes types) {
        return new LinuxGuest(pm, kernel, syms, types);
    }

    /**
     * The kernel's own BTF from guest memory: read between {@code __start_BTF} and
     * {@code __stop_BTF} when the symbols know them, else found by scanning the kernel image's
     * physical pages (any process can write a BTF look-alike into its own pages elsewhere).
     */
    public static KernelTypes btfFromMemory(PhysicalMemory pm, LinuxKernel k) {
        Btf btf = BtfLocator.fromSymbols(k.kernel(), k.symbols());
        if (btf == null) {
            btf = BtfLocator.scan(pm, k.textPhysical(), k.imageSize());
        }
        if (btf == null) {
            throw new IllegalStateException("no kernel BTF found in " + pm.describe()
                    + " (kernel without CONFIG_DEBUG_INFO_BTF?): give --btf FILE or --isf FILE");
        }
        return btf;
    }

    public KernelTypes types() { return types; }

    public Symbols symbols() { return syms; }

    /** Guest memory reads done so far (for benchmarks: cost per listing). */
    public long reads() { return r.reads(); }

    /** The processes on the kernel's task list (from init_task), optionally with their threads. */
    public ProcessList processes(boolean threads) {
        TaskWalks.View v = null;
        int attempts = 0;
        while (attempts < (pm.live() ? LIVE_ATTEMPTS : 1)) {
            if (attempts > 0) {
                invalidate();
            }
            attempts++;
            v = walks.taskList(threads);
            if (v.anomalies().isEmpty()) {
                break;
            }
        }
        return new ProcessList(v.tasks(), v.anomalies(), attempts);
    }

    private void invalidate() {
        if (vm instanceof AddressSpace as) {
            as.invalidate();
        }
    }

    /** Runs every view it can and cross-checks them (psxview). */
    public CrossView crossView() {
        return crossView(true);
    }

    /**
     * The cross-view check; without {@code scan} only the views that read just the pages they
     * need (task list, pid IDR, children tree), for continuous monitoring: the physical scan
     * reads all of RAM and is run less often.
     */
    public CrossView crossView(boolean scan) {
        if (pm.live()) {
            invalidate();
        }
        List<TaskWalks.View> views = new ArrayList<>();
        views.add(processesView());
        OptionalLong ns = syms.address("init_pid_ns");
        PidIdrWalk idr = new PidIdrWalk(walks);
        views.add(ns.isPresent() ? idr.walk(ns.getAsLong())
                : TaskWalks.View.unavailable(CrossView.PID_IDR, "no init_pid_ns symbol in " + syms.source()));
        views.add(walks.childrenTree());
        TaskScan scanner = new TaskScan(walks);
        if (scan) {
            views.add(scanner.scan(pm, directMap(), schedClasses()));
        }

        List<String> names = new ArrayList<>();
        Map<String, String> unavailable = new LinkedHashMap<>();
        List<Anomaly> anomalies = new ArrayList<>();
        Map<Long, Task> first = new LinkedHashMap<>();
        Map<Long, Set<String>> seen = new LinkedHashMap<>();
        for (TaskWalks.View v : views) {
            if (v.unavailable() != null) {
                unavailable.put(v.name(), v.unavailable());
                continue;
            }
            names.add(v.name());
            anomalies.addAll(v.anomalies());
            for (Task t : v.tasks()) {
                long phys;
                try {
                    phys = vm.translate(t.address());
                } catch (MemoryFault f) {
                    anomalies.add(new Anomaly(v.name(), "fault", t.address(), f.getMessage()));
                    continue;
                }
                first.putIfAbsent(phys, t);
                seen.computeIfAbsent(phys, k -> new LinkedHashSet<>()).add(v.name());
            }
        }
        Map<Long, CrossView.Status> status = new LinkedHashMap<>();
        List<Long> suspects = new ArrayList<>();
        for (var e : first.entrySet()) {
            long phys = e.getKey();
            Set<String> by = seen.get(phys);
            CrossView.Status s;
            if (by.contains(CrossView.TASK_LIST)) {
                s = CrossView.Status.LISTED;
            } else if (e.getValue().pid() == 0) {
                s = CrossView.Status.IDLE;
            } else if (!stillAlive(e.getValue())) {
                s = CrossView.Status.EXITED;
            } else if (by.equals(Set.of(CrossView.SCAN)) && !pidPointsBack(e.getValue())) {
                s = CrossView.Status.STALE;
            } else {
                s = CrossView.Status.HIDDEN;
                suspects.add(phys);
            }
            status.put(phys, s);
        }
        if (!suspects.isEmpty()) {
            // A process forked while the other views were read is on a fresh walk of the list.
            Set<Long> again = new java.util.HashSet<>();
            for (Task t : walks.taskList(true).tasks()) {
                try {
                    again.add(vm.translate(t.address()));
                } catch (MemoryFault f) {
                    // counted by the first walk already
                }
            }
            for (long phys : suspects) {
                if (again.contains(phys)) {
                    status.put(phys, CrossView.Status.NEW);
                }
            }
        }
        List<CrossView.Row> rows = new ArrayList<>();
        for (var e : first.entrySet()) {
            rows.add(new CrossView.Row(e.getValue(), e.getKey(), Set.copyOf(seen.get(e.getKey())), status.get(e.getKey())));
        }
        rows.sort(java.util.Comparator.comparingInt((CrossView.Row row) -> row.task().pid())
                .thenComparingLong(CrossView.Row::physical));
        rows = rows.stream().map(row -> new CrossView.Row(row.task(), row.physical(),
                orderedSet(row.seenBy(), names), row.status())).toList();
        return new CrossView(rows, names, unavailable, anomalies,
                new CrossView.Counts(scanner.candidates, scanner.exited, scanner.rejected, scanner.pastLimit,
                        idr.pidsWithoutTask()));
    }

    /** The walks this guest reads with (for tests that lower their limits). */
    TaskWalks walks() {
        return walks;
    }

    private TaskWalks.View processesView() {
        ProcessList p = processes(true);
        return new TaskWalks.View(CrossView.TASK_LIST, p.tasks(), p.anomalies(), null);
    }

    private static Set<String> orderedSet(Set<String> s, List<String> order) {
        Set<String> out = new LinkedHashSet<>();
        for (String v : order) {
            if (s.contains(v)) {
                out.add(v);
            }
        }
        return java.util.Collections.unmodifiableSet(out);
    }

    /** Re-reads a task: same pid and comm, not exiting. */
    private boolean stillAlive(Task t) {
        try {
            Task now = walks.readTask(t.address(), "recheck", new ArrayList<>());
            if (now.pid() != t.pid() || !now.comm().equals(t.comm())) {
                return false;
            }
            int exitState = layout.exitState() >= 0 ? r.s32(t.address() + layout.exitState()) : 0;
            int flags = layout.flags() >= 0 ? r.s32(t.address() + layout.flags()) : 0;
            return exitState == 0 && (flags & TaskWalks.PF_EXITING) == 0;
        } catch (MemoryFault f) {
            return false;
        }
    }

    /** True when the task's struct pid still names it as the PIDTYPE_PID task (or this cannot be checked). */
    private boolean pidPointsBack(Task t) {
        if (layout.threadPid() < 0 || layout.pidTasks0() < 0 || layout.pidLinks0() < 0) {
            return true;
        }
        try {
            long pid = r.u64(t.address() + layout.threadPid());
            if (!GuestReader.kernelPointer(pid)) {
                return false;
            }
            long firstTask = r.u64(pid + layout.pidTasks0());
            return GuestReader.kernelPointer(firstTask)
                    && vm.translate(firstTask) == vm.translate(t.address() + layout.pidLinks0());
        } catch (MemoryFault f) {
            return false;
        }
    }

    /** page_offset_base's value when the kernel has it (randomised direct map), else the default. */
    long directMap() {
        OptionalLong pob = syms.address("page_offset_base");
        if (pob.isPresent()) {
            try {
                long v = r.u64(pob.getAsLong());
                if (GuestReader.kernelPointer(v) && (v & 0x3fffffffL) == 0) {
                    return v;
                }
            } catch (MemoryFault f) {
                // fall through to the default
            }
        }
        return vm instanceof AddressSpace as && as.fiveLevel() ? DEFAULT_DIRECT_MAP_5LEVEL : DEFAULT_DIRECT_MAP_4LEVEL;
    }

    private long[] schedClasses() {
        List<Long> out = new ArrayList<>();
        for (String s : SCHED_CLASSES) {
            syms.address(s).ifPresent(out::add);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }
}
