package org.xenids.vmi.linux;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenids.alert.EveEvent;
import org.xenids.alert.Signature;

/**
 * The task set as several independent kernel structures see it (psxview): the task list, the
 * pid IDR, the children tree and a physical scan. One row per task_struct (tasks seen through
 * different aliases of one physical address are one row). A task that some view sees but the
 * task list does not, that is still alive when re-read, and that a fresh walk of the task list
 * still misses, is {@link Status#HIDDEN} (direct kernel object manipulation).
 */
public record CrossView(List<Row> rows, List<String> views, Map<String, String> unavailable,
                        List<Anomaly> anomalies, Counts counts) {

    public static final String TASK_LIST = "task-list";
    public static final String PID_IDR = "pid-idr";
    public static final String CHILDREN_TREE = "children-tree";
    public static final String SCAN = "scan";
    /** EVE signature id of a hidden process (the 9100xxx range is host introspection). */
    public static final long SID_HIDDEN_PROCESS = 9100001;

    /** What a row is, after the checks. */
    public enum Status {
        /** On the task list. */
        LISTED,
        /** Missing from the task list, alive, and confirmed by a second walk. */
        HIDDEN,
        /** Seen elsewhere but exiting or exited (or changed identity) when re-read. */
        EXITED,
        /** A per-CPU idle task (pid 0): never on the task list. */
        IDLE,
        /** Only the scan saw it and its struct pid does not point back at it: a stale copy. */
        STALE,
        /** On the task list only after a second walk: created while the views were read. */
        NEW
    }

    /** One task_struct; {@code seenBy} lists the views (in {@link #views()} order) that saw it. */
    public record Row(Task task, long physical, Set<String> seenBy, Status status) {
        public boolean hidden() { return status == Status.HIDDEN; }
    }

    /**
     * What the views saw besides tasks: scan candidates (sched_class matches), those that were
     * exited task_structs, those that failed the checks and those met once the scan had kept as
     * many tasks as a view may (not checked); pid IDR entries with no task attached.
     */
    public record Counts(int scanCandidates, int scanExited, int scanRejected, int scanPastLimit, int pidsWithoutTask) {}

    public CrossView {
        rows = List.copyOf(rows);
        views = List.copyOf(views);
        unavailable = Map.copyOf(unavailable);
        anomalies = List.copyOf(anomalies);
    }

    public List<Row> hidden() {
        return rows.stream().filter(Row::hidden).toList();
    }

    /**
     * What to log: one alert per hidden task, then one EVE {@code anomaly} per walk anomaly
     * (type "vmi", event = its kind, layer = its view, address and message: {@link Anomaly#eve}).
     */
    public List<EveEvent> events(long timestampNanos, String image) {
        List<EveEvent> out = new ArrayList<>(alerts(timestampNanos, image));
        for (Anomaly a : anomalies) {
            out.add(a.eve(timestampNanos, image));
        }
        return out;
    }

    /** One EVE alert per hidden task; detail in {@code alert.context}. */
    public List<EveEvent.Alert> alerts(long timestampNanos, String image) {
        Signature sig = Signature.detect(SID_HIDDEN_PROCESS,
                "XENIDS VMI hidden process: missing from the kernel task list but present in other kernel structures",
                "Hidden process (DKOM)", 1);
        List<EveEvent.Alert> out = new ArrayList<>();
        for (Row row : hidden()) {
            Task t = row.task();
            Map<String, Object> ctx = new LinkedHashMap<>();
            ctx.put("pid", t.pid());
            ctx.put("tgid", t.tgid());
            ctx.put("ppid", t.ppid());
            ctx.put("uid", t.uid());
            ctx.put("comm", t.comm());
            ctx.put("task", String.format("0x%016x", t.address()));
            ctx.put("task_phys", String.format("0x%x", row.physical()));
            ctx.put("seen_by", List.copyOf(row.seenBy()));
            ctx.put("missing_from", views.stream().filter(v -> !row.seenBy().contains(v)).toList());
            if (!unavailable.isEmpty()) {
                ctx.put("views_unavailable", List.copyOf(unavailable.keySet()));
            }
            if (image != null) {
                ctx.put("image", image);
            }
            out.add(new EveEvent.Alert(timestampNanos, 0, null, null, sig, ctx, null));
        }
        return out;
    }
}
