package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.ACK;
import static org.xenids.testdata.PacketBuilder.SYN;
import static org.xenids.testdata.PacketBuilder.tcpFrame;
import static org.xenids.testdata.PacketBuilder.tcpUrgentFrame;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.xenids.decode.Decoder;

/**
 * A stream direction cut into segments at random, sent with segments moved up to a few places
 * out of order, some sent twice and some re-sent with other boundaries (the same bytes), from any
 * initial sequence number (across 2^32 and 2^31 included): the listener gets exactly the stream's bytes,
 * in order, once, with no gap and no overlap counted as different. What a sender's (or an
 * evader's) segmentation does must not change what the detector sees.
 */
class ReassemblyPropertyTest {
    static final String C = "203.0.113.5", SV = "10.0.0.11";

    @Property(tries = 300)
    void anySegmentationAndReorderingWithinAWindowDeliversTheStreamOnce(
            @ForAll @IntRange(min = 1, max = 30_000) int length,
            @ForAll @IntRange(min = 1, max = 1460) int maxSegment,
            @ForAll @IntRange(min = 0, max = 8) int window,
            @ForAll @IntRange(min = 0, max = 2) int where,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[] data = new byte[length];
        r.nextBytes(data);
        // Anywhere, or just before 2^32 (where sequence numbers wrap) or 2^31 (where a signed
        // comparison of them would).
        int before = r.nextInt(length + 1);
        int isn = where == 0 ? r.nextInt() : where == 1 ? -1 - before : Integer.MAX_VALUE - before;
        List<int[]> segs = cut(r, length, maxSegment);
        // Moved up to `window` places, some sent twice, some re-sent spanning a neighbour's bytes.
        moveWithin(segs, window, r);
        List<int[]> sent = new ArrayList<>();
        for (int[] s : segs) {
            sent.add(s);
            int k = r.nextInt(10);
            if (k == 0) {
                sent.add(s);
            } else if (k == 1) {
                sent.add(new int[] {Math.max(0, s[0] - r.nextInt(100)), Math.min(length, s[1] + r.nextInt(100))});
            }
        }
        FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
        Pipeline p = send(FlowConfig.defaults(), rec, isn, data, sent);
        Flow f = p.lastFlow();
        assertEquals(0, f.overlapDifferentBytes(true), "the same bytes re-sent are no conflict");
        assertEquals(List.of(), rec.gaps);
        assertEquals(length, rec.toServer.size(), "delivered bytes");
        assertEquals(Arrays.toString(data), Arrays.toString(rec.toServer.toByteArray()));
        p.finish();
        assertEquals(List.of(), rec.gaps, "no gap at the end either");
    }

    /** A stream of {@code length} bytes cut at random into segments [from, to) of 1 to {@code maxSegment} bytes. */
    static List<int[]> cut(Random r, int length, int maxSegment) {
        List<int[]> segs = new ArrayList<>();
        for (int at = 0; at < length; ) {
            int n = Math.min(length - at, 1 + r.nextInt(maxSegment));
            segs.add(new int[] {at, at + n});
            at += n;
        }
        return segs;
    }

    /** Moves each segment up to {@code window} places later, at random. */
    static void moveWithin(List<int[]> segs, int window, Random r) {
        for (int i = 0; i < segs.size() && window > 0; i++) {
            int j = Math.min(segs.size() - 1, i + r.nextInt(window + 1));
            int[] t = segs.get(i);
            segs.set(i, segs.get(j));
            segs.set(j, t);
        }
    }

    /** A SYN from {@code isn}, then segments {@code [from, to)} of {@code data} in the order given, into a new table. */
    static Pipeline send(FlowConfig cfg, FlowTableTest.Recorder rec, int isn, byte[] data, List<int[]> segments) {
        Pipeline p = new Pipeline(new Decoder(), new FlowTable(cfg, rec));
        byte[] syn = tcpFrame(C, 40000, SV, 80, isn, 0, SYN, new byte[0]);
        p.frame(syn, 0, syn.length, 1, Decoder.LINKTYPE_ETHERNET);
        long ts = 2;
        for (int[] s : segments) {
            byte[] f = tcpFrame(C, 40000, SV, 80, isn + 1 + s[0], 0, ACK, Arrays.copyOfRange(data, s[0], s[1]));
            p.frame(f, 0, f.length, ts++, Decoder.LINKTYPE_ETHERNET);
        }
        return p;
    }

    /**
     * With a depth, any order at all: every segment of the stream (some twice) in a random
     * permutation. Nothing past the depth is held, so the window (the depth's size) never
     * overflows and the stream's first {@code depth} bytes are delivered whole, once, with no gap,
     * whichever segments came first: a sender cannot have the bytes that are scored given up.
     */
    @Property(tries = 200)
    void withADepthAnyOrderDeliversTheFirstBytesWithNoGap(@ForAll @IntRange(min = 1, max = 30_000) int length,
                                                           @ForAll @IntRange(min = 1, max = 1460) int maxSegment,
                                                           @ForAll @IntRange(min = 10, max = 14) int log2,
                                                           @ForAll @IntRange(min = 0, max = 1500) int below,
                                                           @ForAll long seed) {
        // Just below a power of two: the window is then that power, and a segment across the depth
        // reaches past the window unless only its bytes inside the depth are held.
        int depth = Math.max(1, (1 << log2) - below);
        Random r = new Random(seed);
        byte[] data = new byte[length];
        r.nextBytes(data);
        int isn = r.nextInt();
        List<int[]> segs = new ArrayList<>();
        for (int at = 0; at < length; ) {
            int n = Math.min(length - at, 1 + r.nextInt(maxSegment));
            segs.add(new int[] {at, at + n});
            if (r.nextInt(10) == 0) {
                segs.add(new int[] {at, at + n});
            }
            at += n;
        }
        java.util.Collections.shuffle(segs, r);
        FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
        Pipeline p = send(FlowConfig.defaults().withDepth(depth), rec, isn, data, segs);
        byte[] expected = Arrays.copyOf(data, Math.min(length, depth));
        assertEquals(List.of(), rec.gaps);
        assertEquals(Arrays.toString(expected), Arrays.toString(rec.toServer.toByteArray()));
        p.finish();
        assertEquals(List.of(), rec.gaps, "no gap at the end either");
    }

    /**
     * With a depth, every segment in a random order, some twice, one of them twice with one byte
     * changed in its second copy, some marked urgent; now and then the receiver acknowledges the
     * bytes it has in order. Bytes are compared as sent, whether or not an urgent one is delivered.
     * Copies with the same bytes are never reported. The changed byte is reported exactly once,
     * as one byte, when its byte is inside the depth and was not acknowledged before the later of
     * its two copies came (once acknowledged, a copy is old to Linux and dropped unread).
     */
    @Property(tries = 200)
    void aChangedCopyOfUnacknowledgedBytesIsReportedOnceAndIdenticalCopiesNever(
            @ForAll @IntRange(min = 1, max = 6000) int length,
            @ForAll @IntRange(min = 1, max = 1460) int maxSegment,
            @ForAll @IntRange(min = 64, max = 4096) int depth,
            @ForAll @IntRange(min = 0, max = 4) int ackEvery,
            @ForAll boolean acrossTheWrap,
            @ForAll boolean urgent,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[] data = new byte[length];
        r.nextBytes(data);
        int isn = acrossTheWrap ? -1 - r.nextInt(length + 1) : r.nextInt(); // sequence numbers cross 2^32
        List<int[]> segs = cut(r, length, maxSegment);
        int changed = r.nextInt(segs.size());
        int[] victim = segs.get(changed);
        int at = victim[0] + r.nextInt(victim[1] - victim[0]);
        List<int[]> sent = new ArrayList<>(segs);
        for (int[] s : segs) {
            if (s != victim && r.nextInt(5) == 0) {
                sent.add(s);
            }
        }
        int[] copy = {victim[0], victim[1], 1}; // [2]: the changed one
        sent.add(copy);
        java.util.Collections.shuffle(sent, r);

        FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
        Pipeline p = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults().withDepth(depth), rec));
        byte[] syn = tcpFrame(C, 40000, SV, 80, isn, 0, SYN, new byte[0]);
        p.frame(syn, 0, syn.length, 1, Decoder.LINKTYPE_ETHERNET);
        boolean[] have = new boolean[length];
        int prefix = 0, acked = 0, copiesOfAt = 0;
        boolean expected = false;
        for (int[] s : sent) {
            byte[] bytes = Arrays.copyOfRange(data, s[0], s[1]);
            if (s.length == 3) {
                bytes[at - s[0]] ^= 0x5a;
            }
            if (s[0] <= at && at < s[1] && (s == victim || s == copy) && ++copiesOfAt == 2) {
                expected = at < depth && at >= acked; // the later of the two copies
            }
            byte[] f = urgent && r.nextInt(4) == 0
                    ? tcpUrgentFrame(C, 40000, SV, 80, isn + 1 + s[0], 0, ACK, 1 + r.nextInt(bytes.length), bytes)
                    : tcpFrame(C, 40000, SV, 80, isn + 1 + s[0], 0, ACK, bytes);
            p.frame(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET);
            for (int i = s[0]; i < s[1]; i++) {
                have[i] = true;
            }
            while (prefix < length && have[prefix]) {
                prefix++;
            }
            if (ackEvery > 0 && r.nextInt(ackEvery) == 0) {
                acked = prefix;
                byte[] a = tcpFrame(SV, 80, C, 40000, 500, isn + 1 + acked, ACK, new byte[0]);
                p.frame(a, 0, a.length, 2, Decoder.LINKTYPE_ETHERNET);
            }
        }
        Flow f = p.lastFlow();
        assertEquals(expected ? 1 : 0, f.overlapDifferentBytes(true), "byte " + at + ", acknowledged to " + acked);
        assertEquals(expected ? 1 : 0, rec.differing.size(), rec.differing.toString());
        assertEquals(List.of(), rec.gaps);
    }

    /**
     * Every other small segment first, then the rest (hundreds of holes at once, all within the
     * out-of-order window): an evader's way past a reassembler that keeps a short list of runs,
     * while the target's TCP stack takes it. Delivered whole, once, with no gap.
     */
    @Property(tries = 30)
    void everyOtherSegmentFirstLeavesNoGap(@ForAll @IntRange(min = 1, max = 64) int segment,
                                           @ForAll @IntRange(min = 40, max = 600) int segments,
                                           @ForAll long seed) {
        int length = Math.min(segment * segments, 60_000);
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
        Pipeline p = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), rec));
        int isn = new Random(seed).nextInt();
        byte[] syn = tcpFrame(C, 40000, SV, 80, isn, 0, SYN, new byte[0]);
        p.frame(syn, 0, syn.length, 1, Decoder.LINKTYPE_ETHERNET);
        for (int pass = 1; pass >= 0; pass--) {
            for (int at = pass * segment; at < length; at += 2 * segment) {
                byte[] f = tcpFrame(C, 40000, SV, 80, isn + 1 + at, 0, ACK, Arrays.copyOfRange(data, at, Math.min(length, at + segment)));
                p.frame(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET);
            }
        }
        assertEquals(List.of(), rec.gaps);
        assertEquals(Arrays.toString(data), Arrays.toString(rec.toServer.toByteArray()));
    }
}
