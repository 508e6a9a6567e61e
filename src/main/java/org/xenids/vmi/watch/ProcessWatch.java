package org.xenids.vmi.watch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenids.alert.EveEvent;
import org.xenids.alert.Signature;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.arch.VirtualMemory;
import org.xenids.vmi.linux.Anomaly;
import org.xenids.vmi.linux.CrossView;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.Task;

/**
 * Continuous introspection of one guest: at each {@link #tick} the task list, the pid IDR and
 * the children tree are read and cross-checked, and the differences from the previous tick are
 * reported as process starts and exits, plus an alert the first time a task is hidden.
 *
 * <p>Cost: everything that does not change is found once by the caller (kernel location,
 * symbols, struct layouts, the kernel's page-table root, all inside {@link LinuxGuest}); a tick
 * reads only the pages those three walks touch. The translation cache is dropped at the start of
 * each tick of a live guest (and again on each retry after a torn walk), because the guest ran in
 * between. The physical scan for task_structs reads all of RAM, so it runs only every
 * {@code scanEveryNanos} (and at the first tick). Consistency comes from validation and bounded
 * retries in LinuxGuest; the guest is paused around a tick only when asked ({@code qmp} +
 * {@code pause}), for comparison with LibVMI's pausing process list. Not thread-safe.
 */
public final class ProcessWatch implements AutoCloseable {
    /** Signature ids of the informational process events (hidden processes are 9100001). */
    public static final long SID_PROCESS_STARTED = 9100010;
    public static final long SID_PROCESS_EXITED = 9100011;
    /** Lowest priority Suricata's classification uses for "not suspicious" activity. */
    public static final int INFO_SEVERITY = 3;
    static final String CATEGORY = "Process activity (informational)";

    private static final Signature STARTED = Signature.detect(SID_PROCESS_STARTED,
            "XENIDS VMI process started (informational)", CATEGORY, INFO_SEVERITY);
    private static final Signature EXITED = Signature.detect(SID_PROCESS_EXITED,
            "XENIDS VMI process exited (informational)", CATEGORY, INFO_SEVERITY);

    /** What changed, in a form for people. */
    public enum Kind { STARTED, EXITED, HIDDEN }

    public record Change(Kind kind, Task task) {}

    /**
     * One tick: counts after it ({@code processes} and {@code tasks} on the task list, {@code hidden}
     * not on it), its cost ({@code walkNanos} includes pausing and resuming when
     * asked), what changed and its EVE events. The first tick reports no starts (it is the baseline).
     * {@code anomalies} counts the walk anomalies this tick met; {@code newAnomalies} are those of
     * them the previous tick did not meet (the ones to report: see {@link #tick}).
     */
    public record Tick(long seq, int processes, int tasks, int hidden, long walkNanos, long reads,
                       long pageWalks, boolean scanned, int anomalies, List<Anomaly> newAnomalies,
                       List<Change> changes, List<EveEvent> events) {
        public Tick {
            newAnomalies = List.copyOf(newAnomalies);
        }
    }

    /** A live process's identity: pid alone is reused. */
    private record Key(int pid, long startTimeNs) {}

    private final LinuxGuest guest;
    private final VirtualMemory kernel;
    private final String image;
    private final long scanEveryNanos;
    private final Qmp qmp;
    /** Guards the guest's paused state, which {@link #release} changes from another thread. */
    private final Object pauseLock = new Object();
    private boolean paused, released;
    private Map<Key, Task> live = new HashMap<>();
    private Set<Long> hiddenNow = new HashSet<>();
    private Set<Anomaly> anomaliesNow = Set.of();
    private long seq;
    private long lastScan = Long.MIN_VALUE;

    private ProcessWatch(LinuxGuest guest, VirtualMemory kernel, String image, long scanEveryNanos, Qmp qmp) {
        this.guest = guest;
        this.kernel = kernel;
        this.image = image;
        this.scanEveryNanos = scanEveryNanos;
        this.qmp = qmp;
    }

    /**
     * @param kernel the kernel address space the guest reads through (for page-walk counts)
     * @param image name put in alert contexts (may be null)
     * @param scanEveryNanos physical scan period; 0 or less: only at the first tick
     * @param qmpPause a QEMU QMP socket: the guest is stopped around each tick (null: never paused)
     */
    public static ProcessWatch open(LinuxGuest guest, VirtualMemory kernel, String image, long scanEveryNanos, Path qmpPause) {
        return new ProcessWatch(guest, kernel, image, scanEveryNanos, qmpPause == null ? null : Qmp.connect(qmpPause));
    }

    /**
     * Reads the guest once; {@code nowNanos} is the wall clock (epoch ns) for event timestamps.
     * A walk anomaly is reported (in {@link Tick#newAnomalies} and as an EVE record) at the first
     * tick that meets it, and again only after a tick that does not: a guest whose list stays
     * corrupt would otherwise repeat the same line every interval. Anomalies are the same when
     * view, kind, address and message are. The scan's anomalies persist between scans, since the
     * ticks without a scan cannot tell that they are gone.
     */
    public Tick tick(long nowNanos) {
        long mono = System.nanoTime();
        boolean scan = seq == 0 || (scanEveryNanos > 0 && mono - lastScan >= scanEveryNanos);
        long reads0 = guest.reads();
        long walks0 = kernel instanceof AddressSpace as ? as.totalPageWalks() : 0;
        long t0 = System.nanoTime();
        CrossView cv;
        try {
            pause();
            cv = guest.crossView(scan);
        } finally {
            resume();
        }
        long walk = System.nanoTime() - t0;
        if (scan) {
            lastScan = mono;
        }
        long pageWalks = kernel instanceof AddressSpace as ? as.totalPageWalks() - walks0 : 0;

        Map<Key, Task> now = new HashMap<>(live.size() * 2 + 16);
        int tasks = 0;
        int hiddenProcesses = 0;
        Set<Long> hidden = new HashSet<>();
        List<CrossView.Row> hiddenRows = new ArrayList<>();
        for (CrossView.Row r : cv.rows()) {
            if (r.status() == CrossView.Status.HIDDEN) {
                hidden.add(r.physical());
                if (!hiddenNow.contains(r.physical())) {
                    hiddenRows.add(r);
                }
                // A hidden process is alive: it neither exits when hidden nor starts when shown again.
                if (!r.task().isThread()) {
                    now.put(new Key(r.task().pid(), r.task().startTimeNs()), r.task());
                    hiddenProcesses++;
                }
            } else if (r.status() == CrossView.Status.LISTED || r.status() == CrossView.Status.NEW) {
                tasks++;
                if (!r.task().isThread()) {
                    now.put(new Key(r.task().pid(), r.task().startTimeNs()), r.task());
                }
            }
        }
        List<Change> changes = new ArrayList<>();
        List<EveEvent> events = new ArrayList<>();
        if (seq > 0) {
            for (var e : now.entrySet()) {
                if (!live.containsKey(e.getKey())) {
                    changes.add(new Change(Kind.STARTED, e.getValue()));
                    events.add(new EveEvent.Alert(nowNanos, 0, null, null, STARTED, context(e.getValue()), null));
                }
            }
            for (var e : live.entrySet()) {
                if (!now.containsKey(e.getKey())) {
                    changes.add(new Change(Kind.EXITED, e.getValue()));
                    events.add(new EveEvent.Alert(nowNanos, 0, null, null, EXITED, context(e.getValue()), null));
                }
            }
        }
        if (!hiddenRows.isEmpty()) {
            CrossView fresh = new CrossView(hiddenRows, cv.views(), cv.unavailable(), List.of(), cv.counts());
            events.addAll(fresh.alerts(nowNanos, image));
            for (CrossView.Row r : hiddenRows) {
                changes.add(new Change(Kind.HIDDEN, r.task()));
            }
        }
        Set<Anomaly> met = new LinkedHashSet<>(cv.anomalies());
        if (!scan) {
            for (Anomaly a : anomaliesNow) {
                if (a.view().equals(CrossView.SCAN)) {
                    met.add(a);
                }
            }
        }
        List<Anomaly> newAnomalies = new ArrayList<>();
        for (Anomaly a : met) {
            if (!anomaliesNow.contains(a)) {
                newAnomalies.add(a);
                events.add(a.eve(nowNanos, image));
            }
        }
        live = now;
        hiddenNow = hidden;
        anomaliesNow = met;
        seq++;
        return new Tick(seq, now.size() - hiddenProcesses, tasks, hidden.size(), walk, guest.reads() - reads0, pageWalks, scan,
                cv.anomalies().size(), newAnomalies, changes, events);
    }

    private Map<String, Object> context(Task t) {
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("pid", t.pid());
        ctx.put("ppid", t.ppid());
        ctx.put("uid", t.uid());
        ctx.put("comm", t.comm());
        ctx.put("kernel_thread", t.kernelThread());
        ctx.put("task", String.format("0x%016x", t.address()));
        if (image != null) {
            ctx.put("image", image);
        }
        return ctx;
    }

    private void pause() {
        synchronized (pauseLock) {
            if (qmp != null && !released) {
                // Set first: a stop QEMU applied but did not answer in time is still undone. A stop
                // QEMU answered with an error paused nothing, and a guest someone else paused is
                // not this watch's to resume.
                paused = true;
                try {
                    qmp.command("stop");
                } catch (IllegalStateException refused) {
                    paused = false;
                    throw refused;
                }
            }
        }
    }

    private boolean resume() {
        synchronized (pauseLock) {
            if (paused) {
                paused = false;
                qmp.command("cont");
                return true;
            }
            return false;
        }
    }

    /**
     * Resumes the guest now if a tick has it paused, and never pauses it again: for a watch told
     * to stop that cannot wait for the walk in progress (a scan of a large guest) to end, so
     * that the process exits without leaving the guest stopped. The walk goes on reading a
     * running guest. Callable from any thread. True when it resumed the guest.
     */
    public boolean release() {
        synchronized (pauseLock) {
            released = true;
            return resume();
        }
    }

    @Override
    public void close() {
        synchronized (pauseLock) {
            released = true;
            if (qmp != null) {
                qmp.close();
            }
        }
    }
}
