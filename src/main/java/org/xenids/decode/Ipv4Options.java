package org.xenids.decode;

/**
 * IPv4 options as a Linux receiver judges them before it reassembles or delivers a packet
 * (net/ipv4/ip_options.c {@code __ip_options_compile} for a received packet, then
 * {@code ip_rcv_options}): options it rejects, and a source route, make it drop the packet. A
 * source route is dropped because {@code accept_source_route} must be on both for "all", off by
 * default, and for the device. Such a packet must not stand in for one the receiver takes (an
 * insertion, as with a bad header checksum). Not judged: CIPSO, which a kernel built with
 * NetLabel and no DOI configured rejects and one built without it takes.
 */
final class Ipv4Options {
    private static final int END = 0, NOOP = 1, RR = 7, TIMESTAMP = 68, LSRR = 0x83, SSRR = 0x89, ROUTER_ALERT = 148;
    private static final int TS_ONLY = 0, TS_AND_ADDR = 1, TS_PRESPEC = 3;

    private Ipv4Options() {}

    /**
     * The event for the options at {@code b[pos, end)} that makes a Linux receiver drop the packet,
     * or null when it takes them. Reads only within [pos, end).
     */
    static DecodeEvent judge(byte[] b, int pos, int end) {
        boolean rr = false, ts = false, srr = false;
        for (int o = pos; o < end; ) {
            int type = b[o] & 0xFF;
            if (type == END) {
                break; // the rest is padding (Linux overwrites it with END)
            }
            if (type == NOOP) {
                o++;
                continue;
            }
            int left = end - o;
            if (left < 2) {
                return DecodeEvent.IPV4_OPT_INVALID_LEN;
            }
            int len = b[o + 1] & 0xFF;
            if (len < 2 || len > left) {
                return DecodeEvent.IPV4_OPT_INVALID_LEN;
            }
            int ptr = len > 2 ? b[o + 2] & 0xFF : 0;
            switch (type) {
                case SSRR, LSRR -> {
                    if (len < 3 || ptr < 4) return DecodeEvent.IPV4_OPT_MALFORMED;
                    if (srr) return DecodeEvent.IPV4_OPT_DUPLICATE;
                    srr = true;
                }
                case RR -> {
                    if (rr) return DecodeEvent.IPV4_OPT_DUPLICATE;
                    if (len < 3 || ptr < 4 || ptr <= len && ptr + 3 > len) return DecodeEvent.IPV4_OPT_MALFORMED;
                    rr = true;
                }
                case TIMESTAMP -> {
                    if (ts) return DecodeEvent.IPV4_OPT_DUPLICATE;
                    if (len < 4 || ptr < 5) return DecodeEvent.IPV4_OPT_MALFORMED;
                    int flags = b[o + 3] & 0xFF;
                    if (ptr <= len) {
                        int kind = flags & 0x0F;
                        if (ptr + 3 > len || (kind == TS_AND_ADDR || kind == TS_PRESPEC) && ptr + 7 > len) {
                            return DecodeEvent.IPV4_OPT_MALFORMED;
                        }
                    } else if ((flags & 0x0F) != TS_PRESPEC && flags >>> 4 == 15) {
                        return DecodeEvent.IPV4_OPT_MALFORMED; // full, and its overflow count too
                    }
                    ts = true;
                }
                case ROUTER_ALERT -> {
                    if (len < 4) return DecodeEvent.IPV4_OPT_MALFORMED;
                }
                default -> { } // taken as they are (security, stream id, unknown; CIPSO: see above)
            }
            o += len;
        }
        return srr ? DecodeEvent.IPV4_OPT_SOURCE_ROUTE : null;
    }
}
