package org.xenids.decode;

/**
 * IPv6 extension headers as a Linux receiver judges them (net/ipv6/exthdrs.c and ip6_input.c):
 * headers it drops the packet for, before reassembly or delivery, so that such a packet stands in
 * for nothing (an insertion otherwise, as a bad IPv4 header checksum would be). Judged: the
 * options of hop-by-hop and destination options headers ({@code ip6_parse_tlv}: their framing,
 * at most 7 bytes of padding in a row and PadN of zeros only, at most 8 options, an unknown option
 * whose type asks for a drop, a router alert of the wrong length); a hop-by-hop header anywhere but
 * first; a routing header Linux does not follow (segment routing and RPL are off by default, and
 * any other type but 2 with segments left is refused); and headers no protocol handler takes
 * (AH without an IPsec state to check it, mobility, HIP, shim6). Not judged, since what the kernel
 * does depends on its build: jumbo payload, IOAM, CALIPSO, home address, routing type 2.
 */
final class Ipv6ExtHeaders {
    private static final int HOP_BY_HOP = 0, ROUTING = 43, AH = 51, DEST_OPTS = 60, MOBILITY = 135, HIP = 139,
            SHIM6 = 140;
    private static final int PAD1 = 0, PADN = 1, ROUTER_ALERT = 5, JUMBO = 0xC2, IOAM = 0x31, CALIPSO = 0x07,
            HOME_ADDRESS = 0xC9;
    /** Linux's default max_hbh_opts_cnt and max_dst_opts_cnt. */
    private static final int MAX_OPTIONS = 8;

    private Ipv6ExtHeaders() {}

    /**
     * The event for extension header {@code nh} at {@code b[at, at+len)} (its whole length, at
     * least 8 bytes) that makes a Linux receiver drop the packet, or null. {@code first}: it
     * follows the fixed header. Reads only within [at, at+len).
     */
    static DecodeEvent judge(int nh, byte[] b, int at, int len, boolean first) {
        return switch (nh) {
            case HOP_BY_HOP -> first ? options(b, at, len, true) : DecodeEvent.IPV6_HOPOPTS_NOT_FIRST;
            case DEST_OPTS -> options(b, at, len, false);
            case ROUTING -> {
                int type = b[at + 2] & 0xFF, segmentsLeft = b[at + 3] & 0xFF;
                yield type == 3 || type == 4 || type != 2 && segmentsLeft > 0 ? DecodeEvent.IPV6_RH_REFUSED : null;
            }
            case AH, MOBILITY, HIP, SHIM6 -> DecodeEvent.IPV6_EXTHDR_UNHANDLED;
            default -> null;
        };
    }

    private static DecodeEvent options(byte[] b, int at, int len, boolean hopByHop) {
        int off = at + 2, end = at + len, padding = 0, count = 0;
        while (off < end) {
            int type = b[off] & 0xFF;
            if (type == PAD1) {
                if (++padding > 7) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
                off++;
                continue;
            }
            if (end - off < 2) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
            int optLen = (b[off + 1] & 0xFF) + 2;
            if (optLen > end - off) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
            if (type == PADN) {
                padding += optLen;
                if (padding > 7) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
                for (int i = 2; i < optLen; i++) {
                    if (b[off + i] != 0) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
                }
            } else {
                if (++count > MAX_OPTIONS) return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
                boolean known = hopByHop ? type == ROUTER_ALERT || type == JUMBO || type == IOAM || type == CALIPSO
                        : type == HOME_ADDRESS;
                if (hopByHop && type == ROUTER_ALERT && optLen != 4) {
                    return DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN;
                }
                if (!known && type >>> 6 != 0) {
                    // The option type's top two bits say what a node that does not know it does:
                    // anything but 00 (skip it) drops the packet (RFC 8200 §4.2).
                    return hopByHop ? DecodeEvent.IPV6_HOPOPTS_UNKNOWN_OPT : DecodeEvent.IPV6_DSTOPTS_UNKNOWN_OPT;
                }
                padding = 0;
            }
            off += optLen;
        }
        return null;
    }
}
