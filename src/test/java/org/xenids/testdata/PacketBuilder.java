package org.xenids.testdata;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Builds frames byte by byte for decoder and flow tests (headers with valid checksums unless told). */
public final class PacketBuilder {
    public static final int TCP = 6, UDP = 17, ICMP = 1, ICMPV6 = 58;
    public static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;

    private PacketBuilder() {}

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    public static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    public static byte[] addr(String a) {
        try {
            return InetAddress.getByName(a).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(a, e);
        }
    }

    public static byte[] ethernet(int etherType, byte[] payload) {
        byte[] h = bytes(0x00, 0x16, 0x3e, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, etherType >> 8, etherType);
        return concat(h, payload);
    }

    /** An 802.1Q (or 802.1ad with tpid 0x88a8) tag: TPID then TCI; follow with the next type. */
    public static byte[] ethernetTagged(int[] tpids, int[] vids, int etherType, byte[] payload) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(bytes(0x00, 0x16, 0x3e, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff));
        for (int i = 0; i < tpids.length; i++) {
            o.writeBytes(bytes(tpids[i] >> 8, tpids[i], vids[i] >> 8, vids[i]));
        }
        o.writeBytes(bytes(etherType >> 8, etherType));
        o.writeBytes(payload);
        return o.toByteArray();
    }

    public static byte[] ipv4(int proto, String src, String dst, byte[] payload) {
        return ipv4(proto, src, dst, 0x1234, 0, false, new byte[0], payload);
    }

    /** An IPv4 datagram or fragment ({@code fragOffset} in bytes, a multiple of 8). */
    public static byte[] ipv4(int proto, String src, String dst, int id, int fragOffset, boolean more,
                              byte[] options, byte[] payload) {
        int hlen = 20 + options.length;
        byte[] h = new byte[hlen];
        h[0] = (byte) (0x40 | (hlen / 4));
        int total = hlen + payload.length;
        h[2] = (byte) (total >> 8);
        h[3] = (byte) total;
        h[4] = (byte) (id >> 8);
        h[5] = (byte) id;
        int frag = (more ? 0x2000 : 0) | (fragOffset / 8);
        h[6] = (byte) (frag >> 8);
        h[7] = (byte) frag;
        h[8] = 64;
        h[9] = (byte) proto;
        System.arraycopy(addr(src), 0, h, 12, 4);
        System.arraycopy(addr(dst), 0, h, 16, 4);
        System.arraycopy(options, 0, h, 20, options.length);
        int c = checksum(h);
        h[10] = (byte) (c >> 8);
        h[11] = (byte) c;
        byte[] d = concat(h, payload);
        if (fragOffset == 0 && !more) {
            l4Checksum(d, hlen, proto, concat(addr(src), addr(dst)));
        }
        return d;
    }

    /**
     * Fills in the TCP or UDP checksum of the unfragmented packet {@code d} whose L4 header starts
     * at {@code at}, as a sending stack does; anything else is left as given. A test that wants a
     * bad checksum breaks it afterwards.
     */
    public static void l4Checksum(byte[] d, int at, int proto, byte[] addresses) {
        int len = d.length - at;
        int field = proto == TCP && len >= 20 ? 16 : proto == UDP && len >= 8 ? 6 : -1;
        if (field < 0) {
            return;
        }
        d[at + field] = 0;
        d[at + field + 1] = 0;
        byte[] pseudo = concat(addresses, bytes(0, proto, len >> 8, len), java.util.Arrays.copyOfRange(d, at, d.length));
        int c = checksum(pseudo.length % 2 == 0 ? pseudo : concat(pseudo, new byte[1]));
        if (c == 0 && proto == UDP) {
            c = 0xFFFF; // 0 means "no checksum" in UDP
        }
        d[at + field] = (byte) (c >> 8);
        d[at + field + 1] = (byte) c;
    }

    public static byte[] ipv6(int nextHeader, String src, String dst, byte[] payload) {
        byte[] h = new byte[40];
        h[0] = 0x60;
        h[4] = (byte) (payload.length >> 8);
        h[5] = (byte) payload.length;
        h[6] = (byte) nextHeader;
        h[7] = 64;
        System.arraycopy(addr(src), 0, h, 8, 16);
        System.arraycopy(addr(dst), 0, h, 24, 16);
        byte[] d = concat(h, payload);
        l4Checksum(d, 40, nextHeader, concat(addr(src), addr(dst)));
        return d;
    }

    /** An IPv6 extension header of 8 bytes (hop-by-hop 0, destination options 60, routing 43). */
    public static byte[] ext8(int next) {
        return bytes(next, 0, 1, 4, 0, 0, 0, 0); // PadN option filling the header
    }

    /** An IPv6 fragment header ({@code offset} in bytes). */
    public static byte[] fragment6(int next, int offset, boolean more, int id) {
        int fo = offset | (more ? 1 : 0);
        return bytes(next, 0, fo >> 8, fo, id >> 24, id >> 16, id >> 8, id);
    }

    public static byte[] tcp(int sport, int dport, int seq, int ack, int flags, byte[] options, byte[] payload) {
        int hlen = 20 + options.length;
        byte[] h = new byte[hlen];
        h[0] = (byte) (sport >> 8);
        h[1] = (byte) sport;
        h[2] = (byte) (dport >> 8);
        h[3] = (byte) dport;
        for (int i = 0; i < 4; i++) {
            h[4 + i] = (byte) (seq >>> (24 - 8 * i));
            h[8 + i] = (byte) (ack >>> (24 - 8 * i));
        }
        h[12] = (byte) ((hlen / 4) << 4);
        h[13] = (byte) flags;
        h[14] = (byte) 0xff;
        h[15] = (byte) 0xff;
        System.arraycopy(options, 0, h, 20, options.length);
        return concat(h, payload);
    }

    public static byte[] tcp(int sport, int dport, int seq, int ack, int flags, byte[] payload) {
        return tcp(sport, dport, seq, ack, flags, new byte[0], payload);
    }

    public static byte[] udp(int sport, int dport, byte[] payload) {
        int len = 8 + payload.length;
        return concat(bytes(sport >> 8, sport, dport >> 8, dport, len >> 8, len, 0, 0), payload);
    }

    public static byte[] icmp(int type, int code, byte[] body) {
        return concat(bytes(type, code, 0, 0, 0, 1, 0, 1), body);
    }

    /** Ethernet + IPv4 + TCP in one call. */
    public static byte[] tcpFrame(String src, int sport, String dst, int dport, int seq, int ack, int flags, byte[] payload) {
        return ethernet(0x0800, ipv4(TCP, src, dst, tcp(sport, dport, seq, ack, flags, payload)));
    }

    /** As {@link #tcpFrame}, with URG set and the urgent pointer {@code urgentPointer}. */
    public static byte[] tcpUrgentFrame(String src, int sport, String dst, int dport, int seq, int ack, int flags,
                                        int urgentPointer, byte[] payload) {
        byte[] t = tcp(sport, dport, seq, ack, flags | URG, payload);
        t[18] = (byte) (urgentPointer >> 8);
        t[19] = (byte) urgentPointer;
        return ethernet(0x0800, ipv4(TCP, src, dst, t));
    }

    public static byte[] udpFrame(String src, int sport, String dst, int dport, byte[] payload) {
        return ethernet(0x0800, ipv4(UDP, src, dst, udp(sport, dport, payload)));
    }

    static int checksum(byte[] h) {
        long sum = 0;
        for (int i = 0; i + 1 < h.length; i += 2) sum += ((h[i] & 0xFF) << 8) | (h[i + 1] & 0xFF);
        while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (int) (~sum & 0xFFFF);
    }
}
