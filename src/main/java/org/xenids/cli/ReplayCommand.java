package org.xenids.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;
import org.xenids.xen.emu.Topology;
import org.xenids.xen.emu.TrafficDriver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code xenids replay}: captures driven through an emulated Xen host, seen by the tap. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Replay captures through an emulated Xen host and rebuild the frames with the tap.",
            "Each frame enters where it would on a real host: the sending guest's netfront when its",
            "source address is a guest's, the uplink otherwise; the tap sees only the hypercalls",
            "(grant copies and maps, event channels) and the frames they name.",
            "Prints per-domain counters: frames, bytes, copies, maps, event sends, unclassified ops,",
            "anomalies, drops, refused, lost; then the drivers' own counters. A capture damaged part",
            "way is replayed up to the damage, its counters printed, then the error (exit 1)."})
final class ReplayCommand implements java.util.concurrent.Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    GuestOptions guests;

    @Option(names = "--pcap", paramLabel = "FILE", required = true, split = ",",
            description = "Capture(s) to replay (pcap/pcapng, plain or .xz; merged by timestamp; each file once).")
    List<Path> pcaps;

    @Option(names = "--write-pcap", paramLabel = "OUT.pcapng",
            description = "Write the tap\'s frames: one interface per domain/vif/queue/direction, each ending with"
                    + " its statistics: frames its ring carried (isb_ifrecv) and those not rebuilt (isb_ifdrop).")
    Path writePcap;

    @Option(names = "--eve", paramLabel = "FILE", description = "Write the tap's anomalies and flow records as EVE JSON.")
    Path eve;

    @Option(names = "--coalesce", paramLabel = "BYTES", description = "Merge back-to-back TCP segments of one"
            + " direction into GSO super-frames of at most BYTES (1514..65535), as GRO/TSO do.")
    Integer coalesce;

    @Option(names = "--record-trace", paramLabel = "FILE",
            description = "Record the hypercall stream and the bytes the tap read (docs/tap-trace.md).")
    Path recordTrace;

    @Override
    public Integer call() throws IOException {
        new Outputs(spec).inputs("--pcap", pcaps).input("--topology", guests.topology)
                .output("--write-pcap", writePcap).output("--eve", eve).output("--record-trace", recordTrace);
        Topology t = guests.topology(pcaps);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        TrafficDriver driver = new TrafficDriver(t);
        if (coalesce != null) {
            try {
                driver.coalesce(coalesce);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--coalesce: " + e.getMessage());
            }
        }
        OutputStream traceOut = recordTrace == null ? null : org.xenids.io.OutputFile.open(recordTrace);
        org.xenids.pcap.CaptureFormatException broken = null;
        try (TapOutputs outputs = new TapOutputs(writePcap, eve).topology(t)) {
            Trace.Recorder rec = traceOut == null ? null : Trace.recorder(driver.host().memory(), traceOut);
            Tap tap = new Tap(rec == null ? driver.host().memory() : rec.memory(), outputs, outputs::anomaly);
            driver.host().addListener(rec == null ? tap : rec.around(tap));
            driver.start(0);
            boolean tty = System.console() != null;
            long started = System.nanoTime();
            TrafficDriver.Stats s;
            try {
                s = driver.replay(pcaps, n -> {
                    if (tty) {
                        err.printf("\rreplay: %d frames, %.0f s", n, (System.nanoTime() - started) / 1e9);
                        err.flush();
                    }
                });
            } catch (org.xenids.pcap.CaptureFormatException e) {
                // What came before the damage was replayed and rebuilt: counted and written, then the error.
                broken = e;
                s = driver.stats();
            }
            if (tty) {
                err.print("\r\033[K");
                err.flush();
            }
            if (rec != null) {
                rec.close();
            }
            List<String> extra = new ArrayList<>();
            extra.add(outputs.finishFlows());
            extra.add(TapOutputs.captureLine(s));
            extra.addAll(PcapRun.reportedDropsLines(driver.reportedDrops()));
            for (TrafficDriver.VifCounters c : driver.vifCounters()) {
                extra.add(TapOutputs.driverLine(c));
            }
            if (rec != null) {
                extra.add("trace: " + rec.records() + " records in " + recordTrace);
            }
            if (broken != null) {
                extra.add("capture broken: the counters cover it up to the damage");
            }
            outputs.writeStats(tap, new EveStats().uptime((System.nanoTime() - started) / 1e9)
                    .reportedDrops(driver.reportedDrops()).errors(broken == null ? 0 : 1));
            TapOutputs.print(out, tap, extra);
        } finally {
            if (traceOut != null) {
                traceOut.close();
            }
        }
        if (broken != null) {
            throw broken;
        }
        return 0;
    }
}
