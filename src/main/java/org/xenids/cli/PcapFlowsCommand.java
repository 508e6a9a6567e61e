package org.xenids.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.xenids.alert.EveWriter;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Packet;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowTable;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.io.Printable;
import org.xenids.pcap.CaptureReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code xenids pcap flows FILE… [--eve OUT]}: one record per flow, with its Community ID. */
@Command(name = "flows", mixinStandardHelpOptions = true,
        description = {"Flow records of capture files: a table on stdout, or EVE JSON 'flow' records with --eve.",
            "Then, on stderr, what the flows leave out: packets in no flow (with the decoder's events),",
            "reassembly gaps, SYN data their receivers dropped, flows the full table ended early, and",
            "packets the captures say their capturers dropped.",
            "A file that breaks its format is reported up to the fault, then the error is printed and the exit code is 1."})
final class PcapFlowsCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "pcap or pcapng files, optionally .xz-compressed.")
    List<Path> files;

    @Option(names = "--eve", paramLabel = "OUT", description = "Write EVE JSON flow records to OUT ('-' for stdout).")
    String eve;

    @Mixin
    FlowOptions flowOptions = new FlowOptions();

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long started = System.nanoTime();
        PrintWriter out = spec.commandLine().getOut();
        // Options and files are checked before the output is opened: a usage error leaves an existing file whole.
        var config = flowOptions.config();
        new Outputs(spec).inputs("FILE", files).output("--eve", eve == null || eve.equals("-") ? null : Path.of(eve));
        for (Path f : files) {
            if (!java.nio.file.Files.exists(f)) {
                throw new java.nio.file.NoSuchFileException(f.toString());
            }
        }
        EveWriter writer = null;
        if (eve != null) {
            writer = eve.equals("-") ? EveWriter.of(new PrintWriterStream(out)) : EveWriter.open(Path.of(eve));
        }
        final EveWriter w = writer;
        long[] total = {0};
        Left left = new Left();
        boolean done = false, inputFailed = false;
        try {
            if (w == null) {
                out.printf("%-8s %-5s %-41s %-41s %7s %7s %10s %10s %-26s %9s %-11s %-9s %s%n", "flow_id", "proto",
                        "client", "server", "pkts>", "pkts<", "bytes>", "bytes<", "start", "seconds", "state", "end",
                        "community_id");
            }
            PcapRun.run(files, config, new PcapRun.Handler() {
                @Override
                public StreamListener begin(Path file) {
                    return new StreamListener() {
                        @Override
                        public void flowEnd(Flow f) {
                            total[0]++;
                            if (w != null) {
                                w.write(f.eveRecord(null));
                            } else {
                                out.printf("%-8d %-5s %-41s %-41s %7d %7d %10d %10d %-26s %9.3f %-11s %-9s %s%n", f.id(),
                                        PcapStatsCommand.protoName(f.protocol()), endpoint(f.clientAddress(), f.clientPort(), f),
                                        endpoint(f.serverAddress(), f.serverPort(), f), f.packetsToServer(), f.packetsToClient(),
                                        f.bytesToServer(), f.bytesToClient(), EveWriter.timestamp(f.firstNanos()),
                                        (f.lastNanos() - f.firstNanos()) / 1e9,
                                        f.protocol() == 6 ? f.tcpStateName() : f.state(), f.endReason(), f.communityId());
                            }
                        }
                    };
                }

                @Override
                public void packet(Packet p, Pipeline pipeline, CaptureReader reader) {}

                @Override
                public void end(Path file, Pipeline pipeline, CaptureReader.Stats stats, IOException error) {
                    out.flush();
                    left.add(file, pipeline, stats);
                }
            }, spec.commandLine().getErr());
            done = true;
        } catch (IOException e) {
            inputFailed = true; // a capture that broke its format, or could not be read at all
            throw e;
        } finally {
            if (w != null) {
                if (done || inputFailed) {
                    // Also after a capture broke: the counts of what was read before the damage,
                    // last. Not when writing the log itself failed.
                    w.write(left.stats.uptime((System.nanoTime() - started) / 1e9).errors(done ? 0 : 1).event());
                }
                w.close();
            }
            out.flush();
            // On stderr, so that the table or the EVE records on stdout stay as they are when piped;
            // before the error of a capture that broke, which is the last line.
            left.print(spec.commandLine().getErr());
        }
        if (w != null && !eve.equals("-")) {
            spec.commandLine().getErr().println("xenids: wrote " + total[0] + " flow records to " + eve);
        }
        return 0;
    }

    /**
     * What the flows leave out, over every file of the run: packets in no flow (non-IP packets, IP
     * fragments, whose datagrams count once reassembled, and malformed packets, which the decoder's
     * events tell), bytes missing from the TCP
     * streams (gaps), bytes SYNs carried that their receivers dropped, flows ended early because
     * the table was full, and packets the captures say their capturers dropped.
     */
    private static final class Left {
        private boolean read;
        private long packets, flows, noFlow, gaps, gapBytes, evictions, synDropped;
        private final long[] events = new long[DecodeEvent.values().length];
        private final Map<Path, Long> drops = new LinkedHashMap<>();
        /** The same pipelines' counts, in Suricata's names, for the EVE log's last record. */
        final EveStats stats = new EveStats();

        void add(Path file, Pipeline p, CaptureReader.Stats stats) {
            read = true;
            this.stats.captured(p.frames()).pipeline(p).reportedDrops(stats == null ? 0 : stats.reportedDrops());
            FlowTable t = p.table();
            packets += p.frames();
            flows += t.flowsCreated();
            noFlow += t.packetsWithoutFlow();
            gaps += t.gaps();
            gapBytes += t.gapBytes();
            evictions += t.evictions();
            synDropped += t.synDataDroppedBytes();
            for (DecodeEvent e : DecodeEvent.values()) {
                events[e.ordinal()] += p.decoder().count(e);
            }
            if (stats != null && stats.reportedDrops() > 0) {
                drops.put(file, stats.reportedDrops());
            }
        }

        void print(PrintWriter err) {
            if (!read) {
                return; // no capture was opened: the error alone says why
            }
            StringBuilder ev = new StringBuilder();
            for (DecodeEvent e : DecodeEvent.values()) {
                if (events[e.ordinal()] > 0) {
                    ev.append(ev.isEmpty() ? "" : ", ").append(e.eventName()).append(' ')
                            .append(String.format("%,d", events[e.ordinal()]));
                }
            }
            err.printf("xenids: %,d flows of %,d packets; %,d packets in no flow%s%n", flows, packets, noFlow,
                    noFlow == 0 ? "" : " (non-IP packets, IP fragments, whose datagrams count once reassembled,"
                            + " and malformed packets"
                            + (ev.isEmpty() ? "" : "; decoder events: " + ev) + ")");
            List<String> lost = new ArrayList<>();
            if (gaps > 0) {
                lost.add(String.format("%,d reassembly gaps (%,d bytes missing from the TCP streams)", gaps, gapBytes));
            }
            if (synDropped > 0) {
                lost.add(String.format("%,d bytes carried on SYNs were dropped by their receivers", synDropped));
            }
            if (evictions > 0) {
                lost.add(String.format("%,d flows ended early because the flow table was full", evictions));
            }
            if (!lost.isEmpty()) {
                err.println("xenids: " + String.join("; ", lost));
            }
            if (!drops.isEmpty()) {
                long n = drops.values().stream().mapToLong(Long::longValue).sum();
                StringBuilder files = new StringBuilder();
                drops.forEach((f, d) -> files.append(files.isEmpty() ? "" : ", ")
                        .append(Printable.controlsEscaped(f.toString())).append(drops.size() > 1 ? " " + d : ""));
                err.println("xenids: " + PcapRun.reportedDropsLine(n) + " (" + files + ")");
            }
            err.flush();
        }
    }

    private static boolean hasPorts(Flow f) {
        return f.protocol() == 6 || f.protocol() == 17 || f.protocol() == 132;
    }

    private static String endpoint(String addr, int port, Flow f) {
        if (!hasPorts(f)) return addr;
        return (addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + port;
    }

    /** Lets the EVE writer print to the command's stdout without closing it. */
    private static final class PrintWriterStream extends java.io.OutputStream {
        private final PrintWriter out;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        PrintWriterStream(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void write(int b) {
            line.write(b);
            if (b == '\n') flush();
        }

        @Override
        public void flush() {
            out.print(line.toString(java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            line.reset();
        }

        @Override
        public void close() {
            flush();
        }
    }

}
