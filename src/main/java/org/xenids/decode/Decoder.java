package org.xenids.decode;

import static org.xenids.decode.Bytes.i32;
import static org.xenids.decode.Bytes.i64;
import static org.xenids.decode.Bytes.u16;
import static org.xenids.decode.Bytes.u8;

/**
 * Decodes frames (link layer given by its LINKTYPE number) into one reusable {@link Packet}
 * view, without copying or allocating per packet. Malformations never throw: each raises a
 * named {@link DecodeEvent}, counted here and flagged on the packet, and decoding stops at the
 * layer that was broken. Fragmented IPv4/IPv6 datagrams are reassembled in bounded memory.
 * Not thread-safe: one decoder per thread.
 */
public final class Decoder {
    public static final int LINKTYPE_NULL = 0, LINKTYPE_ETHERNET = 1, LINKTYPE_RAW = 101,
            LINKTYPE_LOOP = 108, LINKTYPE_LINUX_SLL = 113, LINKTYPE_IPV4 = 228, LINKTYPE_IPV6 = 229,
            LINKTYPE_LINUX_SLL2 = 276;
    /** DLT_RAW as some systems number it in files (12 on most BSDs, 14 on OpenBSD). */
    static final int DLT_RAW_BSD = 12, DLT_RAW_OPENBSD = 14;

    /**
     * Defaults, per reassembly owner (see {@link #decode(byte[], int, int, long, int, boolean, int)}):
     * 16,384 datagrams in reassembly at once, holding 16 MiB (about 1.7 KiB for a datagram of one
     * small fragment, 66 KiB for the largest), dropped unfinished after 30 s (Linux
     * ipfrag_time). A Linux host keeps 4 MiB of fragments (ipfrag_high_thresh, by the kernel's
     * truesize, which is larger than the cost counted here): less here would drop what it keeps.
     */
    public static final int DEFAULT_FRAGMENT_SLOTS = 16_384;
    public static final long DEFAULT_FRAGMENT_BYTES = 16L << 20;
    public static final long DEFAULT_FRAGMENT_TIMEOUT_NANOS = 30_000_000_000L;

    private static final int MAX_VLAN = 2, MAX_IPV6_EXT = 16;

    private final Packet p = new Packet();
    private final long[] counts = new long[DecodeEvent.values().length];
    private final Defrag defrag;
    private final Transport transport = new Transport(p, counts);
    private final Arp arp = new Arp(p, counts);
    /** The current frame's reassembly owner. */
    private int owner;

    public Decoder() {
        this(DEFAULT_FRAGMENT_SLOTS, DEFAULT_FRAGMENT_TIMEOUT_NANOS);
    }

    /** @param fragmentSlots datagrams one owner reassembles at once (holding {@link #DEFAULT_FRAGMENT_BYTES} at most) */
    public Decoder(int fragmentSlots, long fragmentTimeoutNanos) {
        this(fragmentSlots, DEFAULT_FRAGMENT_BYTES, fragmentTimeoutNanos);
    }

    /**
     * @param fragmentSlots datagrams one owner reassembles at once
     * @param fragmentBytes bytes one owner's may hold (at least one largest datagram's with its
     *                      largest run table, about 129 KiB)
     */
    public Decoder(int fragmentSlots, long fragmentBytes, long fragmentTimeoutNanos) {
        if (fragmentSlots < 1) throw new IllegalArgumentException("fragmentSlots must be >= 1");
        defrag = new Defrag(p, counts, new Fragments(fragmentSlots, fragmentBytes, fragmentTimeoutNanos));
    }

    /** How often {@code e} was raised so far. */
    public long count(DecodeEvent e) {
        return counts[e.ordinal()];
    }

    /** Datagrams in fragment reassembly now. */
    public int fragmentsHeld() {
        return defrag.fragments.live();
    }

    /**
     * The input ended: datagrams still in reassembly are given up and counted as timed out
     * ({@link DecodeEvent#IPV4_FRAG_TIMEOUT}, {@link DecodeEvent#IPV6_FRAG_TIMEOUT}).
     */
    public void finish() {
        defrag.finish();
    }

    /** Datagrams completed by fragment reassembly so far. */
    public long reassembledDatagrams() {
        return defrag.reassembled[0] + defrag.reassembled[1];
    }

    /** Datagrams of IP version {@code v} (4 or 6) completed by fragment reassembly so far. */
    public long reassembledDatagrams(int v) { return defrag.reassembled[v == 4 ? 0 : 1]; }

    /** Fragments of IP version {@code v} (4 or 6) handed to reassembly so far (not those a receiver drops first). */
    public long fragments(int v) { return defrag.taken[v == 4 ? 0 : 1]; }

    /**
     * Decodes {@code buf[off, off+len)} (the captured bytes of one frame) and returns this
     * decoder's packet view, valid until the next call.
     *
     * @throws IllegalArgumentException only when off/len lie outside buf (a caller's bug)
     */
    public Packet decode(byte[] buf, int off, int len, long tsNanos, int linkType) {
        return decode(buf, off, len, tsNanos, linkType, false);
    }

    /**
     * As {@link #decode(byte[], int, int, long, int)}, for a frame whose receiver checks TCP and
     * UDP checksums itself when {@code receiverChecksL4}: one that fails is marked
     * {@link DecodeEvent#TCP_CHECKSUM_BAD}/{@link DecodeEvent#UDP_CHECKSUM_BAD}, a packet the
     * receiver drops. The Xen tap knows this from the ring flags (neither NETTXF/NETRXF_csum_blank
     * nor _data_validated); a capture file does not (a sender's capture holds checksums its NIC had
     * yet to fill in), so its frames are not checked. A reassembled datagram is checked as its last
     * fragment's frame says; a packet with an IPv6 routing header is not checked (its pseudo-header
     * names the final destination, not the address field).
     */
    public Packet decode(byte[] buf, int off, int len, long tsNanos, int linkType, boolean receiverChecksL4) {
        return decode(buf, off, len, tsNanos, linkType, receiverChecksL4, 0);
    }

    /**
     * As {@link #decode(byte[], int, int, long, int, boolean)}, a fragment reassembled by
     * {@code owner} (0 to 65535): the number of the stack that reassembles it, each within its own
     * bounds, as each Linux guest keeps its own fragments (the tap numbers a guest's two
     * directions). Without one, everything is owner 0: one host.
     */
    public Packet decode(byte[] buf, int off, int len, long tsNanos, int linkType, boolean receiverChecksL4,
                         int owner) {
        if (owner < 0 || owner > Fragments.MAX_OWNER) {
            throw new IllegalArgumentException("reassembly owner " + owner + " outside 0.." + Fragments.MAX_OWNER);
        }
        this.owner = owner;
        transport.verify = receiverChecksL4;
        if (off < 0 || len < 0 || off > buf.length - len) {
            throw new IllegalArgumentException("frame [" + off + ", +" + len + ") outside buffer of " + buf.length);
        }
        Packet q = p;
        q.reset(buf, off, len, tsNanos, linkType);
        int end = off + len;
        switch (linkType) {
            case LINKTYPE_ETHERNET -> ethernet(buf, off, end);
            case LINKTYPE_RAW, DLT_RAW_BSD, DLT_RAW_OPENBSD -> rawIp(buf, off, end);
            case LINKTYPE_IPV4 -> ip(0x0800, buf, off, end);
            case LINKTYPE_IPV6 -> ip(0x86DD, buf, off, end);
            case LINKTYPE_LINUX_SLL -> {
                if (len < 16) event(DecodeEvent.SLL_PKT_TOO_SMALL);
                else etherPayload(u16(buf, off + 14), buf, off + 16, end);
            }
            case LINKTYPE_LINUX_SLL2 -> {
                if (len < 20) event(DecodeEvent.SLL2_PKT_TOO_SMALL);
                else etherPayload(u16(buf, off), buf, off + 20, end);
            }
            case LINKTYPE_NULL, LINKTYPE_LOOP -> loopback(buf, off, end, linkType == LINKTYPE_LOOP);
            default -> event(DecodeEvent.LINK_UNSUPPORTED);
        }
        return q;
    }

    private void event(DecodeEvent e) {
        p.events |= e.bit();
        counts[e.ordinal()]++;
    }

    private void ethernet(byte[] b, int off, int end) {
        if (end - off < 14) {
            event(DecodeEvent.ETHERNET_PKT_TOO_SMALL);
            return;
        }
        p.linkGroup = (b[off] & 1) != 0; // the I/G bit
        etherPayload(u16(b, off + 12), b, off + 14, end);
    }

    /** Follows 802.1Q / 802.1ad tags, then hands the payload of {@code type} to layer 3. */
    private void etherPayload(int type, byte[] b, int pos, int end) {
        while (type == 0x8100 || type == 0x88A8 || type == 0x9100) {
            if (end - pos < 4) {
                event(DecodeEvent.VLAN_HEADER_TOO_SMALL);
                return;
            }
            if (p.vlanCount == MAX_VLAN) {
                event(DecodeEvent.VLAN_TOO_MANY_LAYERS);
                return;
            }
            int vid = u16(b, pos) & 0x0FFF;
            if (p.vlanCount++ == 0) p.vlanOuter = vid; else p.vlanInner = vid;
            type = u16(b, pos + 2);
            pos += 4;
        }
        if (type == 0x0806) {
            arp.decode(b, pos, end);
        } else {
            ip(type, b, pos, end);
        }
    }

    private void loopback(byte[] b, int off, int end, boolean networkOrder) {
        if (end - off < 4) {
            event(DecodeEvent.NULL_PKT_TOO_SMALL);
            return;
        }
        int fam = i32(b, off);
        // DLT_NULL stores the family in the capturing host's byte order: a value that does not
        // fit in 16 bits was written little-endian.
        if (!networkOrder && (fam & 0xFFFF0000) != 0) fam = Integer.reverseBytes(fam);
        switch (fam) {
            case 2 -> ip(0x0800, b, off + 4, end);
            case 10, 24, 28, 30 -> ip(0x86DD, b, off + 4, end);
            default -> event(DecodeEvent.NULL_UNKNOWN_FAMILY);
        }
    }

    private void rawIp(byte[] b, int off, int end) {
        if (end - off < 1) {
            event(DecodeEvent.IPV4_PKT_TOO_SMALL);
            return;
        }
        ip((b[off] & 0xF0) == 0x60 ? 0x86DD : 0x0800, b, off, end);
    }

    private void ip(int type, byte[] b, int pos, int end) {
        p.etherType = type;
        if (type == 0x0800) ipv4(b, pos, end);
        else if (type == 0x86DD) ipv6(b, pos, end);
    }

    private void ipv4(byte[] b, int pos, int end) {
        int avail = end - pos;
        if (avail < 20) {
            event(DecodeEvent.IPV4_PKT_TOO_SMALL);
            return;
        }
        int v = u8(b, pos);
        if ((v >>> 4) != 4) {
            event(DecodeEvent.IPV4_WRONG_IP_VERSION);
            return;
        }
        int hlen = (v & 0x0F) << 2;
        if (hlen < 20) {
            event(DecodeEvent.IPV4_HLEN_TOO_SMALL);
            return;
        }
        int total = u16(b, pos + 2);
        if (total < hlen) {
            event(DecodeEvent.IPV4_IPLEN_SMALLER_THAN_HLEN);
            return;
        }
        if (avail < total) {
            event(DecodeEvent.IPV4_TRUNC_PKT);
            return;
        }
        if (Bytes.checksum(b, pos, hlen) != 0) {
            event(DecodeEvent.IPV4_CHECKSUM_BAD);
        }
        if (hlen > 20) {
            DecodeEvent rejected = Ipv4Options.judge(b, pos + 20, pos + hlen);
            if (rejected != null) event(rejected);
        }
        Packet q = p;
        q.data = b;
        q.l3Off = pos;
        q.l3Len = total; // Ethernet padding past the datagram is not part of it
        q.ipVersion = 4;
        q.ipHeaderLen = hlen;
        q.ttl = u8(b, pos + 8);
        q.srcAddrOff = pos + 12;
        q.dstAddrOff = pos + 16;
        q.srcLo = Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 12) & 0xFFFFFFFFL);
        q.dstLo = Addresses.V4_MAPPED_PREFIX | (i32(b, pos + 16) & 0xFFFFFFFFL);
        int proto = u8(b, pos + 9);
        q.protocol = proto;
        int frag = u16(b, pos + 6);
        boolean more = (frag & 0x2000) != 0;
        int fragOff = (frag & 0x1FFF) << 3;
        if (more || fragOff != 0) {
            if ((q.events & DecodeEvent.RECEIVER_DROPS) != 0) {
                // The receiving stack drops it: held here, it would stand in for the fragment the
                // receiver does reassemble (an insertion), so it belongs to no datagram.
                q.fragment = true;
                return;
            }
            if (!defrag.add4(b, pos, hlen, total, proto, fragOff, more, owner)) {
                q.fragment = true;
                return;
            }
            Fragments fragments = defrag.fragments;
            byte[] d = fragments.doneBuf;
            int o = fragments.doneOff;
            q.reassembled = true;
            q.data = d;
            q.l3Off = o;
            q.l3Len = fragments.doneLen;
            q.srcAddrOff = o + 12;
            q.dstAddrOff = o + 16;
            layer4(proto, d, o + fragments.doneHdrLen, o + fragments.doneLen);
            return;
        }
        layer4(proto, b, pos + hlen, pos + total);
    }

    private void ipv6(byte[] b, int pos, int end) {
        int avail = end - pos;
        if (avail < 40) {
            event(DecodeEvent.IPV6_PKT_TOO_SMALL);
            return;
        }
        if ((u8(b, pos) >>> 4) != 6) {
            event(DecodeEvent.IPV6_WRONG_IP_VERSION);
            return;
        }
        int plen = u16(b, pos + 4);
        if (avail < 40 + plen) {
            event(DecodeEvent.IPV6_TRUNC_PKT);
            return;
        }
        Packet q = p;
        q.data = b;
        q.l3Off = pos;
        q.l3Len = 40 + plen;
        q.ipVersion = 6;
        q.ttl = u8(b, pos + 7);
        q.srcAddrOff = pos + 8;
        q.dstAddrOff = pos + 24;
        q.srcHi = i64(b, pos + 8);
        q.srcLo = i64(b, pos + 16);
        q.dstHi = i64(b, pos + 24);
        q.dstLo = i64(b, pos + 32);
        int nh = u8(b, pos + 6);
        int cur = pos + 40, stop = pos + 40 + plen;
        for (int n = 0; ; n++) {
            if (n == MAX_IPV6_EXT) {
                event(DecodeEvent.IPV6_EXTHDR_TOO_MANY);
                q.protocol = nh;
                return;
            }
            int hl;
            switch (nh) {
                case 0, 43, 60, 135, 139, 140 -> {
                    if (stop - cur < 8) { trunc6(nh); return; }
                    if (nh == 43 && u8(b, cur + 3) != 0) {
                        transport.verify = false; // segments left: the final destination is one it carries
                    }
                    hl = (u8(b, cur + 1) + 1) << 3;
                }
                case 51 -> {
                    if (stop - cur < 8) { trunc6(nh); return; }
                    hl = (u8(b, cur + 1) + 2) << 2;
                }
                case 44 -> {
                    if (stop - cur < 8) { trunc6(nh); return; }
                    int next = u8(b, cur);
                    int fo = u16(b, cur + 2);
                    boolean more = (fo & 1) != 0;
                    int fragOff = fo & 0xFFF8;
                    if (!more && fragOff == 0) { // atomic fragment (RFC 6946): nothing to reassemble
                        nh = next;
                        cur += 8;
                        continue;
                    }
                    int dataLen = stop - cur - 8;
                    q.ipHeaderLen = cur - pos;
                    q.protocol = next;
                    if (more && (dataLen & 7) != 0) {
                        event(DecodeEvent.IPV6_FRAG_INVALID_LENGTH); // Linux drops it (ip6_frag_queue)
                    }
                    if ((q.events & DecodeEvent.RECEIVER_DROPS) != 0) {
                        q.fragment = true; // dropped before reassembly: it stands in for nothing
                        return;
                    }
                    if (!defrag.add6(b, pos, cur, next, dataLen, fragOff, more, owner)) {
                        q.fragment = true;
                        return;
                    }
                    Fragments fragments = defrag.fragments;
                    byte[] d = fragments.doneBuf;
                    int o = fragments.doneOff;
                    q.reassembled = true;
                    q.data = d;
                    q.l3Off = o;
                    q.l3Len = fragments.doneLen;
                    q.ipHeaderLen = 40;
                    q.srcAddrOff = o + 8;
                    q.dstAddrOff = o + 24;
                    layer4(next, d, o + 40, o + fragments.doneLen);
                    return;
                }
                default -> {
                    q.ipHeaderLen = cur - pos;
                    q.protocol = nh;
                    if (nh == 59 || nh == 50) return; // no next header / ESP: nothing to decode
                    layer4(nh, b, cur, stop);
                    return;
                }
            }
            if (stop - cur < hl) { trunc6(nh); return; }
            DecodeEvent refused = Ipv6ExtHeaders.judge(nh, b, cur, hl, cur == pos + 40);
            if (refused != null) event(refused);
            nh = u8(b, cur);
            cur += hl;
        }
    }

    private void trunc6(int nh) {
        p.protocol = nh;
        event(DecodeEvent.IPV6_TRUNC_EXTHDR);
    }

    private void layer4(int proto, byte[] b, int pos, int end) {
        transport.decode(proto, b, pos, end);
    }
}
