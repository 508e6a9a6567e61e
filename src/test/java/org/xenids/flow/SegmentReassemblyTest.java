package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;

/**
 * A direction's bytes put back in order as its receiver takes them: segments out of order and
 * again, overlaps (the first bytes win, other bytes are reported), holes the window or the buffer
 * gives up on and bytes acknowledged that never came by (gaps), all within the stream depth.
 */
class SegmentReassemblyTest {
    static final String C = FlowTableTest.C, SV = FlowTableTest.SV;

    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();

    Pipeline pipeline(FlowConfig cfg) {
        return new Pipeline(new Decoder(), new FlowTable(cfg, rec));
    }

    @Test
    void aSegmentPastTheWindowGivesUpTheHoleAndWhatItCoversIsForgotten() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 1 + 62_000, 0, ACK, "B".repeat(1000));  // held, out of order
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 1 + 60_000, 0, ACK, "A".repeat(10_000)); // 70,000 past nextSeq
        assertEquals(List.of("ts@0+60000"), rec.gaps);
        StringBuilder want = new StringBuilder("A".repeat(10_000));
        // Then 70,000 bytes in order: the window wraps past where the B's were held.
        for (int at = 70_000; at < 140_000; at += 1000) {
            String d = String.valueOf((char) ('a' + (at / 1000) % 26)).repeat(1000);
            FlowTableTest.tcp(p, 4, C, 40000, SV, 80, 1 + at, 0, ACK, d);
            want.append(d);
        }
        assertEquals(want.toString(), rec.ts());
        assertEquals(List.of("ts@0+60000"), rec.gaps);
        assertEquals(0, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void outOfOrderSegmentsAreDeliveredInOrderAndRetransmissionsOnce() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 7, 0, ACK, "world");   // ahead: waits
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 12, 0, ACK, "!");     // further ahead
        assertEquals("", rec.ts());
        FlowTableTest.tcp(p, 4, C, 40000, SV, 80, 1, 0, ACK, "hello ");  // fills the hole
        assertEquals("hello world!", rec.ts());
        FlowTableTest.tcp(p, 5, C, 40000, SV, 80, 1, 0, ACK, "hello ");  // retransmission
        assertEquals("hello world!", rec.ts());
        Flow f = p.lastFlow();
        assertEquals(2, f.segmentsOutOfOrder(true));
        assertEquals(6, f.retransmittedBytes(true));
        assertEquals(0, f.overlapDifferentBytes(true));
    }

    @Test
    void overlappingSegmentWithOtherBytesIsCountedAndFirstBytesWin() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 5, 0, ACK, "EFGH");
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 3, 0, ACK, "CDxxGHIJ"); // overlaps EF with xx
        FlowTableTest.tcp(p, 4, C, 40000, SV, 80, 1, 0, ACK, "AB");
        assertEquals("ABCDEFGHIJ", rec.ts());
        assertEquals(2, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void aHoleLeftAtTheEndIsReportedAsAGapAndTheRestDelivered() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 1, 0, ACK, "abc");
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 10, 0, ACK, "xyz");
        p.finish();
        assertEquals("abcxyz", rec.ts());
        assertEquals(List.of("ts@3+6"), rec.gaps);
        assertEquals(1, p.table().gaps());
        assertEquals(6, p.table().gapBytes());
    }

    @Test
    void aSegmentBeyondTheBufferSkipsTheHoleInsteadOfGrowingMemory() {
        Pipeline p = pipeline(FlowConfig.defaults().withBuffers(1024, 1 << 20));
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 101, 0, ACK, "b");
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 5001, 0, ACK, "c");
        assertEquals("bc", rec.ts());
        assertEquals(List.of("ts@0+100", "ts@101+4899"), rec.gaps);
    }

    @Test
    void aSegmentReachingPastTheDepthHoldsOnlyWhatIsInsideItSoTheHoleBeforeItIsKept() {
        // Window and depth 64 KiB: a 100-byte hole, then one segment of 65,495 bytes after it. Whole,
        // it would not fit the window and the hole would be given up; the target takes both.
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(1 << 16));
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        String big = "b".repeat(65495);
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 101, 0, ACK, big);
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 1, 0, ACK, "a".repeat(100));
        assertEquals(List.of(), rec.gaps);
        assertEquals("a".repeat(100) + "b".repeat((1 << 16) - 100), rec.ts());
        assertEquals(65495 + 100 - (1 << 16), p.lastFlow().bytesPastDepth(true));
    }

    @Test
    void aSegmentOverlappingHeldBytesWithOthersIsReportedAndTheHeldOnesAreKept() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, C, 40000, SV, 80, 11, 0, ACK, "xxxxxxxxxx"); // [10, 20), a hole before it
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 11, 0, ACK, "xxxxxxxxxx"); // a retransmission: the same bytes
        assertEquals(List.of(), rec.differing);
        FlowTableTest.tcp(p, 4, C, 40000, SV, 80, 6, 0, ACK, "yyyyyyyyyyyyyyyyyyyy"); // [5, 25) over it, other bytes
        assertEquals(List.of("ts@5:10"), rec.differing);
        FlowTableTest.tcp(p, 5, C, 40000, SV, 80, 1, 0, ACK, "aaaaa");
        assertEquals("aaaaayyyyyxxxxxxxxxxyyyyy", rec.ts());
        assertEquals(10, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void bytesTheReceiverAcknowledgedThatNeverCameByAreAGapWhenTheFlowEnds() {
        Pipeline p = pipeline(FlowConfig.defaults());
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 1, 501, ACK, "");
        // The request, [1, 101), is lost by the capture; the server acknowledges it and answers.
        FlowTableTest.tcp(p, 4, SV, 80, C, 40000, 501, 101, ACK | PSH, "ok");
        FlowTableTest.tcp(p, 5, C, 40000, SV, 80, 101, 503, ACK | FIN, "");
        FlowTableTest.tcp(p, 6, SV, 80, C, 40000, 503, 102, ACK | FIN, ""); // acknowledges the FIN: a number, no byte
        FlowTableTest.tcp(p, 7, C, 40000, SV, 80, 102, 504, ACK, "");
        assertEquals(List.of(), rec.gaps, "the lost bytes might still come while the flow lives");
        p.finish();
        assertEquals(List.of("ts@0+100"), rec.gaps);
        assertEquals("ok", rec.toClient.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void anAcknowledgementPastTheDepthIsNoGapBeyondIt() {
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4));
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        FlowTableTest.tcp(p, 3, C, 40000, SV, 80, 1, 501, ACK, "ab");
        FlowTableTest.tcp(p, 4, SV, 80, C, 40000, 501, 1001, ACK, ""); // 998 bytes after "ab" never came by
        p.finish();
        assertEquals(List.of("ts@2+2"), rec.gaps, "up to the depth only");
    }
}
