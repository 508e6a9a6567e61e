package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.pcap.CaptureWriter;
import org.xenids.pcap.LinkType;
import org.xenids.tap.Tap;
import org.xenids.xen.emu.TrafficDriver;

/**
 * Where the tap's output goes for {@code replay} and {@code tap}: frames into a pcapng file with
 * one interface per domain/vif/queue/direction (described as it first carries a frame), anomalies
 * and flow records into an EVE JSON file, and the per-domain counters printed at the end. A
 * guest→guest frame goes into the flows once (as the sender's TX), not again at the receiver.
 */
final class TapOutputs implements Tap.CheckedFrameSink, AutoCloseable {
    private final CaptureWriter pcap;
    private final EveWriter eve;
    /** The pcapng interface of each (domid, vif, queue, direction) that carried a frame. */
    private final InterfaceIds iface = new InterfaceIds();
    /** By interface id: its key and the frames written on it. */
    private long[] ifaceKey = new long[16], ifaceFrames = new long[16];
    /** The latest timestamp written: the interface statistics' time. */
    private long lastTs;
    private long frames, bytes, anomalies, flows, flowPackets;
    private final Pipeline pipeline;
    private final GuestFrames guests;

    TapOutputs(Path pcapng, Path eveFile) throws IOException {
        this.pcap = pcapng == null ? null : CaptureWriter.pcapng(pcapng);
        this.eve = eveFile == null ? null : EveWriter.open(eveFile);
        this.pipeline = new Pipeline(FlowConfig.defaults(), new StreamListener() {
            @Override
            public void flowEnd(Flow f) {
                flows++;
                flowPackets += f.packetsToServer() + f.packetsToClient();
                if (eve != null) {
                    eve.write(f.eveRecord(null));
                }
            }
        });
        this.guests = new GuestFrames(pipeline);
    }

    /** The host's guests, when a topology names them (replay; a recorded trace has none). */
    TapOutputs topology(org.xenids.xen.emu.Topology topology) {
        guests.guests(topology);
        return this;
    }

    @Override
    public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peer,
                      boolean l4Checked, long ts) {
        frames++;
        bytes += len;
        guests.frame(buf, off, len, domid, vif, queue, direction, peer, l4Checked, ts);
        if (pcap == null) {
            return;
        }
        try {
            int id = interfaceOf(domid, vif, queue, direction);
            pcap.write(id, ts, buf, off, len);
            ifaceFrames[id]++;
            lastTs = Math.max(lastTs, ts);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The pcapng interface of a ring, described when first asked for. */
    private int interfaceOf(int domid, int vif, int queue, int direction) throws IOException {
        long key = InterfaceIds.key(domid, vif, queue, direction);
        int id = iface.get(key);
        if (id < 0) {
            String name = "dom" + domid + "/vif" + vif + (queue == 0 ? "" : "/q" + queue)
                    + (direction == Tap.TX ? "/tx" : "/rx");
            id = pcap.addInterface(LinkType.ETHERNET, name, direction == Tap.TX
                    ? "frames domain " + domid + " sent (guest to backend)"
                    : "frames domain " + domid + " received (backend to guest)");
            iface.put(key, id);
            if (id == ifaceKey.length) {
                ifaceKey = java.util.Arrays.copyOf(ifaceKey, id * 2);
                ifaceFrames = java.util.Arrays.copyOf(ifaceFrames, id * 2);
            }
            ifaceKey[id] = key;
        }
        return id;
    }

    /**
     * Ends the pcapng with a statistics block per interface, as a capturer's: the frames its ring
     * carried ({@code isb_ifrecv}) and, of those, the ones the tap did not rebuild
     * ({@code isb_ifdrop}: lost, or in flight when the input ended), so that a reader of the file
     * alone sees where it has holes. A ring that lost frames but carried none gets its interface.
     */
    private void interfaceStatistics(Tap tap) throws IOException {
        java.util.Map<Long, Long> notRebuilt = new java.util.HashMap<>();
        for (Tap.RingLoss l : tap == null ? List.<Tap.RingLoss>of() : tap.ringLosses()) {
            interfaceOf(l.domid(), l.vif(), l.queue(), l.direction());
            notRebuilt.merge(InterfaceIds.key(l.domid(), l.vif(), l.queue(), l.direction()), l.lost() + l.inFlight(),
                    Long::sum);
        }
        for (int id = 0; id < pcap.interfaceCount(); id++) {
            long missed = notRebuilt.getOrDefault(ifaceKey[id], 0L);
            pcap.statistics(id, lastTs, ifaceFrames[id] + missed, missed);
        }
    }

    void anomaly(EveEvent.Anomaly a) {
        anomalies++;
        if (eve != null) {
            eve.write(a);
        }
    }

    /** The per-domain table: one row per domain the tap saw. */
    static void print(PrintWriter out, Tap tap, List<String> extra) {
        out.println(tableHeader());
        List<Tap.Counters> cs = new ArrayList<>(tap.counters());
        for (Tap.Counters c : cs) {
            out.println(tableRow(c));
        }
        for (Tap.Ring r : tap.rings()) {
            out.printf("ring %s %s: backend dom%d, %s event channels, told apart %s%n", r.txName(), r.rxName(),
                    r.backend(), r.split() ? "split" : "shared", r.toldApartByContent() ? "by content" : "by order");
        }
        if (tap.multicastCommands() > 0) {
            out.printf("multicast-filter commands: %d (TX requests netback answers without a frame)%n", tap.multicastCommands());
        }
        for (String l : tapLines(tap)) {
            out.println(l);
        }
        for (String e : extra) {
            out.println(e);
        }
        out.flush();
    }

    /**
     * What the tap held in part when the input ended (frames it never rebuilt), and what ring
     * discovery did not take; each line only when it has something to say.
     */
    static List<String> tapLines(Tap tap) {
        List<String> lines = new ArrayList<>();
        Tap.Unfinished u = tap.unfinished();
        if (u.total() > 0) {
            lines.add(String.format("in flight when the input ended, not rebuilt: %,d TX packets, %,d RX buffers",
                    u.txPackets(), u.rxBuffers()));
        }
        Tap.RejectedPairs r = tap.rejectedPairs();
        Tap.Unpaired p = tap.unpaired();
        if (r.total() + p.ringCandidates() + p.binds() + tap.retiredRings() > 0) {
            lines.add(String.format("ring discovery: %,d page pairs with a channel not taken as a vif's rings (%,d on"
                            + " channels the toolstack opened, %,d from multi-page maps), %,d ring-page candidates let"
                            + " go unpaired, %,d channel binds with no ring pages; %,d ring pairs retired",
                    r.total(), r.toolstackChannel(), r.multiPageMap(), p.ringCandidates(), p.binds(), tap.retiredRings()));
        }
        return lines;
    }

    /** The per-domain table's header. */
    static String tableHeader() {
        return String.format("%-8s %10s %14s %10s %10s %10s %12s %10s %8s %8s %8s", "domain", "frames", "bytes",
                "copies", "maps", "sends", "unclassified", "anomalies", "drops", "refused", "lost");
    }

    /** One domain's row of the per-domain table. */
    static String tableRow(Tap.Counters c) {
        return String.format("%-8s %10d %14d %10d %10d %10d %12d %10d %8d %8d %8d", "dom" + c.domid(), c.frames(),
                c.bytes(), c.copies(), c.maps(), c.eventSends(), c.unclassified(), c.anomalies(), c.drops(),
                c.refused(), c.lost());
    }

    /** The domain had ring anomalies, or packets the tap saw dropped, refused or lost. */
    static boolean hasLosses(Tap.Counters c) {
        return c.anomalies() > 0 || c.drops() > 0 || c.refused() > 0 || c.lost() > 0;
    }

    /**
     * The replay driver's totals: the captures' frames, where they entered, those that could not
     * (refused by a guest's netfront, or not replayable: cut short by the capture's snaplen or of
     * an impossible length), and where the frames went.
     */
    static String captureLine(TrafficDriver.Stats s) {
        return String.format("capture: %d frames (%d from guests, %d from outside, %d refused by netfront,"
                        + " %d not replayable, %d merged into super-frames), %d announcements; %d delivered to"
                        + " guests, %d out the uplink",
                s.frames(), s.fromGuests(), s.fromOutside(), s.notAccepted(), s.skipped(), s.coalesced(),
                s.announcements(), s.deliveredToGuests(), s.toUplink());
    }

    /** One vif's netfront and netback counters. */
    static String driverLine(TrafficDriver.VifCounters c) {
        return String.format("drivers dom%d/vif%d: netfront tx %d (dropped %d, errors %d) rx %d (errors %d);"
                        + " netback tx %d (dropped %d, failed %d) rx %d (dropped %d)%s", c.domid(), c.vif(),
                c.frontTx(), c.frontTxDropped(), c.frontTxErrors(), c.frontRx(), c.frontRxErrors(), c.backTx(),
                c.backTxDropped(), c.backTxFailed(), c.backRx(), c.backRxDropped(), c.disabled() ? " DISABLED" : "");
    }

    /** The vif's drivers dropped or failed a frame, or the vif was disabled. */
    static boolean hasLosses(TrafficDriver.VifCounters c) {
        return c.frontTxDropped() > 0 || c.frontTxErrors() > 0 || c.frontRxErrors() > 0 || c.backTxDropped() > 0
                || c.backTxFailed() > 0 || c.backRxDropped() > 0 || c.disabled();
    }

    /** Ends every flow (their records go to the EVE file) and returns a summary line. */
    String finishFlows() {
        pipeline.finish();
        String events = HostRun.decoderEvents(pipeline.decoder());
        long synDropped = pipeline.table().synDataDroppedBytes();
        return "flows: " + flows + " (" + flowPackets + " packets; " + guests.echoes
                + " guest-to-guest frames seen again at the receiver, counted once"
                + (guests.forOtherHosts == 0 ? "" : "; " + guests.forOtherHosts + " delivered to a guest for another host's Ethernet"
                        + " address, which it drops")
                + ")" + (events.isEmpty() ? "" : "; decoder events: " + events)
                + (synDropped == 0 ? "" : "; " + synDropped + " bytes carried on SYNs were dropped by their receivers");
    }

    /**
     * Writes the run's counts: the EVE file's last record (with --eve), of the tap's domains, what
     * the flows of its frames counted (after {@link #finishFlows}, or with no frame seen) and what
     * {@code run} holds of the rest; and the pcapng's interface statistics (with --write-pcap).
     * Once, at the end.
     */
    void writeStats(Tap tap, EveStats run) {
        if (pcap != null) {
            try {
                interfaceStatistics(tap);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (eve != null) {
            eve.write((tap == null ? run.tap(List.of(), new Tap.Unfinished(0, 0)) : run.tap(tap.counters(), tap.unfinished()))
                    .pipeline(pipeline).event());
        }
    }

    long flowPackets() {
        return flowPackets;
    }

    long frames() {
        return frames;
    }

    long bytes() {
        return bytes;
    }

    /**
     * Interface ids by the whole (domid, vif, queue, direction): a key cut to fewer bits put one
     * domain's frames under another's name (dom1025 under dom1, vif16 under vif0), and topologies
     * allow domids up to 0x7FEF and any vif number. Open addressing on long keys, with the last
     * key remembered: a frame costs a comparison or a probe, never an allocation.
     */
    static final class InterfaceIds {
        private long[] keys = new long[64];
        private int[] ids = new int[64];
        private boolean[] used = new boolean[64];
        private int size;
        private long lastKey = -1;
        private int lastId = -1;

        /**
         * The key of one interface: Xen's domid_t is 16 bits, the vif a 32-bit device number, and a
         * vif's queue far under 2^15 (netback allows at most the host's CPUs), so the four fit in 64
         * bits apart.
         */
        static long key(int domid, int vif, int queue, int direction) {
            return ((long) (domid & 0xffff) << 48) | ((vif & 0xffffffffL) << 16) | ((long) (queue & 0x7fff) << 1)
                    | (direction & 1);
        }

        /** The id stored for {@code key}, or -1. */
        int get(long key) {
            if (key == lastKey) {
                return lastId;
            }
            int mask = keys.length - 1;
            for (int i = slot(key) & mask; used[i]; i = (i + 1) & mask) {
                if (keys[i] == key) {
                    lastKey = key;
                    lastId = ids[i];
                    return lastId;
                }
            }
            return -1;
        }

        void put(long key, int id) {
            if (2 * (size + 1) > keys.length) {
                long[] k = keys;
                int[] v = ids;
                boolean[] u = used;
                keys = new long[k.length * 2];
                ids = new int[k.length * 2];
                used = new boolean[k.length * 2];
                size = 0;
                for (int i = 0; i < k.length; i++) {
                    if (u[i]) {
                        insert(k[i], v[i]);
                    }
                }
            }
            insert(key, id);
            lastKey = key;
            lastId = id;
        }

        private void insert(long key, int id) {
            int mask = keys.length - 1;
            int i = slot(key) & mask;
            while (used[i] && keys[i] != key) {
                i = (i + 1) & mask;
            }
            if (!used[i]) {
                used[i] = true;
                size++;
            }
            keys[i] = key;
            ids[i] = id;
        }

        private static int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (pcap != null) {
                pcap.close();
            }
        } finally {
            if (eve != null) {
                eve.close();
            }
        }
    }
}
