package org.xenids.cli;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenids.alert.EveEvent;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Decoder;
import org.xenids.flow.FlowTable;
import org.xenids.flow.Pipeline;
import org.xenids.tap.Tap;

/**
 * A run's counters as the last record of its EVE log, an {@code event_type: "stats"} record as
 * Suricata writes one, so that a reader of the log alone learns what the run lost. The counters
 * are the ones the run prints at its end, read from the same places (the tap's domains, the
 * decoder, the flow table, the captures' readers), each under the name Suricata's schema gives
 * the same count. That schema closes its stats object at every level, so a count of xenids' own
 * (frames a capture held that could not enter the emulated host, bytes missing from the streams,
 * unclassified hypercalls...) has no place in it and stays on the terminal. Summed over the
 * pipelines added: {@code pcap flows} runs one per file.
 */
final class EveStats {
    /**
     * Decoder events Suricata's schema has no counter for: its decoder raises nothing like them
     * (a link type it cannot decode, which it refuses before reading; more extension headers than
     * a limit of xenids'), it does not judge what they judge (an IPv4 or UDP checksum, IPv4 source
     * routes, IPv6 headers Linux refuses, TCP to a group Ethernet address), or it counts the same
     * packets apart under several names (an ARP header of Ethernet hardware not for IPv4) or with
     * others (fragments a full reassembly table turned away, which its tracker limit counts only
     * by datagrams and its memory cap under no stats name). They stay with the decoder events
     * the commands print, and pcap stats lists by name.
     */
    static final Set<DecodeEvent> NO_SURICATA_COUNTER = EnumSet.of(DecodeEvent.LINK_UNSUPPORTED,
            DecodeEvent.ARP_INVALID, DecodeEvent.IPV4_OPT_SOURCE_ROUTE, DecodeEvent.IPV4_CHECKSUM_BAD,
            DecodeEvent.IPV4_FRAG_TABLE_FULL, DecodeEvent.IPV6_EXTHDR_TOO_MANY, DecodeEvent.IPV6_FRAG_TABLE_FULL,
            DecodeEvent.IPV6_HOPOPTS_NOT_FIRST, DecodeEvent.IPV6_RH_REFUSED, DecodeEvent.IPV6_EXTHDR_UNHANDLED,
            DecodeEvent.TCP_LINK_GROUP_ADDRESS, DecodeEvent.UDP_CHECKSUM_BAD);

    /** The order counters are written in, each by its own name or that of an object holding it (Suricata's order). */
    private static final List<String> ORDER = List.of("uptime", "capture.kernel_packets", "capture.kernel_drops",
            "capture.kernel_ifdrops", "capture.errors", "decoder.pkts", "decoder.bytes", "decoder", "defrag", "flow",
            "tcp", "detect");

    private final Map<String, Long> counters = new LinkedHashMap<>();

    /**
     * The counter Suricata keeps of the same event, or null where it keeps none. Most of xenids'
     * event names are Suricata's; its null/loopback decoder is named "ltnull" there, and what
     * xenids counts as decoder events Suricata counts elsewhere for three of them.
     */
    static String suricataName(DecodeEvent e) {
        return switch (e) {
            case NULL_PKT_TOO_SMALL -> "decoder.event.ltnull.pkt_too_small";
            case NULL_UNKNOWN_FAMILY -> "decoder.event.ltnull.unsupported_type";
            // Datagrams given up unfinished: by the timeout, or when the input ended before their
            // last fragment came (which a receiver would have timed out too).
            case IPV4_FRAG_TIMEOUT -> "defrag.ipv4.timeouts";
            case IPV6_FRAG_TIMEOUT -> "defrag.ipv6.timeouts";
            // Counted only where the frame's receiver checks it, as Suricata counts it where it validates.
            case TCP_CHECKSUM_BAD -> "tcp.invalid_checksum";
            default -> NO_SURICATA_COUNTER.contains(e) ? null : "decoder.event." + e.eventName();
        };
    }

    /** Seconds the run took (whole seconds, as Suricata counts its uptime). */
    EveStats uptime(double seconds) {
        counters.put("uptime", (long) Math.max(0, seconds));
        return this;
    }

    /**
     * The tap's domains, as a capture's kernel counts: the packets that crossed a ring without the
     * tap getting their bytes are its drops, {@code lost} (netback moved them, the tap could not
     * read them) and those held in part when the input ended; the packets, as Linux counts a
     * capture socket's, are the frames rebuilt and those drops. A packet netback refused ({@code
     * drops}: it took none of it, or its grant ops failed) never crossed, so it is neither: a guest
     * could otherwise swell the drops at will. Nor is a packet an inline verdict refused (the tap
     * saw it, and no command here sets a verdict).
     */
    EveStats tap(List<Tap.Counters> domains, Tap.Unfinished unfinished) {
        long frames = 0, unread = unfinished.total();
        for (Tap.Counters c : domains) {
            frames += c.frames();
            unread += c.lost();
        }
        add("capture.kernel_packets", frames + unread);
        add("capture.kernel_drops", unread);
        return this;
    }

    /** Frames read from capture files, where no tap stands between the files and the decoder. */
    EveStats captured(long frames) {
        add("capture.kernel_packets", frames);
        return this;
    }

    /**
     * Packets the captures say their capturer's interface dropped (pcapng {@code isb_ifdrop}, and
     * obsolete packet blocks' drop counts): in no record, so never replayed or decoded.
     */
    EveStats reportedDrops(long packets) {
        add("capture.kernel_ifdrops", packets);
        return this;
    }

    EveStats reportedDrops(Map<Path, Long> byCapture) {
        return reportedDrops(byCapture.values().stream().mapToLong(Long::longValue).sum());
    }

    /**
     * Captures or traces that broke their format part way (a run stops at the first): an error
     * met reading the input, after which nothing of it was seen.
     */
    EveStats errors(long inputsBroken) {
        counters.put("capture.errors", inputsBroken);
        return this;
    }

    /** What a frame → decode → flow pipeline counted, added to what is here. */
    EveStats pipeline(Pipeline p) {
        add("decoder.pkts", p.frames());
        add("decoder.bytes", p.frameBytes());
        Decoder d = p.decoder();
        // Before the timeouts that the events below add, so that each version's object reads
        // fragments, reassembled, timeouts.
        for (int v : new int[] {4, 6}) {
            add("defrag.ipv" + v + ".fragments", d.fragments(v));
            add("defrag.ipv" + v + ".reassembled", d.reassembledDatagrams(v));
        }
        for (DecodeEvent e : DecodeEvent.values()) {
            String name = suricataName(e);
            if (name != null) {
                add(name, d.count(e));
            }
        }
        FlowTable t = p.table();
        add("flow.total", t.flowsCreated());
        add("flow.tcp_reuse", t.flowsReused());
        // Suricata's name for a flow ended early so that a new one could have its place, the table being full.
        add("flow.get_used", t.evictions());
        add("flow.mgr.flows_timeout", t.flowsTimedOut());
        add("tcp.reassembly_gap", t.gaps());
        return this;
    }

    /** Alert records in the log. */
    EveStats alerts(long n) {
        counters.put("detect.alert", n);
        return this;
    }

    private void add(String name, long n) {
        counters.merge(name, n, Long::sum);
    }

    /** The record, stamped with the time it is made: when its counters were taken. */
    EveEvent.Stats event() {
        List<Map.Entry<String, Long>> all = new ArrayList<>(counters.entrySet());
        all.sort((a, b) -> Integer.compare(rank(a.getKey()), rank(b.getKey()))); // stable: order kept inside
        Map<String, Long> ordered = new LinkedHashMap<>();
        all.forEach(e -> ordered.put(e.getKey(), e.getValue()));
        Instant now = Instant.now();
        return new EveEvent.Stats(now.getEpochSecond() * 1_000_000_000L + now.getNano(), ordered);
    }

    private static int rank(String name) {
        for (int i = 0; i < ORDER.size(); i++) {
            String o = ORDER.get(i);
            if (name.equals(o) || name.startsWith(o + ".")) {
                return i;
            }
        }
        return ORDER.size();
    }
}
