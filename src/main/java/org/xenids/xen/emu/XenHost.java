package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.LongSupplier;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.HypercallListener;

/**
 * An emulated Xen host (the package's entry point): machine frames, domains, the grant-table and
 * event-channel hypercalls with Xen 4.17's checks, XenStore, and the stream of hypercall events
 * ({@link org.xenids.xen.event}) that a tap consumes. A test bench and the embedded default
 * capture source; the detector never depends on it.
 *
 * <p>Single-threaded and deterministic: guests' reactions to events (upcalls) and XenStore
 * watches are queued and delivered by {@link #runPending()}, never inside a hypercall.
 */
public final class XenHost {
    /** Default machine memory bound: 1 GiB of frames, backed only when touched. */
    public static final int DEFAULT_MAX_FRAMES = 1 << 18;
    private static final long MAX_DELIVERIES = 100_000_000L;

    final Frames frames;
    private final Domain[] domains = new Domain[DOMID_FIRST_RESERVED];
    private HypercallListener[] listeners = new HypercallListener[0];
    private LongSupplier clock = System::nanoTime;
    private long sequence;
    private final Call call = new Call();
    private boolean inHypercall;
    private final GrantOps grants = new GrantOps(this);
    private final EventOps events = new EventOps(this);
    private final XenStore store = new XenStore(this);
    private long[] upcalls = new long[256];
    private int upHead, upCount;
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();
    private final DomainMemory memory = new Memory();
    // Drivers reuse their argument pages: read-only views are kept per (page, size), a few at a time.
    private final MemorySegment[] viewOf = new MemorySegment[16];
    private final MemorySegment[] views = new MemorySegment[16];
    private final long[] viewBytes = new long[16];
    private int nextView;

    public XenHost() {
        this(DEFAULT_MAX_FRAMES);
    }

    public XenHost(int maxFrames) {
        this.frames = new Frames(maxFrames);
    }

    /** Creates domain {@code domid} (0 is the privileged dom0) with at most {@code maxFrames} frames. */
    public Domain createDomain(int domid, String name, int maxFrames) {
        if (domid < 0 || domid >= DOMID_FIRST_RESERVED) {
            throw new IllegalArgumentException("domid " + domid + " outside 0.." + (DOMID_FIRST_RESERVED - 1));
        }
        if (domains[domid] != null) {
            throw new IllegalArgumentException("domain " + domid + " exists");
        }
        Domain d = new Domain(this, domid, name, maxFrames);
        domains[domid] = d;
        return d;
    }

    /** The domain with this id, or null. */
    public Domain domain(int domid) {
        return byId(domid);
    }

    public void addListener(HypercallListener l) {
        listeners = Arrays.copyOf(listeners, listeners.length + 1);
        listeners[listeners.length - 1] = l;
    }

    /** The clock stamped on hypercall events (nanoseconds); e.g. a capture's time when replaying. */
    public void clock(LongSupplier nanos) {
        this.clock = nanos;
    }

    /** Read access to every domain's frames, as the hypervisor has it (what a tap is given). */
    public DomainMemory memory() {
        return memory;
    }

    public XenStore xenstore() {
        return store;
    }

    /**
     * The one hypercall entry point: {@code op} is {@code __HYPERVISOR_grant_table_op} or
     * {@code __HYPERVISOR_event_channel_op}, {@code args} the op array in the caller's ABI bytes
     * ({@code count} structs; 1 for event-channel ops). Grant ops return 0 with per-op statuses in
     * {@code args}; event-channel ops return 0 or {@code -XEN_E*}; unknown ops {@code -XEN_ENOSYS}.
     * Listeners see every call.
     */
    public long hypercall(int callerDomid, int op, int cmd, MemorySegment args, int count) {
        Domain ld = byId(callerDomid);
        if (ld == null) {
            throw new IllegalArgumentException("no calling domain " + callerDomid);
        }
        if (inHypercall) {
            throw new IllegalStateException("hypercall made from inside a hypercall (a listener called back)");
        }
        inHypercall = true;
        try {
            Call c = call;
            c.sequence = ++sequence;
            c.timestamp = clock.getAsLong();
            c.caller = callerDomid;
            c.op = op;
            c.cmd = cmd;
            c.count = count;
            c.structSize = structSize(op, cmd);
            c.result = 0;
            long bytes = (long) Math.max(count, 0) * c.structSize;
            long viewBytes = Math.min(bytes, args.byteSize());
            c.args = view(args, viewBytes);
            long r;
            if (c.structSize == 0) {
                r = -XEN_ENOSYS;
            } else if (count < 0 || (op == __HYPERVISOR_event_channel_op && count != 1)) {
                r = -XEN_EINVAL;
            } else if (args.byteSize() < bytes) {
                r = -XEN_EFAULT;
            } else if (op == __HYPERVISOR_grant_table_op) {
                r = grants.apply(c, ld, args);
            } else {
                r = events.apply(c, ld, args);
            }
            c.result = r;
            for (HypercallListener l : listeners) {
                l.completed(c);
            }
            return r;
        } finally {
            inHypercall = false;
        }
    }

    private MemorySegment view(MemorySegment args, long bytes) {
        for (int i = 0; i < views.length; i++) {
            if (viewOf[i] == args && viewBytes[i] == bytes) {
                return views[i];
            }
        }
        int i = nextView++ & (views.length - 1);
        viewOf[i] = args;
        viewBytes[i] = bytes;
        views[i] = args.asSlice(0, bytes).asReadOnly();
        return views[i];
    }

    static int structSize(int op, int cmd) {
        if (op == __HYPERVISOR_grant_table_op) {
            return switch (cmd) {
                case GNTTABOP_map_grant_ref -> Gnttab.Map.SIZE;
                case GNTTABOP_unmap_grant_ref -> Gnttab.Unmap.SIZE;
                case GNTTABOP_setup_table -> Gnttab.SetupTable.SIZE;
                case GNTTABOP_copy -> Gnttab.Copy.SIZE;
                default -> 0;
            };
        }
        if (op == __HYPERVISOR_event_channel_op) {
            return switch (cmd) {
                case EVTCHNOP_alloc_unbound -> Evtchn.AllocUnbound.SIZE;
                case EVTCHNOP_bind_interdomain -> Evtchn.BindInterdomain.SIZE;
                case EVTCHNOP_send, EVTCHNOP_close, EVTCHNOP_unmask -> Evtchn.PortOp.SIZE;
                default -> 0;
            };
        }
        return 0;
    }

    /**
     * Delivers queued event-channel upcalls (clearing the pending bit first, as Linux's upcall
     * does) and XenStore watch events, in order, until none are left; returns how many were
     * delivered. A guest that keeps notifying forever fails the call instead of hanging it.
     */
    public long runPending() {
        long n = 0;
        while (upCount > 0 || !deferred.isEmpty()) {
            if (++n > MAX_DELIVERIES) {
                throw new IllegalStateException("more than " + MAX_DELIVERIES + " events without quiescence");
            }
            if (upCount > 0) {
                long e = upcalls[upHead];
                upHead = (upHead + 1) % upcalls.length;
                upCount--;
                Domain d = domains[(int) (e >>> 32)];
                int port = (int) e;
                Domain.Upcall h = d == null ? null : d.portHandlers[port] != null ? d.portHandlers[port] : d.upcall;
                if (h != null && d.evPending[port] && !d.evMasked[port]) {
                    d.evPending[port] = false;
                    h.event(port);
                }
            } else {
                deferred.poll().run();
            }
        }
        return n;
    }

    boolean allowed(Call c, int index) {
        for (HypercallListener l : listeners) {
            if (!l.allow(c, index)) {
                return false;
            }
        }
        return true;
    }

    Domain byId(int domid) {
        return domid >= 0 && domid < domains.length ? domains[domid] : null;
    }

    Domain byAnyId(int domid, Domain self) {
        return domid == DOMID_SELF ? self : byId(domid);
    }

    void setPending(Domain d, int port) {
        if (!d.evPending[port]) {
            d.evPending[port] = true;
            if (!d.evMasked[port]) {
                queueUpcall(d, port);
            }
        }
    }

    void queueUpcall(Domain d, int port) {
        if (upCount == upcalls.length) {
            long[] bigger = new long[upcalls.length * 2];
            for (int i = 0; i < upCount; i++) {
                bigger[i] = upcalls[(upHead + i) % upcalls.length];
            }
            upcalls = bigger;
            upHead = 0;
        }
        upcalls[(upHead + upCount++) % upcalls.length] = ((long) d.domid << 32) | port;
    }

    void defer(Runnable r) {
        deferred.add(r);
    }

    private final class Memory implements DomainMemory {
        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            if (!frames.owns(domid, frame) || offset < 0 || offset + dst.byteSize() > PAGE_SIZE) {
                return false;
            }
            MemorySegment.copy(frames.page(frame), offset, dst, 0, dst.byteSize());
            return true;
        }

        @Override
        public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
            if (!frames.owns(domid, frame) || offset < 0 || len < 0 || offset > PAGE_SIZE - len
                    || dstOff < 0 || dstOff > dst.length - len) {
                return false;
            }
            MemorySegment.copy(frames.page(frame), java.lang.foreign.ValueLayout.JAVA_BYTE, offset, dst, dstOff, len);
            return true;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            Domain d = byId(domid);
            if (d == null) {
                return -1;
            }
            int n = Math.min(out.length, d.gtNrFrames);
            System.arraycopy(d.gtFrames, 0, out, 0, n);
            return d.gtNrFrames;
        }
    }
}
