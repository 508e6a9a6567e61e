package org.xenids.xen.probe;

import static org.xenids.xen.abi.Xen.*;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;
import org.xenids.xen.rsp.GdbRemote;

/**
 * Observes a real Xen 4.17 (x86-64) from outside, through QEMU's gdbstub: breakpoints at the
 * entries of {@code do_grant_table_op} and {@code do_event_channel_op} and at their return
 * addresses turn every grant-table and event-channel hypercall of every domain into the
 * {@link Hypercall} stream of {@code org.xenids.xen.event}, with the op array read through the
 * stub (the caller's page tables are live at both stops) and results after return. Memory is
 * read from the machine's RAM file ({@link #memory()}).
 *
 * <p>Only {@code completed} is delivered: an observer cannot refuse an op, so
 * {@code allow} is never called. A preempted grant-table batch is delivered in parts: the elements
 * Xen completed before each preemption, when the caller re-enters the continuation
 * ({@link Continuations}).
 */
public final class XenProbe implements Closeable {
    /** Ops per call read through the stub; Linux netback issues at most 64 copies per call. */
    static final int MAX_OPS = 256;
    private static final boolean DEBUG = System.getenv("XENIDS_PROBE_DEBUG") != null;

    /** What the probe did. */
    public record Stats(long stops, long calls, long grantCalls, long eventCalls, long unknownStops,
                        long truncatedArrays, long readFailures, long skippedSends, long continuations,
                        long lostContinuations, String buildId) {}

    private final GdbRemote gdb;
    private final MachineMemory memory;
    private final long gnttabEntry, evtchnEntry, noteAddr;
    private final String symbolsBuildId;
    private final CurrentDomain current;
    private final Map<Long, Pending> pendingByRsp = new HashMap<>();
    private final Map<Long, Integer> returnBreaks = new HashMap<>();
    private final Call view = new Call();
    /** (domid << 32 | port) of ports made by alloc_unbound or bind_interdomain since attaching. */
    private final java.util.Set<Long> interdomainPorts = new java.util.HashSet<>();
    private long skippedSends;
    private long stops, calls, grantCalls, eventCalls, unknownStops, truncated, readFailures, seq;
    private String liveBuildId = "";
    private java.util.function.Consumer<Stats> progress;

    /** Called with the counters after the first stops and every 100th. */
    public void progress(java.util.function.Consumer<Stats> p) {
        this.progress = p;
    }

    private final Continuations held = new Continuations();

    record Pending(int domid, int op, int cmd, int count, int structSize, long argsAddr, long retAddr,
                   long timestamp) {}

    private XenProbe(GdbRemote gdb, MachineMemory memory, XenSymbols syms) throws IOException {
        this.gdb = gdb;
        this.memory = memory;
        this.gnttabEntry = syms.address("do_grant_table_op");
        this.evtchnEntry = syms.address("do_event_channel_op");
        this.noteAddr = syms.address("__note_gnu_build_id_start");
        this.symbolsBuildId = syms.buildId;
        this.current = new CurrentDomain(syms);
    }

    /**
     * Attaches to the stub at {@code host:port} (QEMU started with {@code -S}: nothing has run yet),
     * loads {@code symbolMap}/{@code symsElf} (the {@code -dbg} package), maps {@code ramFile}, and
     * sets the entry breakpoints. The build-id of the running hypervisor is checked against the
     * symbols' at the first stop ({@link #run} fails then when they differ).
     */
    public static XenProbe attach(String host, int port, Path symbolMap, Path symsElf, Path ramFile,
                                  Duration timeout) throws IOException {
        XenSymbols syms = XenSymbols.load(symbolMap, symsElf);
        GdbRemote g = GdbRemote.connect(host, port, timeout);
        try {
            XenProbe p = new XenProbe(g, new MachineMemory(ramFile), syms);
            g.stopReason();
            g.insertBreakpoint(0, p.gnttabEntry);
            g.insertBreakpoint(0, p.evtchnEntry);
            return p;
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** Checks a hypervisor image (e.g. {@code /boot/xen-4.17-amd64.gz}) against the symbols' build-id. */
    public static String requireSameBuild(Path hypervisor, Path symsElf) throws IOException {
        String a = XenSymbols.buildId(hypervisor), b = XenSymbols.buildId(symsElf);
        XenSymbols.requireSameBuild(a, hypervisor.toString(), b);
        return a;
    }

    /** Machine memory by frame number, with the grant-table frames {@code setup_table} returned. */
    public DomainMemory memory() {
        return memory;
    }

    /**
     * Resumes the machine and delivers calls to {@code listener} until {@code done} says so (checked
     * at each stop and every {@code poll}), the machine exits, or {@code maxTime} passes.
     */
    public Stats run(HypercallListener listener, BooleanSupplier done, Duration poll, Duration maxTime) throws IOException {
        long deadline = System.nanoTime() + maxTime.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("probe: no end after " + maxTime.toSeconds() + " s (" + calls + " calls seen)");
            }
            GdbRemote.StopReply r;
            try {
                r = gdb.cont(poll);
            } catch (GdbRemote.RspException e) {
                if (e.getMessage().contains("connection closed")) {
                    break;   // QEMU exited
                }
                if (!e.getMessage().contains("no reply")) {
                    throw e;
                }
                // time to check done; a breakpoint may have raced the interrupt, so the stop is handled
                r = gdb.interrupt();
            }
            if (!r.stopped()) {
                break;   // QEMU's machine powered off
            }
            stops++;
            long rip = onStop(listener);
            if (DEBUG) {
                System.err.printf("probe: stop %d %s rip=%x pending=%d returnBreaks=%s unknown=%d%n", stops, r.raw(), rip,
                        pendingByRsp.size(), returnBreaks, unknownStops);
            }
            stepOver(rip, r.thread());
            if (progress != null && (stops <= 3 || stops % 200 == 0)) {
                progress.accept(stats());
            }
        }
        return stats();
    }

    public Stats stats() {
        return new Stats(stops, calls, grantCalls, eventCalls, unknownStops, truncated, readFailures, skippedSends,
                held.resumed(), held.lost(), liveBuildId);
    }

    /**
     * QEMU does not step over a breakpoint at the current pc on continue (a gdb client removes its
     * breakpoints while stopped): the stopped CPU steps one instruction with the breakpoint out.
     */
    private void stepOver(long rip, long thread) throws IOException {
        boolean ours = rip == gnttabEntry || rip == evtchnEntry || returnBreaks.containsKey(rip);
        if (!ours) {
            return;
        }
        gdb.removeBreakpoint(0, rip);
        GdbRemote.StopReply s = gdb.step(thread > 0 ? thread : 1);
        if (!s.stopped()) {
            throw new IOException("probe: the machine ended while stepping over " + Long.toHexString(rip));
        }
        gdb.insertBreakpoint(0, rip);
    }

    /** Handles one stop; returns the stopped pc. */
    private long onStop(HypercallListener listener) throws IOException {
        long[] regs = gdb.generalRegisters();
        long rip = regs[GdbRemote.RIP];
        long rsp = regs[GdbRemote.RSP];
        if (liveBuildId.isEmpty() && (rip == gnttabEntry || rip == evtchnEntry)) {
            byte[] note = gdb.readMemory(noteAddr, 36);
            liveBuildId = HexFormat.of().formatHex(note, 16, 36);
            XenSymbols.requireSameBuild(liveBuildId, "running at " + Long.toHexString(noteAddr), symbolsBuildId);
        }
        if (rip == gnttabEntry || rip == evtchnEntry) {
            int op = rip == gnttabEntry ? __HYPERVISOR_grant_table_op : __HYPERVISOR_event_channel_op;
            int cmd = (int) regs[GdbRemote.RDI];
            long args = regs[GdbRemote.RSI];
            int count = op == __HYPERVISOR_grant_table_op ? (int) regs[GdbRemote.RDX] : 1;
            int domid = current.domid(gdb, rsp);
            if (op == __HYPERVISOR_event_channel_op && cmd == EVTCHNOP_send) {
                byte[] port = gdb.readMemory(args, 4);
                long key = (long) domid << 32 | ((port[0] & 0xffL) | (port[1] & 0xffL) << 8 | (port[2] & 0xffL) << 16
                        | (port[3] & 0xffL) << 24);
                if (!interdomainPorts.contains(key)) {
                    // a send on a port that is not a frontend's channel or its backend end (XenStore,
                    // console, virqs, IPIs): skipped without a return stop and not delivered, so that dom0's
                    // XenStore traffic stays within libxl's 10 s device timeouts. Counted.
                    skippedSends++;
                    return rip;
                }
            }
            if (op == __HYPERVISOR_grant_table_op) {
                Continuations.Resumed c = held.resume(domid, op, cmd, args, count);
                if (c != null) {
                    // the elements Xen completed before preempting, now that their number is known
                    deliver(listener, c.held().call(), c.held().bytes(), c.done(), 0);
                }
            }
            long ret = gdb.readLong(rsp);
            pendingByRsp.put(rsp + 8, new Pending(domid, op, cmd, count, structSize(op, cmd), args, ret, System.nanoTime()));
            if (returnBreaks.merge(ret, 1, Integer::sum) == 1) {
                gdb.insertBreakpoint(0, ret);
            }
            return rip;
        }
        Integer refs = returnBreaks.get(rip);
        if (refs == null) {
            return rip;   // an interrupt (see run)
        }
        Pending p = pendingByRsp.remove(rsp);
        if (p == null) {
            unknownStops++;   // another call returning through the same site
            return rip;
        }
        if (refs == 1) {
            returnBreaks.remove(rip);
            gdb.removeBreakpoint(0, rip);
        } else {
            returnBreaks.put(rip, refs - 1);
        }
        long result = regs[GdbRemote.RAX];
        int n = Math.max(0, p.count);
        if (n > MAX_OPS) {
            truncated++;
            n = MAX_OPS;
        }
        byte[] bytes = new byte[0];
        if (p.structSize > 0 && n > 0) {
            try {
                bytes = gdb.readMemory(p.argsAddr, n * p.structSize);
            } catch (GdbRemote.RspException e) {
                readFailures++;
                n = 0;
            }
        }
        if (result == p.op && p.op == __HYPERVISOR_grant_table_op) {
            // preempted: Xen will re-enter with the rest; delivered then with the elements done
            held.hold(p, bytes, n);
            return rip;
        }
        deliver(listener, p, bytes, n, result);
        return rip;
    }

    private void deliver(HypercallListener listener, Pending p, byte[] bytes, int n, long result) throws IOException {
        if (p.op == __HYPERVISOR_event_channel_op && result == 0 && n == 1) {
            MemorySegment a = MemorySegment.ofArray(bytes);
            // Only channels a domain opened for itself (a frontend's alloc_unbound) and the backend ends
            // bound to them: the toolstack's alloc_unbound for a guest's XenStore and console (called
            // by dom0 for another domain) and their binds are left out, and so are their sends.
            if (p.cmd == EVTCHNOP_alloc_unbound) {
                int dom = Evtchn.AllocUnbound.dom(a, 0);
                if (dom == DOMID_SELF || dom == p.domid) {
                    interdomainPorts.add((long) p.domid << 32 | Evtchn.AllocUnbound.port(a, 0));
                }
            } else if (p.cmd == EVTCHNOP_bind_interdomain) {
                int rdom = Evtchn.BindInterdomain.remoteDom(a, 0);
                long remote = (long) (rdom == DOMID_SELF ? p.domid : rdom) << 32 | Evtchn.BindInterdomain.remotePort(a, 0);
                if (interdomainPorts.contains(remote)) {
                    interdomainPorts.add((long) p.domid << 32 | Evtchn.BindInterdomain.localPort(a, 0));
                }
            }
        }
        if (p.op == __HYPERVISOR_grant_table_op && p.cmd == GNTTABOP_setup_table && n >= 1 && result == 0) {
            recordGrantFrames(p, MemorySegment.ofArray(bytes));
        }
        seq++;
        calls++;
        if (p.op == __HYPERVISOR_grant_table_op) {
            grantCalls++;
        } else {
            eventCalls++;
        }
        view.set(seq, p.timestamp, p.domid, p.op, p.cmd, p.structSize == 0 ? p.count : n,
                MemorySegment.ofArray(bytes).asSlice(0, Math.min(bytes.length, (long) n * p.structSize)).asReadOnly(), result, p.structSize);
        listener.completed(view);
    }

    private void recordGrantFrames(Pending p, MemorySegment a) throws IOException {
        int dom = Gnttab.SetupTable.dom(a, 0);
        int domid = dom == DOMID_SELF ? p.domid : dom;
        int nr = Gnttab.SetupTable.nrFrames(a, 0);
        if (Gnttab.SetupTable.status(a, 0) != 0 || nr <= 0 || nr > MachineMemory.MAX_GT_FRAMES) {
            return;
        }
        byte[] list;
        try {
            list = gdb.readMemory(Gnttab.SetupTable.frameList(a, 0), nr * 8);
        } catch (GdbRemote.RspException e) {
            readFailures++;
            return;
        }
        long[] frames = new long[nr];
        for (int i = 0; i < nr; i++) {
            frames[i] = java.nio.ByteBuffer.wrap(list, 8 * i, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        }
        memory.grantFrames(domid, frames);
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
        return switch (cmd) {
            case EVTCHNOP_alloc_unbound -> Evtchn.AllocUnbound.SIZE;
            case EVTCHNOP_bind_interdomain -> Evtchn.BindInterdomain.SIZE;
            case EVTCHNOP_send, EVTCHNOP_close, EVTCHNOP_unmask -> Evtchn.PortOp.SIZE;
            default -> 0;
        };
    }

    /** Removes the breakpoints, lets the machine run on, and disconnects. */
    @Override
    public void close() throws IOException {
        try {
            gdb.removeBreakpoint(0, gnttabEntry);
            gdb.removeBreakpoint(0, evtchnEntry);
            for (long r : new ArrayList<>(returnBreaks.keySet())) {
                gdb.removeBreakpoint(0, r);
            }
        } catch (IOException e) {
            // the machine may be gone already
        } finally {
            gdb.close();
            memory.close();
        }
    }

    /** The reused view handed to listeners. */
    private static final class Call implements Hypercall {
        private long seq, ts, result;
        private int domid, op, cmd, count, structSize;
        private MemorySegment args;

        void set(long seq, long ts, int domid, int op, int cmd, int count, MemorySegment args, long result, int structSize) {
            this.seq = seq;
            this.ts = ts;
            this.domid = domid;
            this.op = op;
            this.cmd = cmd;
            this.count = count;
            this.args = args;
            this.result = result;
            this.structSize = structSize;
        }

        @Override public long sequence() { return seq; }
        @Override public long timestampNanos() { return ts; }
        @Override public int callerDomid() { return domid; }
        @Override public int op() { return op; }
        @Override public int cmd() { return cmd; }
        @Override public int count() { return count; }
        @Override public MemorySegment args() { return args; }
        @Override public long result() { return result; }
        @Override public int structSize() { return structSize; }
    }
}
