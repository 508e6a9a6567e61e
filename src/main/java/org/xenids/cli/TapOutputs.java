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

/**
 * Where the tap's output goes for {@code replay} and {@code tap}: frames into a pcapng file with
 * one interface per domain/vif/queue/direction (described as it first carries a frame), anomalies
 * and flow records into an EVE JSON file, and the per-domain counters printed at the end. A
 * guest→guest frame goes into the flows once (as the sender's TX), not again at the receiver.
 */
final class TapOutputs implements Tap.CheckedFrameSink, AutoCloseable {
    private final CaptureWriter pcap;
    private final EveWriter eve;
    private final int[] iface = new int[1 << 16];
    private long frames, bytes, anomalies, flows, flowPackets;
    private final Pipeline pipeline;
    private final GuestFrames guests;

    TapOutputs(Path pcapng, Path eveFile) throws IOException {
        this.pcap = pcapng == null ? null : CaptureWriter.pcapng(pcapng);
        this.eve = eveFile == null ? null : EveWriter.open(eveFile);
        java.util.Arrays.fill(iface, -1);
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

    @Override
    public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peer,
                      boolean l4Checked, long ts) {
        frames++;
        bytes += len;
        guests.frame(buf, off, len, domid, vif, queue, direction, peer, l4Checked, ts);
        if (pcap == null) {
            return;
        }
        int key = ((domid & 0x3ff) << 6) | ((vif & 0xf) << 2) | ((queue & 0x7) << 1) | direction;
        try {
            int id = iface[key];
            if (id < 0) {
                String name = "dom" + domid + "/vif" + vif + (queue == 0 ? "" : "/q" + queue)
                        + (direction == Tap.TX ? "/tx" : "/rx");
                id = pcap.addInterface(LinkType.ETHERNET, name, direction == Tap.TX
                        ? "frames domain " + domid + " sent (guest to backend)"
                        : "frames domain " + domid + " received (backend to guest)");
                iface[key] = id;
            }
            pcap.write(id, ts, buf, off, len);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
        out.printf("%-8s %10s %14s %10s %10s %10s %12s %10s %8s %8s %8s%n", "domain", "frames", "bytes", "copies",
                "maps", "sends", "unclassified", "anomalies", "drops", "refused", "lost");
        List<Tap.Counters> cs = new ArrayList<>(tap.counters());
        for (Tap.Counters c : cs) {
            out.printf("%-8s %10d %14d %10d %10d %10d %12d %10d %8d %8d %8d%n", "dom" + c.domid(), c.frames(), c.bytes(),
                    c.copies(), c.maps(), c.eventSends(), c.unclassified(), c.anomalies(), c.drops(), c.refused(),
                    c.lost());
        }
        for (Tap.Ring r : tap.rings()) {
            out.printf("ring %s %s: backend dom%d, %s event channels, told apart %s%n", r.txName(), r.rxName(),
                    r.backend(), r.split() ? "split" : "shared", r.toldApartByContent() ? "by content" : "by order");
        }
        if (tap.multicastCommands() > 0) {
            out.printf("multicast-filter commands: %d (TX requests netback answers without a frame)%n", tap.multicastCommands());
        }
        for (String e : extra) {
            out.println(e);
        }
        out.flush();
    }

    /** Ends every flow (their records go to the EVE file) and returns a summary line. */
    String finishFlows() {
        pipeline.finish();
        String events = HostRun.decoderEvents(pipeline.decoder());
        return "flows: " + flows + " (" + flowPackets + " packets; " + guests.echoes
                + " guest-to-guest frames seen again at the receiver, counted once"
                + (guests.forOtherHosts == 0 ? "" : "; " + guests.forOtherHosts + " delivered to a guest for another host's Ethernet"
                        + " address, which it drops")
                + ")" + (events.isEmpty() ? "" : "; decoder events: " + events);
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
