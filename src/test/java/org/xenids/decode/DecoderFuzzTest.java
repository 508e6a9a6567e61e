package org.xenids.decode;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;

/**
 * Hostile frames never make the decoder or the flow table throw, loop, or point outside the
 * bytes they were given. In the normal build these run once over the committed inputs in
 * {@code DecoderFuzzTestInputs/}; with {@code JAZZER_FUZZ=1} Jazzer mutates them.
 * Input format: byte 0 selects the link type; the rest is one frame ({@link #decoder}) or a
 * sequence of frames each preceded by a 2-byte big-endian length ({@link #pipeline}).
 */
class DecoderFuzzTest {
    static final int[] LINKS = {Decoder.LINKTYPE_ETHERNET, Decoder.LINKTYPE_RAW, Decoder.LINKTYPE_LINUX_SLL,
        Decoder.LINKTYPE_LINUX_SLL2, Decoder.LINKTYPE_NULL, Decoder.LINKTYPE_LOOP, Decoder.LINKTYPE_IPV4,
        Decoder.LINKTYPE_IPV6};

    @FuzzTest(maxDuration = "5m")
    void decoder(byte[] data) {
        if (data.length < 1) return;
        Decoder d = new Decoder(4, 1_000_000_000L);
        Packet p = d.decode(data, 1, data.length - 1, 0, LINKS[(data[0] & 0xFF) % LINKS.length]);
        checkBounds(p);
    }

    @FuzzTest(maxDuration = "5m")
    void pipeline(byte[] data) {
        if (data.length < 1) return;
        int link = LINKS[(data[0] & 0xFF) % LINKS.length];
        // Unlimited, smaller than the window (which then shrinks to 1 KiB), or larger than it.
        long depth = new long[] {-1, 700, 1500}[(data[0] & 0xFF) / LINKS.length % 3];
        FlowConfig.SplitPolicy split = FlowConfig.SplitPolicy.values()[(data[0] & 0xFF) / LINKS.length / 3 % 3];
        StreamListener check = new StreamListener() {
            @Override
            public void payload(org.xenids.flow.Flow f, boolean ts, byte[] b, int off, int len, long so) {
                assertTrue(off >= 0 && len > 0 && off + len <= b.length && so >= 0, "payload slice in bounds");
                assertTrue(depth < 0 || f.protocol() != 6 || so + len <= depth, "nothing of a TCP stream past the depth");
            }

            @Override
            public void gap(org.xenids.flow.Flow f, boolean ts, long so, long len) {
                assertTrue(len > 0 && so >= 0, "gap positive");
            }

            @Override
            public void overlapDiffers(org.xenids.flow.Flow f, boolean ts, long so, long bytes) {
                assertTrue(bytes > 0 && so >= 0 && (depth < 0 || so < depth), "differing bytes inside the depth");
            }
        };
        // Small limits so eviction, buffer exhaustion and fragment-table pressure are reached.
        FlowConfig cfg = FlowConfig.defaults().withMaxFlows(4).withBuffers(1024, 4096).withDepth(depth).withSplit(split)
                .withTimeouts(2_000, 4_000, 1_000);
        Pipeline pipe = new Pipeline(new Decoder(2, 5_000), new org.xenids.flow.FlowTable(cfg, check));
        int pos = 1;
        long ts = 0;
        while (pos + 2 <= data.length) {
            int len = Math.min(((data[pos] & 0xFF) << 8) | (data[pos + 1] & 0xFF), data.length - pos - 2);
            // Frames of up to four reassembly owners, some with their TCP/UDP checksums checked.
            Packet p = pipe.frame(data, pos + 2, len, ts, link, (pos & 4) != 0, pos & 3);
            checkBounds(p);
            pos += 2 + len;
            ts += 700;
        }
        pipe.finish();
        assertTrue(pipe.table().liveFlows() == 0);
    }

    static void checkBounds(Packet p) {
        byte[] b = p.data();
        assertTrue(p.l3Offset() >= 0 && p.l3Offset() + p.l3Length() <= b.length, "l3 in bounds");
        if (p.l4Length() > 0) {
            assertTrue(p.l4Offset() >= p.l3Offset() && p.l4Offset() + p.l4Length() <= p.l3Offset() + p.l3Length(), "l4 within l3");
            assertTrue(p.payloadOffset() >= p.l4Offset() && p.payloadLength() >= 0
                    && p.payloadOffset() + p.payloadLength() <= p.l4Offset() + p.l4Length(), "payload within l4");
        }
    }
}
