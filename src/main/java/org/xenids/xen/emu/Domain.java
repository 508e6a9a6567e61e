package org.xenids.xen.emu;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Xen;

/**
 * One domain of an emulated host: its frames, its v1 grant table (entries stored in its own
 * grant-table frames, as Xen shares them with the guest), its event channels, and the hypervisor's
 * private state about them (active grant pins, the maptrack of grants it has mapped).
 *
 * <p>The public methods are what the guest kernel itself does without a hypercall: touch its own
 * memory, write grant entries (Linux's {@code gnttab_grant_foreign_access}), register the
 * event-channel upcall, mask ports. Everything else goes through {@link XenHost#hypercall}.
 */
public final class Domain {
    /** Default grant-table size limit (Xen's default max_grant_frames is 64). */
    static final int MAX_GRANT_FRAMES = 64;
    static final int MAX_PORTS = 4096;
    static final int MAX_MAPTRACK = 65536;
    static final int MAPTRACK_BATCH = 512;

    /** Handles a pending event-channel port; called by {@link XenHost#runPending()}. */
    @FunctionalInterface
    public interface Upcall {
        void event(int port);
    }

    final XenHost host;
    final int domid;
    final String name;
    final boolean privileged;
    final int maxFrames;
    int framesOwned;

    // Grant table (this domain as granter).
    final long[] gtFrames = new long[MAX_GRANT_FRAMES];
    int gtNrFrames;
    final int[] pin = new int[MAX_GRANT_FRAMES * Gnttab.EntryV1.PER_FRAME];
    final short[] actDomid = new short[pin.length];
    final long[] actFrame = new long[pin.length];

    // Maptrack (this domain as mapper): handle -> (flags, domid, ref, host_addr).
    final int[] mtFlags = new int[MAX_MAPTRACK];
    final short[] mtDomid = new short[MAX_MAPTRACK];
    final int[] mtRef = new int[MAX_MAPTRACK];
    final long[] mtHostAddr = new long[MAX_MAPTRACK];
    int mtLimit;
    final int[] mtFree = new int[MAX_MAPTRACK];
    int mtFreeHead, mtFreeCount;

    // Event channels.
    static final byte ECS_FREE = 0, ECS_RESERVED = 1, ECS_UNBOUND = 2, ECS_INTERDOMAIN = 3;
    final byte[] evState = new byte[MAX_PORTS];
    final short[] evRemoteDom = new short[MAX_PORTS];
    final int[] evRemotePort = new int[MAX_PORTS];
    final boolean[] evPending = new boolean[MAX_PORTS];
    final boolean[] evMasked = new boolean[MAX_PORTS];
    Upcall upcall;
    final Upcall[] portHandlers = new Upcall[MAX_PORTS];

    Domain(XenHost host, int domid, String name, int maxFrames) {
        this.host = host;
        this.domid = domid;
        this.name = name;
        this.privileged = domid == 0;
        this.maxFrames = maxFrames;
        evState[0] = ECS_RESERVED;
        growGrantTable(1);
    }

    private int vcpus = 1;

    /** Number of vCPUs (netback offers as many queues as dom0 has). */
    public int vcpus() {
        return vcpus;
    }

    public void vcpus(int n) {
        if (n < 1 || n > 128) {
            throw new IllegalArgumentException("vcpus " + n + " outside 1..128");
        }
        vcpus = n;
    }

    public int domid() {
        return domid;
    }

    public String name() {
        return name;
    }

    /** A new zeroed frame of this domain (bounded by its memory limit and the host's). */
    public long allocFrame() {
        if (framesOwned >= maxFrames) {
            throw new IllegalStateException("d" + domid + " (" + name + ") is out of memory: "
                    + maxFrames + " frames");
        }
        long f = host.frames.allocate(domid);
        framesOwned++;
        return f;
    }

    /** The 4 KiB page of one of this domain's own frames (the guest's view of its memory). */
    public MemorySegment page(long frame) {
        if (!host.frames.owns(domid, frame)) {
            throw new IllegalArgumentException("d" + domid + " does not own frame " + frame);
        }
        return host.frames.page(frame);
    }

    private int nextGrantRef = org.xenids.xen.abi.Xen.GNTTAB_NR_RESERVED_ENTRIES;

    /**
     * Claims {@code n} consecutive grant refs for a driver (the guest kernel's own bookkeeping, like
     * Linux's gnttab_alloc_grant_references); returns the first. Refs below 8 stay reserved.
     */
    public int claimGrantRefs(int n) {
        if (nextGrantRef + n > grantEntries()) {
            throw new IllegalStateException("d" + domid + ": grant table full (" + grantEntries()
                    + " entries; set it up larger with GNTTABOP_setup_table)");
        }
        int first = nextGrantRef;
        nextGrantRef += n;
        return first;
    }

    /** Number of grant entries the table currently has. */
    public int grantEntries() {
        return gtNrFrames * Gnttab.EntryV1.PER_FRAME;
    }

    /**
     * Writes grant entry {@code ref} to permit {@code grantee} access to {@code frame} (the guest's
     * own grant-table write; the frame is stored first, flags last, as Linux does).
     */
    public void grantAccess(int ref, int grantee, long frame, boolean readonly) {
        MemorySegment page = entryPage(ref);
        long at = entryOffset(ref);
        Gnttab.EntryV1.domid(page, at, grantee);
        Gnttab.EntryV1.frame(page, at, (int) frame);
        Gnttab.EntryV1.flags(page, at, Xen.GTF_permit_access | (readonly ? Xen.GTF_readonly : 0));
    }

    /**
     * Revokes grant entry {@code ref} (Linux's {@code gnttab_end_foreign_access_ref}): fails, leaving
     * the entry, while Xen has it in use ({@code GTF_reading}/{@code GTF_writing} set).
     */
    public boolean endAccess(int ref) {
        MemorySegment page = entryPage(ref);
        long at = entryOffset(ref);
        int flags = Gnttab.EntryV1.flags(page, at);
        if ((flags & (Xen.GTF_reading | Xen.GTF_writing)) != 0) {
            return false;
        }
        Gnttab.EntryV1.flags(page, at, 0);
        return true;
    }

    /** The flags of grant entry {@code ref} as the guest reads them from its table. */
    public int grantFlags(int ref) {
        return Gnttab.EntryV1.flags(entryPage(ref), entryOffset(ref));
    }

    /** Registers the guest's event-channel upcall handler. */
    public void onEvent(Upcall handler) {
        this.upcall = handler;
    }

    /** Registers the handler of one port (a driver's interrupt), taking precedence over {@link #onEvent}. */
    public void onEvent(int port, Upcall handler) {
        checkPort(port);
        portHandlers[port] = handler;
    }

    /** Sets the mask bit of a port (a guest write to its shared-info page). */
    public void mask(int port) {
        checkPort(port);
        evMasked[port] = true;
    }

    public boolean pending(int port) {
        checkPort(port);
        return evPending[port];
    }

    private void checkPort(int port) {
        if (port < 0 || port >= MAX_PORTS) {
            throw new IllegalArgumentException("port " + port + " out of range");
        }
    }

    MemorySegment entryPage(int ref) {
        if (ref < 0 || ref >= grantEntries()) {
            throw new IllegalArgumentException("d" + domid + ": grant ref " + ref + " beyond the table ("
                    + grantEntries() + " entries)");
        }
        return host.frames.page(gtFrames[ref / Gnttab.EntryV1.PER_FRAME]);
    }

    static long entryOffset(int ref) {
        return (long) (ref % Gnttab.EntryV1.PER_FRAME) * Gnttab.EntryV1.SIZE;
    }

    /** Grows the grant table to {@code nr} frames; false when above the limit. */
    boolean growGrantTable(int nr) {
        if (nr > MAX_GRANT_FRAMES) {
            return false;
        }
        while (gtNrFrames < nr) {
            gtFrames[gtNrFrames++] = host.frames.allocate(domid);
        }
        return true;
    }

    /**
     * A maptrack handle. Like Xen's per-vCPU free list: new handles come in batches of a page's
     * worth in order, freed handles go to the tail, so a just-freed handle is not reused at once
     * (the real trace maps handle 6, unmaps it, then maps handle 7). −1 when exhausted.
     */
    int getMaptrackHandle() {
        if (mtFreeCount == 0) {
            int batch = Math.min(MAPTRACK_BATCH, MAX_MAPTRACK - mtLimit);
            for (int i = 0; i < batch; i++) {
                mtFree[(mtFreeHead + mtFreeCount++) % MAX_MAPTRACK] = mtLimit++;
            }
            if (mtFreeCount == 0) {
                return -1;
            }
        }
        int h = mtFree[mtFreeHead];
        mtFreeHead = (mtFreeHead + 1) % MAX_MAPTRACK;
        mtFreeCount--;
        return h;
    }

    void putMaptrackHandle(int h) {
        mtFlags[h] = 0;
        mtFree[(mtFreeHead + mtFreeCount) % MAX_MAPTRACK] = h;
        mtFreeCount++;
    }

    int freePort() {
        for (int p = 1; p < MAX_PORTS; p++) {
            if (evState[p] == ECS_FREE) {
                return p;
            }
        }
        return -1;
    }
}
