package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.xenids.alert.EveEvent;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * The network tap at Xen's hypercall layer (the package's entry point). Given only the hypercall
 * stream and read access to domains' frames ({@link org.xenids.xen.event}), it discovers each
 * vif's TX and RX rings (the "grant-entry filter", see {@link Discovery}), classifies every later
 * copy and map by the ring slot whose grant ref it names, rebuilds the frames and hands them to a
 * {@link FrameSink}. Ops that match no ring are counted as unclassified, never guessed. A hostile
 * frontend's garbage becomes EVE {@code anomaly} events of type {@code xen.ring}; the tap goes on.
 *
 * <p>Inline prevention: with a {@link Verdict}, {@link #allow} refuses the copies and maps of the
 * slots the verdict rejects; Xen then fails them and the backend drops the packet.
 *
 * <p>Guest→guest frames are seen twice, as the sender's TX and the receiver's RX; the RX one
 * carries the sender as {@code peerDomid} so that flow statistics count it once.
 *
 * <p>Teardown: when the backend unmaps a ring page (by the handle its map returned) or closes
 * its end of a ring's event channel, the ring pair is retired: its per-ring state is released,
 * its counters stay with its domain, and later ops naming its refs are unclassified. A frontend
 * closing its own end does not retire it: the backend still has the rings mapped and may go on
 * writing into them, so a guest cannot blind the tap that way. A reconnect is discovered as a
 * new ring pair, taking the lowest vif number its domain has free.
 *
 * <p>Single-threaded, like the host that calls it. No allocation per frame; memory is bounded
 * by the number of live rings.
 */
public final class Tap implements HypercallListener {
    /** Directions: guest→backend, backend→guest. */
    public static final int TX = 0, RX = 1;
    /** Largest frame a ring can carry (a TX request's u16 size; RX is bounded the same way by netback). */
    public static final int MAX_FRAME = 65535;

    /** Receives rebuilt frames; {@code buf[off, off+len)} is valid only during the call. */
    @FunctionalInterface
    public interface FrameSink {
        /**
         * @param peerDomid for an RX frame the tap saw leave another guest (guest→guest), that
         *                  guest's id: the same frame was already delivered as its TX; else −1
         */
        void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peerDomid,
                   long timestampNanos);

        /**
         * The same, with what the ring flags say of the frame's TCP/UDP checksum: {@code l4Checked}
         * when it stands as the sender wrote it and its receiver checks it (RX: the first response
         * has neither NETRXF_csum_blank nor NETRXF_data_validated; TX: the first request has
         * neither NETTXF_csum_blank nor NETTXF_data_validated, and no GSO extra), so that a frame
         * failing it is one the receiver drops. The tap calls this one; a sink that decodes frames
         * overrides it, others need not.
         */
        default void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peerDomid,
                           boolean l4Checked, long timestampNanos) {
            frame(buf, off, len, domid, vif, queue, direction, peerDomid, timestampNanos);
        }
    }

    /** A {@link FrameSink} that takes what the ring flags say of each frame's checksum: only that method to write. */
    public interface CheckedFrameSink extends FrameSink {
        @Override
        default void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peerDomid,
                           long timestampNanos) {
            frame(buf, off, len, domid, vif, queue, direction, peerDomid, false, timestampNanos);
        }

        @Override
        void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peerDomid,
                   boolean l4Checked, long timestampNanos);
    }

    /**
     * A number (0..65535) for the stack that reassembles a frame's IP fragments, to give the
     * decoder: the receiving guest for RX frames, the sending guest's way out for TX frames. Each
     * Linux guest keeps its own fragments, so decoys sent to one cannot push out what another holds.
     */
    public static int reassemblyOwner(int domid, int direction) {
        return (domid & 0x7FFF) << 1 | direction & 1;
    }

    /** An inline decision about one classified copy or map, before Xen applies it. */
    @FunctionalInterface
    public interface Verdict {
        boolean allow(int domid, int vif, int queue, int direction, int slot);
    }

    /**
     * Per-domain counters. {@code drops}: packets the backend dropped or whose ops failed;
     * {@code refused}: packets the verdict refused; {@code lost}: packets the tap could not read.
     */
    public record Counters(int domid, long frames, long bytes, long copies, long maps, long eventSends,
                           long unclassified, long anomalies, long drops, long refused, long lost) {}

    /** One discovered ring pair. */
    public record Ring(int front, int backend, int vif, int queue, String txName, String rxName, boolean split,
                       boolean toldApartByContent) {}

    static final int C_FRAMES = 0, C_BYTES = 1, C_COPIES = 2, C_MAPS = 3, C_SENDS = 4, C_UNCLASSIFIED = 5,
            C_ANOMALIES = 6, C_DROPS = 7, C_REFUSED = 8, C_LOST = 9, C_N = 10;

    final Mem mem;
    final byte[] frame = new byte[MAX_FRAME + 4096];
    /** Where frames, anomalies and counts go; the rings and discovery report there directly. */
    final Reports reports;
    private final Discovery discovery = new Discovery(this);
    private final LiveRings live = new LiveRings();
    private final Prevention prevention = new Prevention(live);
    private final HeadOwners heads = new HeadOwners();
    private final GrantOps grantOps;
    private final EventChannels events;
    /** Takes each call apart into its ops for the stages above. */
    private final Calls calls;

    public Tap(DomainMemory memory, FrameSink sink, Consumer<EveEvent.Anomaly> anomalies) {
        this.mem = new Mem(memory);
        this.reports = new Reports(sink, anomalies);
        this.grantOps = new GrantOps(this, reports, live, discovery);
        this.events = new EventChannels(this, reports, live, discovery);
        this.calls = new Calls(this, grantOps, events, prevention, live);
    }

    /** Sets (or clears, with null) the inline verdict. */
    public void verdict(Verdict v) {
        prevention.verdict = v;
    }

    @Override
    public boolean allow(Hypercall c, int index) {
        return prevention.allow(c, index);
    }

    @Override
    public void completed(Hypercall c) {
        if (c instanceof TraceStore.Call t) {
            calls.traceCall(t);
        } else {
            calls.hostCall(c);
        }
    }

    /**
     * Whether TX ring {@code r} can have its ready packets decided once the copy or map call being
     * read has all its ops in (see {@link TxRing#holdBatch}); false outside such a call.
     */
    boolean atCallEnd(TxRing r) {
        return grantOps.waitForCallEnd(r);
    }

    // --- called by Discovery and the rings -------------------------------------------------

    void ringsFound(VifQueue q) {
        live.add(q);
    }

    void portBound(VifQueue q, int domid, int port) {
        live.portBound(q, domid, port);
    }

    int freeVif(int front) {
        return live.freeVif(front);
    }

    /**
     * The backend let go of a ring pair: its state goes (TX packets it never finished are
     * counted, see {@link TxRing#teardown}), its ports and handles stop naming it, its domain's
     * counters stay.
     */
    void retire(VifQueue q, long now) {
        TxGiveUp.teardown(q.tx, now);
        live.remove(q);
        discovery.queues.remove(q);
    }

    /**
     * Remembers which guest's TX head, {@code b[at, at+len)}, a backend copied to (domid, frame,
     * offset), for guest→guest RX.
     */
    void noteHead(int dom, long frame, int off, int sender, byte[] b, int at, int len) {
        heads.note(dom, frame, off, sender, b, at, len);
    }

    /** The guest whose TX head an RX copy read from (domid, frame, offset) as {@code b[at, at+len)}, or −1. */
    int headOwner(int dom, long frame, int off, byte[] b, int at, int len) {
        return heads.owner(dom, frame, off, b, at, len);
    }

    static int self(int domid, int caller) {
        return domid == DOMID_SELF ? caller : domid;
    }

    // --- reporting -------------------------------------------------------------------------

    /** Counters of every domain the tap has seen, by domid. */
    public List<Counters> counters() {
        return reports.counters();
    }

    /** The live ring pairs (one per vif queue), in discovery order; retired ones are gone. */
    public List<Ring> rings() {
        List<Ring> out = new ArrayList<>();
        for (VifQueue q : live.live()) {
            out.add(new Ring(q.front, q.backend, q.vif, q.queue, q.txName, q.rxName, q.split, q.byContent));
        }
        return out;
    }

    /**
     * What the live rings hold in part: TX packets posted whose copies and maps have not all been
     * seen, RX buffers filled that no response has answered yet (with a packet of several buffers
     * under way). Taken when the input ends, these are frames the tap never rebuilt, reported with
     * the losses.
     */
    public record Unfinished(long txPackets, long rxBuffers) {
        public long total() {
            return txPackets + rxBuffers;
        }
    }

    public Unfinished unfinished() {
        long tx = 0, rx = 0;
        for (VifQueue q : live.live()) {
            tx += q.tx.pendingPackets();
            rx += q.rx.unanswered();
        }
        return new Unfinished(tx, rx);
    }

    /**
     * Frames one ring (domain, vif, queue, direction) carried that the tap did not rebuild:
     * {@code lost} (it could not read them, see {@link Counters}) and {@code inFlight} (held in
     * part now, as {@link #unfinished}). Only rings with some.
     */
    public record RingLoss(int domid, int vif, int queue, int direction, long lost, long inFlight) {}

    public List<RingLoss> ringLosses() {
        return reports.ringLosses(live.live());
    }

    /** Number of live ring pairs (vif queues whose rings the backend has mapped). */
    public int liveRings() {
        return live.live().size();
    }

    /** Ring pairs retired so far (their backend unmapped them or closed its channel). */
    public long retiredRings() {
        return live.retired;
    }

    /** Size of the table of live-queue slots (grows only with the most rings live at once). */
    int slotCapacity() {
        return live.capacity();
    }

    /**
     * Mapped page pairs with a bound channel that discovery did not take as a vif's rings, by
     * reason (see {@link Discovery}): the channel was opened by the toolstack for the guest (its
     * XenStore and console set-ups), or the pages came in one map call of several (a multi-page
     * ring of another device).
     */
    public record RejectedPairs(long toolstackChannel, long multiPageMap) {
        public long total() {
            return toolstackChannel + multiPageMap;
        }
    }

    public RejectedPairs rejectedPairs() {
        long[] r = discovery.rejected;
        return new RejectedPairs(r[Discovery.R_TOOLSTACK_CHANNEL], r[Discovery.R_MULTI_PAGE_MAP]);
    }

    /**
     * Ring-page candidates discovery let go unpaired (more writable maps of one frontend's
     * grants in a row than a vif's set-up makes, with no channel bound to pair them), and
     * interdomain binds that found no ring pages to pair with (a console's or XenStore's channel,
     * or a vif's whose pages the tap missed).
     */
    public record Unpaired(long ringCandidates, long binds) {}

    public Unpaired unpaired() {
        return new Unpaired(discovery.droppedCandidates, discovery.unpairedBinds);
    }

    /** Ops that matched no ring, over all domains. */
    public long unclassified() {
        return reports.unclassifiedTotal;
    }

    /** TX requests that were multicast-filter commands (feature-multicast-control): answered by netback, no frame. */
    public long multicastCommands() {
        return reports.multicastCommands;
    }

    /** Reads the hypervisor could not serve (a frame freed under the tap, a trace without the bytes). */
    public long failedReads() {
        return mem.failedReads;
    }
}
