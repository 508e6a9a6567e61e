package org.xenids.decode;

import static org.xenids.decode.Bytes.i32;
import static org.xenids.decode.Bytes.u16;
import static org.xenids.decode.Bytes.u8;

/** Layer 4 of the {@link Decoder}: TCP (with options), UDP, ICMP, ICMPv6; other protocols as opaque payload. */
final class Transport {
    private final Packet p;
    private final long[] counts;
    /**
     * Whether this packet's receiver checks its TCP/UDP checksum, so that one that fails is a
     * packet it drops; set by the {@link Decoder} per packet.
     */
    boolean verify;

    Transport(Packet p, long[] counts) {
        this.p = p;
        this.counts = counts;
    }

    private void event(DecodeEvent e) {
        p.events |= e.bit();
        counts[e.ordinal()]++;
    }

    void decode(int proto, byte[] b, int pos, int end) {
        Packet q = p;
        q.protocol = proto;
        int avail = end - pos;
        switch (proto) {
            case 6 -> tcp(b, pos, avail);
            case 17 -> {
                if (avail < 8) { event(DecodeEvent.UDP_PKT_TOO_SMALL); return; }
                int ulen = u16(b, pos + 4);
                int data = avail - 8;
                if (ulen < 8 || ulen > avail) {
                    event(DecodeEvent.UDP_LEN_INVALID);
                } else {
                    if (ulen != avail) {
                        event(DecodeEvent.UDP_HLEN_INVALID);
                        data = ulen - 8;
                    }
                    // Over the UDP length, not the IP payload: Linux trims the packet to it first.
                    if (verify && (u16(b, pos + 6) == 0 ? q.ipVersion == 6 : !checksumOk(17, b, pos, ulen))) {
                        event(DecodeEvent.UDP_CHECKSUM_BAD);
                    }
                }
                setL4(pos, avail, pos + 8, data);
                q.srcPort = u16(b, pos);
                q.dstPort = u16(b, pos + 2);
            }
            case 1 -> {
                if (avail < 8) { event(DecodeEvent.ICMPV4_PKT_TOO_SMALL); if (avail < 4) return; }
                q.icmpType = u8(b, pos);
                q.icmpCode = u8(b, pos + 1);
                int t = q.icmpType;
                if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) {
                    if (avail < 8 + 20) event(DecodeEvent.ICMPV4_IPV4_TRUNC_PKT);
                    else quoted4(b, pos + 8, end);
                }
                setL4(pos, avail, pos + Math.min(8, avail), Math.max(0, avail - 8));
            }
            case 58 -> {
                if (avail < 8) { event(DecodeEvent.ICMPV6_PKT_TOO_SMALL); if (avail < 4) return; }
                q.icmpType = u8(b, pos);
                q.icmpCode = u8(b, pos + 1);
                if (q.icmpType >= 1 && q.icmpType <= 4 && avail >= 8 + 40 + 4) quoted6(b, pos + 8, end);
                setL4(pos, avail, pos + Math.min(8, avail), Math.max(0, avail - 8));
            }
            default -> setL4(pos, avail, pos, avail);
        }
    }

    private void setL4(int off, int len, int payOff, int payLen) {
        p.l4Off = off;
        p.l4Len = len;
        p.payloadOff = payOff;
        p.payloadLen = payLen;
    }

    private void tcp(byte[] b, int pos, int avail) {
        if (avail < 20) {
            event(DecodeEvent.TCP_PKT_TOO_SMALL);
            return;
        }
        int hlen = (u8(b, pos + 12) >>> 4) << 2;
        if (hlen < 20) {
            event(DecodeEvent.TCP_HLEN_TOO_SMALL);
            return;
        }
        if (hlen > avail) {
            event(DecodeEvent.TCP_INVALID_OPTLEN);
            return;
        }
        Packet q = p;
        q.srcPort = u16(b, pos);
        q.dstPort = u16(b, pos + 2);
        q.seq = i32(b, pos + 4);
        q.ack = i32(b, pos + 8);
        q.tcpFlags = u8(b, pos + 13);
        q.window = u16(b, pos + 14);
        q.urgentPointer = u16(b, pos + 18);
        if (hlen > 20) tcpOptions(b, pos + 20, pos + hlen);
        setL4(pos, avail, pos + hlen, avail - hlen);
        if (q.linkGroup) {
            event(DecodeEvent.TCP_LINK_GROUP_ADDRESS); // tcp_v4_rcv / tcp_v6_rcv: not PACKET_HOST
        }
        if (verify && !checksumOk(6, b, pos, avail)) {
            event(DecodeEvent.TCP_CHECKSUM_BAD);
        }
    }

    /**
     * Whether {@code b[pos, pos+len)}, a TCP segment or UDP datagram with its checksum, sums right
     * with the pseudo-header of its IP packet (addresses, protocol, length: RFC 793, 768, 8200).
     */
    private boolean checksumOk(int proto, byte[] b, int pos, int len) {
        Packet q = p;
        int a = q.ipVersion == 4 ? 4 : 16;
        long s = Bytes.sum(q.data, q.srcAddrOff, a) + Bytes.sum(q.data, q.dstAddrOff, a) + proto + len + Bytes.sum(b, pos, len);
        return Bytes.fold(s) == 0;
    }

    private void tcpOptions(byte[] b, int pos, int end) {
        Packet q = p;
        while (pos < end) {
            int kind = u8(b, pos);
            if (kind == 0) return;
            if (kind == 1) { pos++; continue; }
            if (pos + 1 >= end) { event(DecodeEvent.TCP_OPT_INVALID_LEN); return; }
            int l = u8(b, pos + 1);
            if (l < 2 || pos + l > end) { event(DecodeEvent.TCP_OPT_INVALID_LEN); return; }
            switch (kind) {
                case 2 -> { if (l == 4) q.mss = u16(b, pos + 2); else event(DecodeEvent.TCP_OPT_INVALID_LEN); }
                case 3 -> { if (l == 3) q.windowScale = u8(b, pos + 2); else event(DecodeEvent.TCP_OPT_INVALID_LEN); }
                case 4 -> { if (l == 2) q.sackPermitted = true; else event(DecodeEvent.TCP_OPT_INVALID_LEN); }
                case 5 -> { if ((l - 2) % 8 != 0) event(DecodeEvent.TCP_OPT_INVALID_LEN); }
                case 19, 29 -> q.tcpSigned = true;
                case 8 -> {
                    if (l == 10) {
                        q.hasTimestamp = true;
                        q.tsVal = i32(b, pos + 2);
                        q.tsEcr = i32(b, pos + 6);
                    } else {
                        event(DecodeEvent.TCP_OPT_INVALID_LEN);
                    }
                }
                default -> { }
            }
            pos += l;
        }
    }

    /**
     * The TCP/UDP tuple of the IPv4 packet an ICMP error quotes (its header and first 8 bytes),
     * so the flow stage can count the error in the flow it is about.
     */
    private void quoted4(byte[] b, int pos, int end) {
        int v = u8(b, pos);
        int hlen = (v & 0x0F) << 2;
        if ((v >>> 4) != 4 || hlen < 20 || end - pos < hlen + 4) return;
        int proto = u8(b, pos + 9);
        if (proto != 6 && proto != 17) return;
        quote(proto, 0, Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 12) & 0xFFFFFFFFL),
                0, Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 16) & 0xFFFFFFFFL), b, pos + hlen);
    }

    /** The same for ICMPv6 errors quoting an IPv6 packet whose next header is TCP or UDP. */
    private void quoted6(byte[] b, int pos, int end) {
        if ((u8(b, pos) >>> 4) != 6) return;
        int proto = u8(b, pos + 6);
        if (proto != 6 && proto != 17) return;
        quote(proto, Bytes.i64(b, pos + 8), Bytes.i64(b, pos + 16), Bytes.i64(b, pos + 24), Bytes.i64(b, pos + 32),
                b, pos + 40);
    }

    private void quote(int proto, long sHi, long sLo, long dHi, long dLo, byte[] b, int l4) {
        Packet q = p;
        q.quotedProto = proto;
        q.quotedSrcHi = sHi;
        q.quotedSrcLo = sLo;
        q.quotedDstHi = dHi;
        q.quotedDstLo = dLo;
        q.quotedSrcPort = u16(b, l4);
        q.quotedDstPort = u16(b, l4 + 2);
    }
}
