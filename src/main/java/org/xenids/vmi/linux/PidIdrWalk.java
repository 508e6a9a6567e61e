package org.xenids.vmi.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.xenids.vmi.memory.MemoryFault;

/**
 * The pid IDR of {@code init_pid_ns}: on 5.x/6.x kernels an xarray ({@code idr.idr_rt}) whose
 * leaves are {@code struct pid}; each pid's {@code tasks[PIDTYPE_PID]} hlist points at
 * {@code task_struct.pid_links[PIDTYPE_PID]}. This is what the guest's own /proc (and so its
 * {@code ps}) lists. Bounded: node visited set, shifts strictly decreasing by 6, depth ≤ 11.
 */
final class PidIdrWalk {
    static final int XA_CHUNK_SHIFT = 6;
    static final int XA_SLOTS = 1 << XA_CHUNK_SHIFT;
    static final int MAX_DEPTH = 12;

    private final TaskWalks walks;
    private final GuestReader r;
    private final Layout l;
    private final MemorySegment[] slotBufs = new MemorySegment[MAX_DEPTH + 1];
    private List<Task> out;
    private List<Anomaly> an;
    private LongSet seen;
    private int pidsWithoutTask;
    private int pastLimit;
    private long firstPastLimit;

    PidIdrWalk(TaskWalks walks) {
        this.walks = walks;
        this.r = walks.r;
        this.l = walks.l;
        Arena arena = Arena.ofAuto();
        for (int i = 0; i <= MAX_DEPTH; i++) {
            slotBufs[i] = arena.allocate(XA_SLOTS * 8L, 8);
        }
    }

    TaskWalks.View walk(long initPidNs) {
        String view = "pid-idr";
        if (!l.hasIdr()) {
            return TaskWalks.View.unavailable(view, "no pid IDR offsets (pid_namespace.idr, pid.numbers, xa_node) in " + l.source());
        }
        out = new ArrayList<>(256);
        an = new ArrayList<>();
        seen = new LongSet(64);
        pidsWithoutTask = 0;
        pastLimit = 0;
        try {
            long head = r.u64(initPidNs + l.nsIdrHead());
            entry(head, 64 + XA_CHUNK_SHIFT, 0, initPidNs + l.nsIdrHead());
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), "init_pid_ns.idr: " + f.getMessage()));
        }
        if (pastLimit > 0) {
            // One anomaly with the count: the walk goes on through the tree, each pid past the limit left unread.
            an.add(new Anomaly(view, "limit", firstPastLimit, String.format(
                    "the pid IDR walk reached the limit of %d tasks: %d further pids found, their tasks not read", walks.maxTasks, pastLimit)));
        }
        return new TaskWalks.View(view, List.copyOf(out), List.copyOf(an), null);
    }

    int pidsWithoutTask() { return pidsWithoutTask; }

    private void entry(long e, int parentShift, int depth, long where) {
        if (e == 0) {
            return;
        }
        if ((e & 3) == 2) {
            if (Long.compareUnsigned(e, 4096) <= 0) {
                return; // sibling, retry or zero entry: no pointer
            }
            node(e - 2, parentShift, depth, where);
        } else if ((e & 1) == 0) {
            pid(e, where);
        }
        // (e & 1) == 1: a value entry, not a pointer; the pid IDR stores none.
    }

    private void node(long node, int parentShift, int depth, long where) {
        String view = "pid-idr";
        if (!GuestReader.kernelPointer(node)) {
            an.add(new Anomaly(view, "bad-pointer", where, String.format("xa_node pointer 0x%x is not a kernel address", node)));
            return;
        }
        if (!seen.add(node)) {
            an.add(new Anomaly(view, "cycle", node, "xa_node reached twice"));
            return;
        }
        if (depth >= MAX_DEPTH) {
            an.add(new Anomaly(view, "limit", node, "xarray deeper than " + MAX_DEPTH + " levels"));
            return;
        }
        try {
            int shift = r.u8(node + l.xaShift());
            if (shift % XA_CHUNK_SHIFT != 0 || shift >= parentShift - XA_CHUNK_SHIFT + 1 || shift > 60) {
                an.add(new Anomaly(view, "bad-node", node, "xa_node.shift = " + shift + " under a parent of shift "
                        + (parentShift > 64 ? "(root)" : parentShift)));
                return;
            }
            MemorySegment slots = slotBufs[depth];
            r.read(node + l.xaSlots(), slots);
            long[] entries = new long[XA_SLOTS];
            for (int i = 0; i < XA_SLOTS; i++) {
                entries[i] = slots.get(GuestReader.LE_LONG, i * 8L);
            }
            for (int i = 0; i < XA_SLOTS; i++) {
                entry(entries[i], shift, depth + 1, node + l.xaSlots() + i * 8L);
            }
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), "xa_node 0x" + Long.toHexString(node) + ": " + f.getMessage()));
        }
    }

    private void pid(long pid, long where) {
        String view = "pid-idr";
        if (out.size() >= walks.maxTasks) {
            if (pastLimit++ == 0) {
                firstPastLimit = pid;
            }
            return;
        }
        if (!GuestReader.kernelPointer(pid)) {
            an.add(new Anomaly(view, "bad-pointer", where, String.format("struct pid pointer 0x%x is not a kernel address", pid)));
            return;
        }
        try {
            int nr = r.s32(pid + l.pidNr());
            long first = r.u64(pid + l.pidTasks0());
            if (first == 0) {
                pidsWithoutTask++; // allocated but not attached yet, or kept by a reference after exit
                return;
            }
            if (!GuestReader.kernelPointer(first)) {
                an.add(new Anomaly(view, "bad-pointer", pid, String.format("pid %d: tasks[PIDTYPE_PID].first = 0x%x", nr, first)));
                return;
            }
            Task t = walks.readTask(first - l.pidLinks0(), view, an);
            if (t.pid() != nr) {
                an.add(new Anomaly(view, "pid-mismatch", t.address(), "struct pid " + nr + " points at a task with pid " + t.pid()));
                return;
            }
            out.add(t);
        } catch (MemoryFault f) {
            an.add(new Anomaly(view, "fault", f.address(), "struct pid at 0x" + Long.toHexString(pid) + ": " + f.getMessage()));
        }
    }
}
