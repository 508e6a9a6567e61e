package org.xenids.vmi.linux;

/**
 * The offsets the walkers use, resolved once from a {@link KernelTypes}. An offset the source
 * does not know is -1; the walker that needs it says it cannot run (e.g. a LibVMI config has
 * no pid IDR offsets).
 */
record Layout(
        long tasks, long pid, long tgid, long comm, long mm, long flags, long realParent, long cred,
        long credUid, long startTime, long children, long sibling, long signal, long signalThreadHead,
        long threadNode, long threadGroup, long pidLinks0, long threadPid, long schedClass, long exitState,
        long pidNr, long pidTasks0, long nsIdrHead, long xaShift, long xaSlots, String source) {

    /** The member paths the walkers read; tests check that BTF and ISF agree on each of them. */
    static final String[] PATHS = {
        "task_struct.tasks", "task_struct.pid", "task_struct.tgid", "task_struct.comm", "task_struct.mm",
        "task_struct.flags", "task_struct.real_parent", "task_struct.cred", "cred.uid", "task_struct.start_time",
        "task_struct.children", "task_struct.sibling", "task_struct.signal", "signal_struct.thread_head",
        "task_struct.thread_node", "task_struct.thread_group", "task_struct.pid_links[0]", "task_struct.thread_pid",
        "task_struct.sched_class", "task_struct.exit_state", "pid.numbers[0].nr", "pid.tasks[0]",
        "pid_namespace.idr.idr_rt.xa_head", "xa_node.shift", "xa_node.slots",
    };

    static Layout of(KernelTypes t) {
        long[] o = new long[PATHS.length];
        for (int i = 0; i < PATHS.length; i++) {
            o[i] = t.has(PATHS[i]) ? t.offset(PATHS[i]) : -1;
        }
        if (o[0] < 0 || o[1] < 0 || o[3] < 0) {
            throw new IllegalArgumentException(t.source() + " lacks task_struct.tasks, .pid or .comm: cannot list processes");
        }
        return new Layout(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11], o[12], o[13],
                o[14], o[15], o[16], o[17], o[18], o[19], o[20], o[21], o[22], o[23], o[24], t.source());
    }

    /** The span of task_struct that holds every member the walkers read: [lo, lo + length). */
    long windowLo() {
        long lo = Long.MAX_VALUE;
        for (long o : taskOffsets()) {
            if (o >= 0) {
                lo = Math.min(lo, o);
            }
        }
        return lo;
    }

    int windowLength() {
        long hi = 0;
        for (long o : taskOffsets()) {
            if (o >= 0) {
                hi = Math.max(hi, o + 16);
            }
        }
        long len = hi - windowLo();
        if (len > 1 << 16) {
            throw new IllegalArgumentException(source + ": task_struct members spread over " + len + " bytes (implausible)");
        }
        return (int) len;
    }

    /**
     * Members read for every task (flags is read apart when it lies far from the others, as on
     * x86-64 where it is near the start of task_struct: one small read beats copying kilobytes).
     */
    private long[] taskOffsets() {
        return new long[] {tasks, pid, tgid, comm, mm, flagsInWindow() ? flags : -1, realParent, cred, startTime,
            children, sibling, signal, threadNode, threadGroup, pidLinks0, threadPid, exitState};
    }

    boolean flagsInWindow() {
        return flags >= 0 && Math.abs(flags - tasks) < 512;
    }

    boolean hasIdr() { return nsIdrHead >= 0 && pidNr >= 0 && pidTasks0 >= 0 && pidLinks0 >= 0 && xaShift >= 0 && xaSlots >= 0; }

    boolean hasTree() { return children >= 0 && sibling >= 0; }

    boolean hasScan() { return schedClass >= 0 && tgid >= 0; }

    boolean hasThreads() { return (signal >= 0 && signalThreadHead >= 0 && threadNode >= 0) || threadGroup >= 0; }
}
