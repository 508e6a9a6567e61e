package org.xenids.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Decoder;
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

/** {@code xenids pcap stats FILE…}: what a capture holds, layer by layer. */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = {"Packets, bytes, link types, protocols, decoder events, flows and top talkers of capture files.",
            "A file that breaks its format is reported up to the fault, then the error is printed and the exit code is 1."})
final class PcapStatsCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "pcap or pcapng files, optionally .xz-compressed.")
    List<Path> files;

    @Option(names = "--json", description = "Print one JSON object per file instead of text.")
    boolean json;

    @Option(names = "--top", paramLabel = "N", defaultValue = "10", description = "Top talkers to list (default: ${DEFAULT-VALUE}).")
    int top;

    @Mixin
    FlowOptions flowOptions = new FlowOptions();

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private record Addr(long hi, long lo) {}

    @Override
    public Integer call() throws IOException {
        if (top < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--top must be 0 or more: " + top);
        }
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        PcapRun.run(files, flowOptions.config(), new PcapRun.Handler() {
            final Map<String, Long> links = new TreeMap<>();
            final Map<String, Long> protocols = new TreeMap<>();
            final Map<String, Long> flowsByProto = new TreeMap<>();
            final Map<Addr, long[]> talkers = new HashMap<>();

            @Override
            public StreamListener begin(Path file) {
                links.clear();
                protocols.clear();
                flowsByProto.clear();
                talkers.clear();
                return new StreamListener() {
                    @Override
                    public void flowEnd(Flow f) {
                        flowsByProto.merge(protoName(f.protocol()), 1L, Long::sum);
                        long bytes = f.bytesToServer() + f.bytesToClient();
                        long[] c = talkers.computeIfAbsent(new Addr(f.clientHi(), f.clientLo()), k -> new long[2]);
                        c[0] += f.packets();
                        c[1] += bytes;
                        long[] s = talkers.computeIfAbsent(new Addr(f.serverHi(), f.serverLo()), k -> new long[2]);
                        s[0] += f.packets();
                        s[1] += bytes;
                    }
                };
            }

            @Override
            public void packet(Packet p, Pipeline pipeline, CaptureReader r) {
                links.merge(PcapRun.linkName(p.linkType()), 1L, Long::sum);
                protocols.merge(layerName(p), 1L, Long::sum);
            }

            @Override
            public void end(Path file, Pipeline pipe, CaptureReader.Stats st, IOException error) {
                Map<String, Object> m = report(file, pipe, st, error);
                if (json) {
                    try {
                        out.println(mapper.writeValueAsString(m));
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                } else {
                    printText(out, m);
                }
                out.flush();
            }

            private Map<String, Object> report(Path file, Pipeline pipe, CaptureReader.Stats st, IOException error) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", file.toString());
                m.put("format", st == null ? null : st.format().name().toLowerCase());
                m.put("packets", pipe.frames());
                m.put("bytes", pipe.frameBytes());
                if (st != null) {
                    m.put("original_bytes", st.originalBytes());
                    m.put("snapped_packets", st.snappedRecords());
                    m.put("reported_drops", st.reportedDrops());
                    m.put("skipped_blocks", new TreeMap<>(st.skippedByType()));
                }
                m.put("link_types", new LinkedHashMap<>(links));
                m.put("protocols", new LinkedHashMap<>(protocols));
                Decoder d = pipe.decoder();
                Map<String, Long> events = new LinkedHashMap<>();
                for (DecodeEvent e : DecodeEvent.values()) {
                    if (d.count(e) > 0) events.put(e.eventName(), d.count(e));
                }
                m.put("decoder_events", events);
                m.put("reassembled_datagrams", d.reassembledDatagrams());
                FlowTable t = pipe.table();
                Map<String, Object> fl = new LinkedHashMap<>();
                fl.put("total", t.flowsCreated());
                fl.put("by_protocol", new LinkedHashMap<>(flowsByProto));
                fl.put("tcp_reused", t.flowsReused());
                fl.put("timed_out", t.flowsTimedOut());
                fl.put("evicted", t.evictions());
                fl.put("packets_without_flow", t.packetsWithoutFlow());
                fl.put("icmp_errors_in_quoted_flow", t.icmpErrorsFolded());
                fl.put("tcp_out_of_order_segments", t.outOfOrderSegments());
                fl.put("tcp_retransmitted_bytes", t.retransmittedBytes());
                fl.put("tcp_overlap_different_bytes", t.overlapDifferentBytes());
                fl.put("tcp_syn_on_established", t.synsOnEstablished());
                fl.put("receiver_dropped_packets", t.receiverDroppedPackets());
                fl.put("tcp_gaps", t.gaps());
                fl.put("tcp_gap_bytes", t.gapBytes());
                fl.put("tcp_urgent_bytes", t.urgentBytes());
                fl.put("tcp_after_fin_dropped_bytes", t.afterFinDroppedBytes());
                fl.put("tcp_syn_data_dropped_bytes", t.synDataDroppedBytes());
                m.put("flows", fl);
                List<Map<String, Object>> tt = new ArrayList<>();
                talkers.entrySet().stream()
                        .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
                        .limit(Math.max(0, top))
                        .forEach(e -> {
                            Map<String, Object> x = new LinkedHashMap<>();
                            x.put("address", Packet.formatAddress(e.getKey().hi(), e.getKey().lo()));
                            x.put("packets", e.getValue()[0]);
                            x.put("bytes", e.getValue()[1]);
                            tt.add(x);
                        });
                m.put("top_talkers", tt);
                if (error != null) m.put("error", Errors.oneLine(error));
                return m;
            }
        }, spec.commandLine().getErr());
        return 0;
    }

    static String protoName(int proto) {
        return switch (proto) {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            case 58 -> "icmpv6";
            case 132 -> "sctp";
            case 47 -> "gre";
            case 50 -> "esp";
            case 51 -> "ah";
            default -> "ip_proto_" + proto;
        };
    }

    /** The innermost layer a packet was decoded to, e.g. "ipv4/tcp", "arp", "ethertype_0x88cc". */
    static String layerName(Packet p) {
        if (p.protocol() == Packet.PROTO_ARP) return "arp";
        String ip = switch (p.ipVersion()) {
            case 4 -> "ipv4";
            case 6 -> "ipv6";
            default -> null;
        };
        if (ip == null) {
            if (p.etherType() == 0) return "undecoded";
            return p.etherType() == 0x0800 || p.etherType() == 0x86DD ? "malformed_ip"
                    : String.format("ethertype_0x%04x", p.etherType());
        }
        if (p.fragment()) return ip + "/fragment";
        int proto = p.protocol();
        if ((proto == 6 || proto == 17 || proto == 1 || proto == 58) && p.l4Length() == 0) {
            return ip + "/" + protoName(proto) + "_malformed";
        }
        return ip + "/" + protoName(proto);
    }

    private static void printText(PrintWriter out, Map<String, Object> m) {
        out.println(Printable.controlsEscaped(String.valueOf(m.get("file"))) + " (" + m.get("format") + ")");
        out.printf("  packets   %d%n", (Long) m.get("packets"));
        out.printf("  bytes     %d%n", (Long) m.get("bytes"));
        if (m.containsKey("original_bytes")) {
            out.printf("  original bytes   %d (on the wire)%n", (Long) m.get("original_bytes"));
            out.printf("  snapped packets  %d (captured shorter than they were on the wire)%n",
                    (Long) m.get("snapped_packets"));
            long drops = (Long) m.get("reported_drops");
            if (drops > 0) {
                out.println("  " + PcapRun.reportedDropsLine(drops));
            }
            @SuppressWarnings("unchecked")
            Map<String, Long> skipped = (Map<String, Long>) m.get("skipped_blocks");
            if (!skipped.isEmpty()) {
                StringBuilder b = new StringBuilder();
                skipped.forEach((type, n) -> b.append(b.isEmpty() ? "" : ", ").append(type).append(' ').append(n));
                out.printf("  skipped blocks   %d (%s: not packets, interfaces or statistics)%n",
                        skipped.values().stream().mapToLong(Long::longValue).sum(), b);
            }
        }
        section(out, "link types", m.get("link_types"));
        section(out, "protocols", m.get("protocols"));
        section(out, "decoder events", m.get("decoder_events"));
        out.printf("  reassembled datagrams  %d%n", (Long) m.get("reassembled_datagrams"));
        section(out, "flows", m.get("flows"));
        out.println("  top talkers (by bytes)");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tt = (List<Map<String, Object>>) m.get("top_talkers");
        for (Map<String, Object> t : tt) {
            out.printf("    %-40s %10d pkts %14d bytes%n", t.get("address"), (Long) t.get("packets"), (Long) t.get("bytes"));
        }
        if (m.containsKey("error")) out.println("  error: " + m.get("error"));
    }

    private static void section(PrintWriter out, String title, Object value) {
        out.println("  " + title);
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        if (map.isEmpty()) out.println("    (none)");
        for (Map.Entry<String, Object> e : map.entrySet()) {
            if (e.getValue() instanceof Map<?, ?> sub) {
                out.println("    " + e.getKey());
                for (Map.Entry<?, ?> s : sub.entrySet()) out.printf("      %-34s %d%n", s.getKey(), s.getValue());
            } else {
                out.printf("    %-36s %s%n", e.getKey(), e.getValue());
            }
        }
    }
}
