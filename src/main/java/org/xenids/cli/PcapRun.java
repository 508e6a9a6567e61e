package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.xenids.decode.Packet;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.io.Printable;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.LinkType;

/**
 * Reads capture files through the decode → flow pipeline, one pipeline per file. A file that
 * breaks its format mid-way still has every record before the fault processed and reported;
 * the error is raised after the caller has reported them.
 */
final class PcapRun {
    /** What a command does with each file. */
    interface Handler {
        /** A listener for this file's flows (called before reading it). */
        StreamListener begin(Path file);

        void packet(Packet p, Pipeline pipeline, CaptureReader reader);

        /** The file is done (all flows ended); {@code error} is null unless it broke. */
        void end(Path file, Pipeline pipeline, CaptureReader.Stats stats, IOException error);
    }

    private PcapRun() {}

    static void run(List<Path> files, FlowConfig cfg, Handler h, PrintWriter err) throws IOException {
        boolean tty = System.console() != null;
        for (Path file : files) {
            StreamListener l = h.begin(file);
            Pipeline pipe = new Pipeline(cfg, l);
            IOException failure = null;
            CaptureReader.Stats stats = null;
            try (CaptureReader r = CaptureReader.open(file)) {
                try {
                    while (r.next()) {
                        Packet p = pipe.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
                        h.packet(p, pipe, r);
                        if (tty && (r.records() & 0xFFFF) == 0) {
                            err.print("\r" + file.getFileName() + ": " + r.records() + " packets");
                            err.flush();
                        }
                    }
                } catch (IOException e) {
                    failure = e;
                }
                stats = r.stats();
            }
            if (tty) {
                err.print("\r\033[K");
                err.flush();
            }
            pipe.finish();
            h.end(file, pipe, stats, failure);
            if (failure != null) {
                throw failure;
            }
        }
    }

    static String linkName(int linkType) {
        return LinkType.name(linkType);
    }

    /** The line for packets a capture says its capturer dropped: they are in no record, so in no flow. */
    static String reportedDropsLine(long drops) {
        return String.format("capture reports %,d packets dropped by its capturer", drops);
    }


    /** One {@link #reportedDropsLine} per capture that reports drops, naming it. */
    static List<String> reportedDropsLines(Map<Path, Long> drops) {
        List<String> lines = new ArrayList<>();
        drops.forEach((file, n) -> lines.add(reportedDropsLine(n) + " (" + Printable.controlsEscaped(file.toString())
                + ")"));
        return lines;
    }
}
