package org.xenids.pcap;

/**
 * LINKTYPE numbers (tcpdump.org/linktypes.html) as they appear in pcap headers and pcapng
 * interface descriptions. The reader reports the number found; decoding the link header is the
 * decode stage's job.
 */
public final class LinkType {
    private LinkType() {}

    /** BSD loopback: 4-byte address family in the host byte order of the writer. */
    public static final int NULL = 0;
    public static final int ETHERNET = 1;
    /** DLT_RAW on most systems (files written by old libpcap may carry it instead of 101). */
    public static final int RAW_12 = 12;
    /** DLT_RAW on OpenBSD. */
    public static final int RAW_14 = 14;
    /** Raw IPv4 or IPv6, version taken from the first nibble. */
    public static final int RAW = 101;
    /** OpenBSD loopback: 4-byte address family in network byte order. */
    public static final int LOOP = 108;
    /** Linux "cooked" capture v1 (16-byte header). */
    public static final int LINUX_SLL = 113;
    public static final int IPV4 = 228;
    public static final int IPV6 = 229;
    /** Linux "cooked" capture v2 (20-byte header). */
    public static final int LINUX_SLL2 = 276;

    /** A short name for messages and statistics ("ETHERNET", "LINUX_SLL", or "LINKTYPE_n"). */
    public static String name(int linkType) {
        return switch (linkType) {
            case NULL -> "NULL";
            case ETHERNET -> "ETHERNET";
            case RAW_12, RAW_14, RAW -> "RAW";
            case LOOP -> "LOOP";
            case LINUX_SLL -> "LINUX_SLL";
            case IPV4 -> "IPV4";
            case IPV6 -> "IPV6";
            case LINUX_SLL2 -> "LINUX_SLL2";
            default -> "LINKTYPE_" + linkType;
        };
    }
}
