package org.xenids.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.UDP;
import static org.xenids.testdata.PacketBuilder.bytes;
import static org.xenids.testdata.PacketBuilder.ethernet;
import static org.xenids.testdata.PacketBuilder.ipv4;
import static org.xenids.testdata.PacketBuilder.udp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * An IPv4 UDP datagram cut into fragments at any 8-byte boundaries, sent in any order, some
 * twice: it is reassembled exactly once, into its own bytes, when its last missing piece
 * arrives; the only decode event is the overlap a piece sent twice makes.
 */
class FragmentsPropertyTest {
    @Property(tries = 300)
    void anyFragmentationInAnyOrderReassemblesToTheDatagram(
            @ForAll @IntRange(min = 1, max = 8000) int length,
            @ForAll @IntRange(min = 1, max = 185) int maxEights,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[] payload = new byte[length];
        r.nextBytes(payload);
        byte[] seg = udp(5353, 9999, payload);
        // At most MAX_RANGES pieces: past that a datagram is dropped with ipv4.frag_too_many (the
        // bound on work per fragment; see the class's other test).
        int minEights = (seg.length + 8 * Fragments.MAX_RANGES - 1) / (8 * Fragments.MAX_RANGES);
        List<int[]> pieces = new ArrayList<>();
        for (int at = 0; at < seg.length; ) {
            int n = Math.min(seg.length - at, 8 * (minEights + r.nextInt(maxEights)));
            pieces.add(new int[] {at, at + n});
            at += n;
        }
        Collections.shuffle(pieces, r);
        List<int[]> sent = new ArrayList<>(pieces);
        for (int[] p : pieces) {
            if (r.nextInt(8) == 0) {
                sent.add(r.nextInt(sent.size() + 1), p); // a duplicate, anywhere
            }
        }
        Decoder d = new Decoder();
        int whole = 0;
        boolean complete = false;
        java.util.Set<Integer> have = new java.util.HashSet<>();
        for (int[] p : sent) {
            byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 4242, p[0], p[1] < seg.length, bytes(),
                    Arrays.copyOfRange(seg, p[0], p[1])));
            Packet k = d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
            boolean again = !have.add(p[0]);
            boolean last = !complete && have.size() == pieces.size();
            if (pieces.size() == 1) {
                // Not a fragment at all: a datagram of its own, each time it is sent.
                assertEquals(length, k.payloadLength());
                continue;
            }
            if (last) {
                complete = true;
                assertTrue(k.reassembled(), "reassembled when its last piece arrives");
                assertEquals(length, k.payloadLength());
                assertArrayEquals(payload, Arrays.copyOfRange(k.data(), k.payloadOffset(), k.payloadOffset() + length));
                whole++;
            } else {
                assertTrue(!k.reassembled(), "no datagram before every piece, nor a second one after");
            }
            // A piece sent again overlaps itself: reported (as Suricata does), its first bytes kept.
            long allowed = again && !complete ? DecodeEvent.IPV4_FRAG_OVERLAP.bit() : 0;
            assertEquals(0, k.events() & ~allowed, "decode events " + k.events());
        }
        assertEquals(pieces.size() == 1 ? 0 : 1, whole);
    }

    /**
     * More than MAX_RANGES pieces apart (every other one sent first): the datagram is dropped
     * and ipv4.frag_too_many reported, not reassembled and not silently lost; a datagram sent
     * after it is reassembled as usual.
     */
    @Property(tries = 50)
    void tooManyPiecesApartAreDroppedAndReported(@ForAll @IntRange(min = 2 * Fragments.MAX_RANGES + 1, max = 400) int pieces) {
        byte[] seg = udp(5353, 9999, new byte[8 * pieces - 8]);
        Decoder d = new Decoder();
        long events = 0;
        boolean reassembled = false;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = pass; i < pieces; i += 2) {
                byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 8 * i, i < pieces - 1, bytes(),
                        Arrays.copyOfRange(seg, 8 * i, 8 * i + 8)));
                Packet k = d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
                events |= k.events();
                reassembled |= k.reassembled();
            }
        }
        assertTrue((events & DecodeEvent.IPV4_FRAG_TOO_MANY.bit()) != 0, "reported");
        assertTrue(!reassembled);
        byte[] f1 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 8, 8, false, bytes(), Arrays.copyOfRange(seg, 8, 16)));
        byte[] f0 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 8, 0, true, bytes(), Arrays.copyOfRange(seg, 0, 8)));
        d.decode(f1, 0, f1.length, 2_000, Decoder.LINKTYPE_ETHERNET);
        assertTrue(d.decode(f0, 0, f0.length, 2_000, Decoder.LINKTYPE_ETHERNET).reassembled());
    }
}
