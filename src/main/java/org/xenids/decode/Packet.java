package org.xenids.decode;

/**
 * A reusable, mutable view of one decoded frame: offsets and header fields over the frame's own
 * bytes, filled by {@link Decoder#decode}. It is valid until the next call of {@code decode} on the
 * same decoder, and holds no copy of the frame: a reassembled IP datagram lives in a pooled buffer
 * of the decoder ({@link #data()} then differs from {@link #frame()}).
 *
 * <p>IP addresses are also given as two longs each (IPv4 as the IPv4-mapped IPv6 address
 * {@code ::ffff:a.b.c.d}) so flow keys need no allocation.
 */
public final class Packet {
    /** {@link #protocol()} values that are no IP protocol. */
    public static final int PROTO_NONE = -1;
    public static final int PROTO_ARP = -2;

    public static final int TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
            TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80;

    byte[] frame;
    int frameOff, frameLen, linkType;
    long tsNanos;
    long events;
    int vlanCount, vlanOuter, vlanInner;
    int etherType;

    byte[] data;
    int l3Off, l3Len;
    int ipVersion, ipHeaderLen, ttl;
    boolean reassembled, fragment;
    long srcHi, srcLo, dstHi, dstLo;
    int srcAddrOff, dstAddrOff;

    int protocol;
    int l4Off, l4Len;
    int srcPort, dstPort;
    int tcpFlags, window, urgentPointer;
    int seq, ack;
    int mss, windowScale;
    boolean sackPermitted, hasTimestamp, tcpSigned;
    /** The Ethernet destination is a group (broadcast or multicast) address. */
    boolean linkGroup;
    int tsVal, tsEcr;
    int icmpType, icmpCode;
    int payloadOff, payloadLen;
    int quotedProto, quotedSrcPort, quotedDstPort;
    long quotedSrcHi, quotedSrcLo, quotedDstHi, quotedDstLo;

    Packet() {}

    void reset(byte[] buf, int off, int len, long ts, int link) {
        frame = buf;
        frameOff = off;
        frameLen = len;
        tsNanos = ts;
        linkType = link;
        events = 0;
        vlanCount = vlanOuter = vlanInner = 0;
        etherType = 0;
        data = buf;
        l3Off = l3Len = 0;
        ipVersion = ipHeaderLen = ttl = 0;
        reassembled = fragment = false;
        srcHi = srcLo = dstHi = dstLo = 0;
        srcAddrOff = dstAddrOff = 0;
        protocol = PROTO_NONE;
        l4Off = l4Len = 0;
        srcPort = dstPort = 0;
        tcpFlags = window = urgentPointer = seq = ack = 0;
        mss = windowScale = -1;
        sackPermitted = hasTimestamp = tcpSigned = linkGroup = false;
        tsVal = tsEcr = 0;
        icmpType = icmpCode = -1;
        payloadOff = payloadLen = 0;
        quotedProto = 0;
    }

    /** The frame as given to the decoder. */
    public byte[] frame() { return frame; }
    public int frameOffset() { return frameOff; }
    public int frameLength() { return frameLen; }
    public int linkType() { return linkType; }
    public long timestampNanos() { return tsNanos; }

    /** Bit mask of the {@link DecodeEvent}s this frame raised (bit = ordinal). */
    public long events() { return events; }
    public boolean has(DecodeEvent e) { return (events & e.bit()) != 0; }

    /** Number of 802.1Q/802.1ad tags (0..2 kept), and their VLAN ids (outer first). */
    public int vlanCount() { return vlanCount; }
    public int vlanOuter() { return vlanOuter; }
    public int vlanInner() { return vlanInner; }
    /** The EtherType of the layer-3 payload (0x0800, 0x86DD, 0x0806, ...), 0 if none. */
    public int etherType() { return etherType; }

    /** The array holding the IP datagram: the frame, or the decoder's reassembly buffer. */
    public byte[] data() { return data; }
    public int l3Offset() { return l3Off; }
    public int l3Length() { return l3Len; }
    /** 4 or 6 for a decoded IP header, else 0. */
    public int ipVersion() { return ipVersion; }
    public int ipHeaderLength() { return ipHeaderLen; }
    public int ttl() { return ttl; }
    /** True when this frame completed a fragmented datagram, now in {@link #data()}. */
    public boolean reassembled() { return reassembled; }
    /** True for a fragment that did not (yet) complete its datagram: no layer-4 fields. */
    public boolean fragment() { return fragment; }
    public long srcHi() { return srcHi; }
    public long srcLo() { return srcLo; }
    public long dstHi() { return dstHi; }
    public long dstLo() { return dstLo; }
    /** Offsets in {@link #data()} of the 4 or 16 address bytes. */
    public int srcAddressOffset() { return srcAddrOff; }
    public int dstAddressOffset() { return dstAddrOff; }

    /** IP protocol number of the decoded layer 4 (6, 17, 1, 58, ...), or PROTO_NONE/PROTO_ARP. */
    public int protocol() { return protocol; }
    public boolean isTcp() { return protocol == 6 && l4Len > 0; }
    public boolean isUdp() { return protocol == 17 && l4Len > 0; }
    public int l4Offset() { return l4Off; }
    public int l4Length() { return l4Len; }
    public int srcPort() { return srcPort; }
    public int dstPort() { return dstPort; }
    public int tcpFlags() { return tcpFlags; }
    public int seq() { return seq; }
    public int ack() { return ack; }
    public int window() { return window; }
    /** The TCP header's urgent pointer field (meaningful only with {@link #TCP_URG} set). */
    public int urgentPointer() { return urgentPointer; }
    /** TCP options, -1 / false when absent. */
    public int mss() { return mss; }
    public int windowScale() { return windowScale; }
    public boolean sackPermitted() { return sackPermitted; }
    public boolean hasTimestamp() { return hasTimestamp; }
    /** The segment carries a TCP MD5 signature (RFC 2385) or TCP-AO (RFC 5925) option. */
    public boolean tcpSigned() { return tcpSigned; }
    public int tsVal() { return tsVal; }
    public int tsEcr() { return tsEcr; }
    public int icmpType() { return icmpType; }
    public int icmpCode() { return icmpCode; }
    /** Layer-4 payload in {@link #data()} (TCP segment data, UDP datagram data, ICMP body). */
    public int payloadOffset() { return payloadOff; }
    public int payloadLength() { return payloadLen; }

    /**
     * For an ICMP/ICMPv6 error that quotes a TCP or UDP packet: that packet's protocol (6 or 17),
     * else 0. The quoted packet's tuple follows (as it was sent, source first).
     */
    public int quotedProtocol() { return quotedProto; }
    public long quotedSrcHi() { return quotedSrcHi; }
    public long quotedSrcLo() { return quotedSrcLo; }
    public long quotedDstHi() { return quotedDstHi; }
    public long quotedDstLo() { return quotedDstLo; }
    public int quotedSrcPort() { return quotedSrcPort; }
    public int quotedDstPort() { return quotedDstPort; }

    /** Source address as text (allocates: for output, not the hot path). */
    public String srcAddress() { return formatAddress(srcHi, srcLo); }
    public String dstAddress() { return formatAddress(dstHi, dstLo); }

    /**
     * An address given as two longs (IPv4-mapped for IPv4) as text: dotted quad for IPv4,
     * RFC 5952 compressed form for IPv6.
     */
    public static String formatAddress(long hi, long lo) {
        return Addresses.format(hi, lo);
    }
}
