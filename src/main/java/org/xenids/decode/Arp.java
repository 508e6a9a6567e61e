package org.xenids.decode;

import static org.xenids.decode.Bytes.i32;
import static org.xenids.decode.Bytes.u16;
import static org.xenids.decode.Bytes.u8;

/** ARP for the {@link Decoder}: its length and, for IPv4 over Ethernet, its addresses as the packet's. */
final class Arp {
    private final Packet p;
    private final long[] counts;

    Arp(Packet p, long[] counts) {
        this.p = p;
        this.counts = counts;
    }

    private void event(DecodeEvent e) {
        p.events |= e.bit();
        counts[e.ordinal()]++;
    }

    void decode(byte[] b, int pos, int end) {
        p.etherType = 0x0806;
        p.protocol = Packet.PROTO_ARP;
        if (end - pos < 8) {
            event(DecodeEvent.ARP_PKT_TOO_SMALL);
            return;
        }
        int hlen = u8(b, pos + 4), plen = u8(b, pos + 5);
        if (end - pos < 8 + 2 * (hlen + plen)) {
            event(DecodeEvent.ARP_PKT_TOO_SMALL);
            return;
        }
        if (u16(b, pos) == 1 && (u16(b, pos + 2) != 0x0800 || hlen != 6 || plen != 4)) {
            event(DecodeEvent.ARP_INVALID);
            return;
        }
        p.l3Off = pos;
        p.l3Len = 8 + 2 * (hlen + plen);
        if (plen == 4) {
            p.srcHi = 0;
            p.srcLo = Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 8 + hlen) & 0xFFFFFFFFL);
            p.dstHi = 0;
            p.dstLo = Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 8 + 2 * hlen + plen) & 0xFFFFFFFFL);
        }
    }
}
