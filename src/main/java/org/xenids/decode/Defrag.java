package org.xenids.decode;

import static org.xenids.decode.Bytes.i32;
import static org.xenids.decode.Bytes.u16;

/**
 * The decoder's side of IP fragment reassembly: hands each fragment to {@link Fragments}, raises
 * the events it reports, counts fragments and datagrams by IP version, and rewrites a completed
 * datagram's header so that the later stages read it as one never fragmented. Kept apart from
 * the header parsing in {@link Decoder}, which only says where a fragment's parts lie.
 */
final class Defrag {
    private final Packet p;
    private final long[] counts;
    final Fragments fragments;
    /** Fragments handed to reassembly and datagrams it completed, by IP version (index 0: IPv4, 1: IPv6). */
    final long[] taken = new long[2], reassembled = new long[2];

    Defrag(Packet p, long[] counts, Fragments fragments) {
        this.p = p;
        this.counts = counts;
        this.fragments = fragments;
    }

    /**
     * An IPv4 fragment: header at {@code b[pos, pos+hlen)}, datagram {@code total} bytes long.
     * True when it completed its datagram, which is then at {@link Fragments#doneBuf} with its
     * total length, fragment field and checksum rewritten.
     */
    boolean add4(byte[] b, int pos, int hlen, int total, int proto, int fragOff, boolean more, int owner) {
        taken[0]++;
        int r = fragments.add(p, 4, u16(b, pos + 4), proto, b, pos, hlen, pos + hlen, total - hlen, fragOff, more,
                p.tsNanos, owner);
        events(true);
        if (r != Fragments.COMPLETE) {
            return false;
        }
        byte[] d = fragments.doneBuf;
        int o = fragments.doneOff;
        Bytes.put16(d, o + 2, fragments.doneLen);
        Bytes.put16(d, o + 6, 0);
        Bytes.put16(d, o + 10, 0);
        Bytes.put16(d, o + 10, Bytes.checksum(d, o, fragments.doneHdrLen));
        reassembled[0]++;
        return true;
    }

    /**
     * An IPv6 fragment: fixed header at {@code b[pos, pos+40)}, fragment header at {@code frag},
     * {@code dataLen} bytes after it. True when it completed its datagram, which then keeps only
     * the fixed header (extension headers before the fragment header are not needed later), its
     * payload length and next header rewritten.
     */
    boolean add6(byte[] b, int pos, int frag, int next, int dataLen, int fragOff, boolean more, int owner) {
        taken[1]++;
        int r = fragments.add(p, 6, i32(b, frag + 4), next, b, pos, 40, frag + 8, dataLen, fragOff, more, p.tsNanos,
                owner);
        events(false);
        if (r != Fragments.COMPLETE) {
            return false;
        }
        byte[] d = fragments.doneBuf;
        int o = fragments.doneOff;
        Bytes.put16(d, o + 4, fragments.doneLen - 40);
        d[o + 6] = (byte) next;
        reassembled[1]++;
        return true;
    }

    /**
     * The input ended: datagrams still in reassembly are given up and counted as timed out. Their
     * timeouts are otherwise only noticed when a later fragment arrives, so without this a
     * datagram whose last fragment never came would go uncounted.
     */
    void finish() {
        fragments.drain();
        counts[DecodeEvent.IPV4_FRAG_TIMEOUT.ordinal()] += fragments.timedOut4;
        counts[DecodeEvent.IPV6_FRAG_TIMEOUT.ordinal()] += fragments.timedOut6;
        fragments.timedOut4 = fragments.timedOut6 = 0;
    }

    private void events(boolean v4) {
        Fragments f = fragments;
        if (f.evOverlap) event(v4 ? DecodeEvent.IPV4_FRAG_OVERLAP : DecodeEvent.IPV6_FRAG_OVERLAP);
        if (f.evFull) event(v4 ? DecodeEvent.IPV4_FRAG_TABLE_FULL : DecodeEvent.IPV6_FRAG_TABLE_FULL);
        if (f.evTooLarge) event(v4 ? DecodeEvent.IPV4_FRAG_PKT_TOO_LARGE : DecodeEvent.IPV6_FRAG_PKT_TOO_LARGE);
        for (int i = 0; i < f.timedOut4; i++) event(DecodeEvent.IPV4_FRAG_TIMEOUT);
        for (int i = 0; i < f.timedOut6; i++) event(DecodeEvent.IPV6_FRAG_TIMEOUT);
    }

    private void event(DecodeEvent e) {
        p.events |= e.bit();
        counts[e.ordinal()]++;
    }
}
