package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
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
 * Urgent pointers anywhere (any segment, pointing anywhere up to the 16-bit field's reach) on a
 * stream cut and reordered at random: every byte of the stream is either delivered once at its
 * offset or reported as the urgent byte taken out there, never both, never neither; at most one
 * urgent byte per pointer; and left in line, the stream is delivered whole with the same bytes
 * reported. A sender's urgent pointers can take bytes out of the stream, never shift or hide others.
 */
class UrgentPropertyTest {
    static final String C = "203.0.113.5", SV = "10.0.0.11";

    /** Each byte offset: its delivered value (0..255), −1 never seen; urgent offsets reported. */
    static final class Seen implements StreamListener {
        final int[] value;
        final List<Long> urgent = new ArrayList<>();
        final List<String> problems = new ArrayList<>();

        Seen(int length) {
            value = new int[length];
            Arrays.fill(value, -1);
        }

        @Override
        public void payload(Flow f, boolean toServer, byte[] b, int off, int len, long streamOffset) {
            for (int i = 0; i < len; i++) {
                long at = streamOffset + i;
                if (at >= value.length || value[(int) at] != -1) {
                    problems.add("byte " + at + " delivered twice or past the end");
                    continue;
                }
                value[(int) at] = b[off + i] & 0xff;
            }
        }

        @Override
        public void gap(Flow f, boolean toServer, long streamOffset, long length) {
            problems.add("gap at " + streamOffset);
        }

        @Override
        public void urgentByte(Flow f, boolean toServer, long streamOffset, boolean outOfBand) {
            urgent.add(streamOffset);
        }
    }

    @Property(tries = 300)
    void urgentPointersTakeOutOnlyTheBytesReportedAndShiftNothing(
            @ForAll @IntRange(min = 1, max = 6_000) int length,
            @ForAll @IntRange(min = 1, max = 700) int maxSegment,
            @ForAll @IntRange(min = 0, max = 6) int window,
            @ForAll @IntRange(min = 1, max = 8) int urgentOneIn,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[] data = new byte[length];
        r.nextBytes(data);
        int isn = r.nextInt();
        List<int[]> segs = new ArrayList<>(); // [from, to, urgent pointer or -1]
        for (int[] g : ReassemblyPropertyTest.cut(r, length, maxSegment)) {
            int n = g[1] - g[0];
            int ptr = r.nextInt(urgentOneIn) == 0 ? (r.nextInt(4) == 0 ? r.nextInt(65536) : r.nextInt(2 * n + 2)) : -1;
            segs.add(new int[] {g[0], g[1], ptr});
            if (r.nextInt(8) == 0) {
                segs.add(new int[] {g[0], g[1], r.nextBoolean() ? ptr : -1}); // again, marked or not
            }
        }
        ReassemblyPropertyTest.moveWithin(segs, window, r);
        long pointers = segs.stream().filter(s -> s[2] >= 0).count();

        // Independently of the rules for later pointers: in order, the first pointer, if its
        // segment is new and it marks a byte of that segment (the one before seq + pointer), has
        // nothing pending to lose to, so that byte is urgent.
        long expected = -1;
        for (int i = 0, seen = 0; window == 0 && i < segs.size(); i++) {
            int[] g = segs.get(i);
            boolean fresh = g[0] >= seen;
            seen = Math.max(seen, g[1]);
            if (g[2] >= 0) {
                expected = fresh && g[2] >= 1 && g[2] <= g[1] - g[0] ? g[0] + g[2] - 1 : -1;
                break;
            }
        }

        Seen out = run(FlowConfig.defaults(), isn, data, segs);
        assertEquals(List.of(), out.problems);
        assertTrue(expected < 0 || out.urgent.contains(expected), "byte " + expected + " is urgent: " + out.urgent);
        assertTrue(out.urgent.size() <= pointers, out.urgent.size() + " urgent bytes for " + pointers + " pointers");
        assertEquals(out.urgent.size(), out.urgent.stream().distinct().count(), "each urgent byte reported once");
        for (int i = 0; i < length; i++) {
            boolean urgent = out.urgent.contains((long) i);
            if (urgent) {
                assertEquals(-1, out.value[i], "urgent byte " + i + " also delivered");
            } else {
                assertEquals(data[i] & 0xff, out.value[i], "byte " + i);
            }
        }

        Seen inline = run(FlowConfig.defaults().withUrgent(FlowConfig.UrgentPolicy.INLINE), isn, data, segs);
        assertEquals(List.of(), inline.problems);
        assertEquals(out.urgent, inline.urgent, "the same urgent bytes either way");
        for (int i = 0; i < length; i++) {
            assertEquals(data[i] & 0xff, inline.value[i], "in line, byte " + i);
        }
    }

    private static Seen run(FlowConfig cfg, int isn, byte[] data, List<int[]> segs) {
        Seen s = new Seen(data.length);
        Pipeline p = new Pipeline(new Decoder(), new FlowTable(cfg, s));
        byte[] syn = tcpFrame(C, 40000, SV, 80, isn, 0, SYN, new byte[0]);
        p.frame(syn, 0, syn.length, 1, Decoder.LINKTYPE_ETHERNET);
        long ts = 2;
        for (int[] g : segs) {
            byte[] payload = Arrays.copyOfRange(data, g[0], g[1]);
            byte[] f = g[2] < 0 ? tcpFrame(C, 40000, SV, 80, isn + 1 + g[0], 0, ACK, payload)
                    : tcpUrgentFrame(C, 40000, SV, 80, isn + 1 + g[0], 0, ACK, g[2], payload);
            p.frame(f, 0, f.length, ts++, Decoder.LINKTYPE_ETHERNET);
        }
        p.finish();
        return s;
    }
}
