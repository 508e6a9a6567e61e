package org.xenids.testdata;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;

/**
 * Processes hidden in a {@link LiveGuest} by direct kernel object manipulation, with the test module
 * {@code scripts/vmi-guest.d/hide} built against Debian's linux-headers for the guest's own kernel
 * and loaded with insmod through the guest's command port. The technique is the recorded hidden
 * images' (shared data {@code vmi/README.md}): unlinked from {@code init_task.tasks}, and for
 * {@code full} also removed from {@code init_pid_ns.idr}, so that the guest's own ps (which reads
 * /proc through the pid IDR) no longer shows them. They keep running in their parent's children list.
 * {@link #close()} unloads the module, which puts them back.
 *
 * <pre>{@code
 * try (Dkom d = Dkom.hide(guest, List.of(pidA), List.of(pidB))) { ... }
 * }</pre>
 */
public final class Dkom implements AutoCloseable {
    private static final String MODULE = "/lib/xenids/xenids_hide.ko";

    private final LiveGuest guest;
    private final LiveGuest.Ack loaded;
    private boolean closed;

    private Dkom(LiveGuest guest, LiveGuest.Ack loaded) {
        this.guest = guest;
        this.loaded = loaded;
    }

    /**
     * Loads the module hiding {@code listOnly} from the task list and {@code full} from the task list
     * and the pid IDR. Skips the calling test when the guest has no module because Debian's headers
     * could not be installed; fails with the guest's own message when insmod fails.
     */
    public static Dkom hide(LiveGuest guest, List<Integer> listOnly, List<Integer> full) {
        String fact = guest.fact("hide_module").orElseThrow(() -> new IllegalStateException(
                "live guest " + guest.name() + " was started without the hide module (Options.hideModule)"));
        if (fact.startsWith("unavailable")) {
            Assumptions.abort("DKOM module " + fact);
        }
        if (listOnly.isEmpty() && full.isEmpty()) throw new IllegalArgumentException("nothing to hide");
        StringBuilder cmd = new StringBuilder("insmod " + MODULE);
        if (!listOnly.isEmpty()) cmd.append(" list_pids=").append(join(listOnly));
        if (!full.isEmpty()) cmd.append(" full_pids=").append(join(full));
        LiveGuest.Ack a = guest.command("sh", cmd + " || { dmesg | grep xenids_hide | tail -n 2; false; }");
        if (!a.ok()) {
            throw new IllegalStateException("live guest " + guest.name() + ": " + cmd + " failed (" + a.info()
                    + "); serial log " + guest.serialLog());
        }
        return new Dkom(guest, a);
    }

    /** The guest's own process list taken right after the module was loaded. */
    public List<LiveGuest.Proc> psAfterHiding() { return loaded.ps(); }

    /** Unloads the module: hidden processes still alive are back on the task list and in the pid IDR. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        LiveGuest.Ack a = guest.command("sh", "rmmod xenids_hide");
        if (!a.ok()) {
            throw new IllegalStateException("live guest " + guest.name() + ": rmmod xenids_hide " + a.info());
        }
    }

    private static String join(List<Integer> pids) {
        return pids.stream().map(String::valueOf).collect(Collectors.joining(","));
    }
}
