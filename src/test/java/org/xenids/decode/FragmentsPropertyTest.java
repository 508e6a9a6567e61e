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
 * twice: it is reassembled into its own bytes when its last missing piece arrives (again if
 * every piece comes again), never before; the only decode event is the overlap a piece sent
 * twice makes. However many pieces.
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
        List<int[]> pieces = new ArrayList<>();
        for (int at = 0; at < seg.length; ) {
            int n = Math.min(seg.length - at, 8 * (1 + r.nextInt(maxEights)));
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
        int whole = 0, expected = 0;
        // The pieces the decoder holds for the datagram in progress: a datagram completes when it
        // holds them all, and pieces sent again after that start it over (a datagram re-sent whole
        // is reassembled again).
        java.util.Set<Integer> held = new java.util.HashSet<>();
        for (int[] p : sent) {
            byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 4242, p[0], p[1] < seg.length, bytes(),
                    Arrays.copyOfRange(seg, p[0], p[1])));
            Packet k = d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
            if (pieces.size() == 1) {
                // Not a fragment at all: a datagram of its own, each time it is sent.
                assertEquals(length, k.payloadLength());
                continue;
            }
            boolean again = !held.add(p[0]);
            if (held.size() == pieces.size()) {
                held.clear();
                expected++;
                assertTrue(k.reassembled(), "reassembled when its last piece arrives");
                assertEquals(length, k.payloadLength());
                assertArrayEquals(payload, Arrays.copyOfRange(k.data(), k.payloadOffset(), k.payloadOffset() + length));
                whole++;
            } else {
                assertTrue(!k.reassembled(), "no datagram before every piece");
            }
            // A piece sent again lies wholly inside bytes held: a duplicate, ignored as Linux does
            // (no overlap, which would give the datagram up).
            assertEquals(0, k.events(), "decode events " + k.events() + (again ? " (a piece sent again)" : ""));
        }
        assertEquals(expected, whole);
        assertTrue(pieces.size() == 1 || whole >= 1);
    }

    /**
     * The largest datagram in 8-byte pieces, every other one sent first (8,191 pieces, 4,096 runs
     * apart at the worst), as an evader would to outrun a reassembler that keeps a list of runs:
     * reassembled whole, within a time bound.
     */
    @Property(tries = 5)
    void theLargestDatagramInEightBytePiecesEveryOtherFirstIsReassembled(@ForAll long seed) {
        byte[] payload = new byte[65535 - 20 - 8];
        new Random(seed).nextBytes(payload);
        byte[] seg = udp(5353, 9999, payload);
        int pieces = (seg.length + 7) / 8;
        Decoder d = new Decoder();
        int reassembled = 0;
        long t0 = System.nanoTime();
        for (int pass = 0; pass < 2; pass++) {
            for (int i = pass; i < pieces; i += 2) {
                byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 8 * i, i < pieces - 1, bytes(),
                        Arrays.copyOfRange(seg, 8 * i, Math.min(seg.length, 8 * i + 8))));
                Packet k = d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
                assertEquals(0, k.events(), "decode events");
                if (k.reassembled()) {
                    reassembled++;
                    assertArrayEquals(payload, Arrays.copyOfRange(k.data(), k.payloadOffset(), k.payloadOffset() + payload.length));
                }
            }
        }
        assertEquals(1, reassembled);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "8,191 fragments in under 2 s");
    }

    /**
     * Many datagrams at once (between the same hosts, ids apart or alike, so their keys collide in
     * the table's index), each cut at random, all their pieces interleaved in one random order:
     * each is reassembled into its own bytes when its last piece arrives, and the table is empty
     * afterwards, its bytes all given back.
     */
    @Property(tries = 100)
    void manyDatagramsInterleavedAreEachReassembledAndTheTableEmpties(
            @ForAll @IntRange(min = 1, max = 300) int datagrams,
            @ForAll @IntRange(min = 1, max = 3000) int maxLength,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[][] payloads = new byte[datagrams][];
        byte[][] segs = new byte[datagrams][];
        List<int[]> pieces = new ArrayList<>(); // {datagram, from, to}
        int[] count = new int[datagrams];
        for (int g = 0; g < datagrams; g++) {
            payloads[g] = new byte[1 + r.nextInt(maxLength)];
            r.nextBytes(payloads[g]);
            segs[g] = udp(5353, 9999, payloads[g]);
            for (int at = 0; at < segs[g].length; ) {
                int n = Math.min(segs[g].length - at, 8 * (1 + r.nextInt(40)));
                pieces.add(new int[] {g, at, at + n});
                count[g]++;
                at += n;
            }
        }
        Collections.shuffle(pieces, r);
        Decoder d = new Decoder();
        int[] seen = new int[datagrams];
        int reassembled = 0;
        for (int[] p : pieces) {
            int g = p[0];
            // Ids 0..datagrams-1, every other one from a second sender: same hash buckets often.
            String src = g % 2 == 0 ? "10.0.0.1" : "10.0.0.3";
            byte[] f = ethernet(0x0800, ipv4(UDP, src, "10.0.0.2", g / 2, p[1], p[2] < segs[g].length, bytes(),
                    Arrays.copyOfRange(segs[g], p[1], p[2])));
            Packet k = d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
            assertEquals(0, k.events(), "decode events");
            seen[g]++;
            if (count[g] == 1) {
                assertEquals(payloads[g].length, k.payloadLength(), "not a fragment: a datagram of its own");
                continue;
            }
            assertEquals(seen[g] == count[g], k.reassembled(), "datagram " + g + " piece " + seen[g] + " of " + count[g]);
            if (k.reassembled()) {
                reassembled++;
                assertArrayEquals(payloads[g], Arrays.copyOfRange(k.data(), k.payloadOffset(),
                        k.payloadOffset() + payloads[g].length));
            }
        }
        assertEquals(java.util.stream.IntStream.of(count).filter(c -> c > 1).count(), reassembled);
        assertEquals(0, d.fragmentsHeld(), "nothing left in reassembly");
    }
}
