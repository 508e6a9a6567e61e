package org.xenids.decode;

/**
 * A named malformation found while decoding, counted per {@link Decoder} (names follow
 * Suricata's decoder events where one exists, so EVE "anomaly" records read the same).
 * At most 64 events: a packet carries the events it raised as a bit mask ({@link Packet#events()}).
 */
public enum DecodeEvent {
    LINK_UNSUPPORTED("decoder.unsupported_linktype"),
    NULL_PKT_TOO_SMALL("null.pkt_too_small"),
    NULL_UNKNOWN_FAMILY("null.unknown_family"),
    ETHERNET_PKT_TOO_SMALL("ethernet.pkt_too_small"),
    SLL_PKT_TOO_SMALL("sll.pkt_too_small"),
    SLL2_PKT_TOO_SMALL("sll2.pkt_too_small"),
    VLAN_HEADER_TOO_SMALL("vlan.header_too_small"),
    VLAN_TOO_MANY_LAYERS("vlan.too_many_layers"),
    ARP_PKT_TOO_SMALL("arp.pkt_too_small"),
    ARP_INVALID("arp.invalid_header"),
    IPV4_PKT_TOO_SMALL("ipv4.pkt_too_small"),
    IPV4_HLEN_TOO_SMALL("ipv4.hlen_too_small"),
    IPV4_IPLEN_SMALLER_THAN_HLEN("ipv4.iplen_smaller_than_hlen"),
    IPV4_TRUNC_PKT("ipv4.trunc_pkt"),
    IPV4_WRONG_IP_VERSION("ipv4.wrong_ip_version"),
    IPV4_OPT_INVALID_LEN("ipv4.opt_invalid_len"),
    IPV4_OPT_MALFORMED("ipv4.opt_malformed"),
    IPV4_OPT_DUPLICATE("ipv4.opt_duplicate"),
    /** A loose or strict source route: Linux drops it unless accept_source_route is on (it is not by default). */
    IPV4_OPT_SOURCE_ROUTE("ipv4.opt_source_route"),
    IPV4_CHECKSUM_BAD("ipv4.checksum_bad"),
    IPV4_FRAG_PKT_TOO_LARGE("ipv4.frag_pkt_too_large"),
    IPV4_FRAG_OVERLAP("ipv4.frag_overlap"),
    IPV4_FRAG_TIMEOUT("ipv4.frag_timeout"),
    IPV4_FRAG_TABLE_FULL("ipv4.frag_table_full"),
    IPV6_PKT_TOO_SMALL("ipv6.pkt_too_small"),
    IPV6_TRUNC_PKT("ipv6.trunc_pkt"),
    IPV6_WRONG_IP_VERSION("ipv6.wrong_ip_version"),
    IPV6_TRUNC_EXTHDR("ipv6.trunc_exthdr"),
    IPV6_EXTHDR_TOO_MANY("ipv6.exthdr_too_many"),
    IPV6_FRAG_PKT_TOO_LARGE("ipv6.frag_pkt_too_large"),
    IPV6_FRAG_OVERLAP("ipv6.frag_overlap"),
    IPV6_FRAG_TIMEOUT("ipv6.frag_timeout"),
    IPV6_FRAG_TABLE_FULL("ipv6.frag_table_full"),
    IPV6_FRAG_INVALID_LENGTH("ipv6.frag_invalid_length"),
    IPV6_EXTHDR_INVALID_OPTLEN("ipv6.exthdr_invalid_optlen"),
    IPV6_HOPOPTS_UNKNOWN_OPT("ipv6.hopopts_unknown_opt"),
    IPV6_DSTOPTS_UNKNOWN_OPT("ipv6.dstopts_unknown_opt"),
    IPV6_HOPOPTS_NOT_FIRST("ipv6.hopopts_not_first"),
    /** A routing header Linux does not follow: segment routing or RPL (off by default), or segments left of another type but 2. */
    IPV6_RH_REFUSED("ipv6.rh_refused"),
    /** A header no protocol handler takes by default (AH without IPsec state, mobility, HIP, shim6). */
    IPV6_EXTHDR_UNHANDLED("ipv6.exthdr_unhandled"),
    TCP_PKT_TOO_SMALL("tcp.pkt_too_small"),
    TCP_HLEN_TOO_SMALL("tcp.hlen_too_small"),
    TCP_INVALID_OPTLEN("tcp.invalid_optlen"),
    TCP_OPT_INVALID_LEN("tcp.opt_invalid_len"),
    /** A TCP segment sent to a broadcast or multicast Ethernet address: Linux takes TCP for its own address only. */
    TCP_LINK_GROUP_ADDRESS("tcp.link_group_address"),
    /** Only where the frame's receiver checks it (see {@link Decoder#decode(byte[], int, int, long, int, boolean)}). */
    TCP_CHECKSUM_BAD("tcp.checksum_bad"),
    UDP_PKT_TOO_SMALL("udp.pkt_too_small"),
    UDP_HLEN_INVALID("udp.hlen_invalid"),
    UDP_LEN_INVALID("udp.len_invalid"),
    /** As {@link #TCP_CHECKSUM_BAD}; also a zero checksum over IPv6, which IPv6 receivers drop (RFC 8200 §8.1). */
    UDP_CHECKSUM_BAD("udp.checksum_bad"),
    ICMPV4_PKT_TOO_SMALL("icmpv4.pkt_too_small"),
    ICMPV4_IPV4_TRUNC_PKT("icmpv4.ipv4_trunc_pkt"),
    ICMPV6_PKT_TOO_SMALL("icmpv6.pkt_too_small");

    /**
     * Events that mark a packet its receiver's stack drops (a bad checksum, IPv4 options or IPv6
     * extension headers it rejects, an IPv6 fragment it refuses, a TCP header shorter than its
     * data offset, a UDP length past the packet or under 8, a TCP segment to a group Ethernet
     * address): counted in its flow, but it must feed no reassembly, no stream and no TCP state.
     */
    public static final long RECEIVER_DROPS = IPV4_CHECKSUM_BAD.bit() | IPV4_OPT_INVALID_LEN.bit()
            | IPV4_OPT_MALFORMED.bit() | IPV4_OPT_DUPLICATE.bit() | IPV4_OPT_SOURCE_ROUTE.bit()
            | IPV6_FRAG_INVALID_LENGTH.bit() | IPV6_EXTHDR_INVALID_OPTLEN.bit() | IPV6_HOPOPTS_UNKNOWN_OPT.bit()
            | IPV6_DSTOPTS_UNKNOWN_OPT.bit() | IPV6_HOPOPTS_NOT_FIRST.bit() | IPV6_RH_REFUSED.bit()
            | IPV6_EXTHDR_UNHANDLED.bit() | TCP_PKT_TOO_SMALL.bit() | TCP_HLEN_TOO_SMALL.bit() | TCP_INVALID_OPTLEN.bit()
            | TCP_LINK_GROUP_ADDRESS.bit()
            | TCP_CHECKSUM_BAD.bit() | UDP_PKT_TOO_SMALL.bit() | UDP_LEN_INVALID.bit() | UDP_CHECKSUM_BAD.bit();

    private static final DecodeEvent[] ALL = values();

    /** The event of the lowest bit set in {@code mask}, or null when none is. */
    public static DecodeEvent firstOf(long mask) {
        return mask == 0 ? null : ALL[Long.numberOfTrailingZeros(mask)];
    }

    private final String eventName;

    DecodeEvent(String eventName) {
        this.eventName = eventName;
    }

    /** The dotted name, e.g. {@code ipv4.trunc_pkt}. */
    public String eventName() {
        return eventName;
    }

    /** This event's bit in {@link Packet#events()}. */
    public long bit() {
        return 1L << ordinal();
    }
}
