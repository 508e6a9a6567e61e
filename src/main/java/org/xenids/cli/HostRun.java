package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.xenids.alert.EveEvent;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Decoder;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.tap.Tap;
import org.xenids.xen.emu.Topology;
import org.xenids.xen.emu.TrafficDriver;

/**
 * The network pipeline on the embedded default: captures drive an emulated Xen host, the tap
 * rebuilds frames from its hypercalls alone, and the frames go through decode and flow into a
 * stream listener (a detector). A guest→guest frame reaches the tap twice — the sender's TX and
 * the receiver's RX — and is counted once: the RX copy is left out of flow statistics.
 */
final class HostRun {

    /** What one run saw; {@code stats}, the same counts in Suricata's names for the EVE log's last record. */
    record Result(TrafficDriver.Stats driver, List<Tap.Counters> tap, List<TrafficDriver.VifCounters> vifs,
                  long frames, long frameBytes, long guestToGuestCopies, long flows, long evictions,
                  long unclassified, long anomalies, String decoderEvents, long forOtherHosts, long unkeptBytes,
                  long synDataDroppedBytes, double seconds, org.xenids.pcap.CaptureFormatException broken,
                  Map<Path, Long> reportedDrops, List<String> tapLines, EveStats stats) {

        void print(PrintWriter out, String what) {
            out.printf("%s: %,d frames (%,d bytes) rebuilt by the tap, %,d guest-to-guest copies counted once,"
                            + " %,d flows; %,d unclassified ops, %,d ring anomalies; %.1f s%n",
                    what, frames, frameBytes, guestToGuestCopies, flows, unclassified, anomalies, seconds);
            // What never reached the flows, as replay reports it: frames of the captures that could
            // not enter the host (cut by a snaplen, refused by a netfront), and the domains and vifs
            // whose packets the tap or the drivers saw dropped, refused or lost.
            out.println("  " + TapOutputs.captureLine(driver));
            for (String line : PcapRun.reportedDropsLines(reportedDrops)) {
                out.println("  " + line);
            }
            if (tap.stream().anyMatch(TapOutputs::hasLosses)) {
                out.println("  " + TapOutputs.tableHeader());
                for (Tap.Counters c : tap) {
                    if (TapOutputs.hasLosses(c)) {
                        out.println("  " + TapOutputs.tableRow(c));
                    }
                }
            }
            for (TrafficDriver.VifCounters c : vifs) {
                if (TapOutputs.hasLosses(c)) {
                    out.println("  " + TapOutputs.driverLine(c));
                }
            }
            for (String line : tapLines) {
                out.println("  " + line);
            }
            if (evictions > 0) {
                // An evicted flow is judged on what it had; its later packets start a flow of their own.
                out.printf("  %,d flows ended early: the flow table was full (a flood of new flows does this)%n",
                        evictions);
            }
            if (forOtherHosts > 0) {
                // Flooded to the guest (an address the bridge has not learned) or so addressed on
                // purpose: its stack drops them, so they feed no flow.
                out.printf("  %,d frames delivered to a guest for another host's Ethernet address (the guest drops"
                        + " them)%n", forOtherHosts);
            }
            if (unkeptBytes > 0) {
                out.printf("  %,d delivered bytes inside the depth were not kept until acknowledged (no reassembly"
                        + " buffer free): a different later copy of them could not be compared%n", unkeptBytes);
            }
            if (synDataDroppedBytes > 0) {
                out.println("  " + synDataDroppedLine(synDataDroppedBytes));
            }
            if (!decoderEvents.isEmpty()) {
                out.printf("  decoder events: %s%n", decoderEvents);
            }
        }
    }

    private HostRun() {}

    static Result run(Topology topology, List<Path> captures, FlowConfig flowConfig, StreamListener listener,
                      Consumer<EveEvent.Anomaly> anomalies, PrintWriter err, String label) throws IOException {
        Pipeline pipeline = new Pipeline(flowConfig, listener);
        long[] anomalyCount = new long[1];
        TrafficDriver driver = new TrafficDriver(topology);
        GuestFrames frames = new GuestFrames(pipeline).guests(topology);
        Tap tap = new Tap(driver.host().memory(), frames, a -> {
            anomalyCount[0]++;
            anomalies.accept(a);
        });
        driver.host().addListener(tap);
        driver.start(0);
        Progress progress = new Progress(err, label);
        long t0 = System.nanoTime();
        TrafficDriver.Stats s;
        org.xenids.pcap.CaptureFormatException broken = null;
        try {
            s = driver.replay(captures, progress::frames);
        } catch (org.xenids.pcap.CaptureFormatException e) {
            // What came before the damage was replayed: its flows end as at the end of a capture,
            // and the caller reports them before the error.
            broken = e;
            s = driver.stats();
        }
        pipeline.finish();
        progress.done();
        double seconds = (System.nanoTime() - t0) / 1e9;
        EveStats stats = new EveStats().uptime(seconds).tap(tap.counters(), tap.unfinished()).reportedDrops(driver.reportedDrops())
                .errors(broken == null ? 0 : 1).pipeline(pipeline);
        return new Result(s, tap.counters(), driver.vifCounters(), pipeline.frames(), pipeline.frameBytes(), frames.echoes,
                pipeline.table().flowsCreated(), pipeline.table().evictions(), tap.unclassified(), anomalyCount[0],
                decoderEvents(pipeline.decoder()), frames.forOtherHosts, pipeline.table().unkeptBytes(),
                pipeline.table().synDataDroppedBytes(), seconds, broken, driver.reportedDrops(), TapOutputs.tapLines(tap),
                stats);
    }

    /**
     * The line for bytes SYNs carried that their receivers dropped: left out of the streams, since
     * a stack without TCP Fast Open takes none of them, and what a sender showing the detector
     * bytes the guest never reads (an insertion) sends.
     */
    static String synDataDroppedLine(long bytes) {
        return String.format("%,d bytes carried on SYNs were dropped by their receivers (a stack without TCP Fast"
                + " Open takes none): left out of the streams, as an insertion attempt's would be", bytes);
    }

    /**
     * The decoder's events that occurred, with their counts, in Suricata's names ("ipv4.frag_overlap
     * 2, ..."), or "" when none: malformed packets, and fragments overlapped, timed out or pushed
     * out of a full table, whose bytes a guest's stack may read otherwise than the detector did.
     */
    static String decoderEvents(Decoder d) {
        StringBuilder b = new StringBuilder();
        for (DecodeEvent e : DecodeEvent.values()) {
            long n = d.count(e);
            if (n > 0) {
                b.append(b.isEmpty() ? "" : ", ").append(e.eventName()).append(' ').append(String.format("%,d", n));
            }
        }
        return b.toString();
    }

    /** A one-line progress display on a terminal (nothing when output is redirected). */
    static final class Progress {
        private final PrintWriter err;
        private final String label;
        private final boolean tty = System.console() != null;
        private final long started = System.nanoTime();
        private long lastShown;

        Progress(PrintWriter err, String label) {
            this.err = err;
            this.label = label;
        }

        void frames(long n) {
            long now = System.nanoTime();
            if (!tty || now - lastShown < 200_000_000L) {
                return;
            }
            lastShown = now;
            double s = (now - started) / 1e9;
            err.printf("\r%s: %,d frames, %.0f s (%,.0f frames/s)", label, n, s, n / Math.max(s, 1e-9));
            err.flush();
        }

        /** Bytes of a file of {@code total} bytes read so far. */
        void bytes(long done, long total) {
            long now = System.nanoTime();
            if (!tty || now - lastShown < 200_000_000L) {
                return;
            }
            lastShown = now;
            double s = (now - started) / 1e9;
            err.printf("\r%s: %,d of %,d MB (%.0f%%), %.0f s", label, done >> 20, total >> 20,
                    100.0 * done / Math.max(total, 1), s);
            err.flush();
        }

        void done() {
            if (tty) {
                err.print("\r\033[K");
                err.flush();
            }
        }
    }
}
