package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Decoder;

class FlowTableTest {
    static final long S = 1_000_000_000L;
    static final String C = "203.0.113.5", SV = "10.0.0.11";

    /** Records what the table hands to its listener. */
    static final class Recorder implements StreamListener {
        final List<String> ended = new ArrayList<>();
        final ByteArrayOutputStream toServer = new ByteArrayOutputStream(), toClient = new ByteArrayOutputStream();
        final List<String> gaps = new ArrayList<>();
        final List<String> differing = new ArrayList<>(), notCompared = new ArrayList<>();
        /** Packets refused, as "ts EVENT"; urgent bytes, as "ts@OFFSET out|in"; client payload offsets. */
        final List<String> refused = new ArrayList<>(), urgent = new ArrayList<>();
        final List<Long> offsets = new ArrayList<>();
        long lastOffset = -1;

        @Override
        public void payload(Flow f, boolean ts, byte[] b, int off, int len, long streamOffset) {
            (ts ? toServer : toClient).write(b, off, len);
            if (ts) offsets.add(streamOffset);
        }

        @Override
        public void refused(Flow f, boolean ts, String event) {
            refused.add((ts ? "ts " : "tc ") + event);
        }

        @Override
        public void urgentByte(Flow f, boolean ts, long streamOffset, boolean outOfBand) {
            urgent.add((ts ? "ts@" : "tc@") + streamOffset + (outOfBand ? " out" : " in"));
        }

        @Override
        public void gap(Flow f, boolean ts, long streamOffset, long length) {
            gaps.add((ts ? "ts" : "tc") + "@" + streamOffset + "+" + length);
        }

        @Override
        public void overlapDiffers(Flow f, boolean ts, long streamOffset, long bytes) {
            differing.add((ts ? "ts" : "tc") + "@" + streamOffset + ":" + bytes);
        }

        @Override
        public void copyNotCompared(Flow f, boolean ts, long streamOffset, long bytes) {
            notCompared.add((ts ? "ts" : "tc") + "@" + streamOffset + ":" + bytes);
        }

        @Override
        public void flowEnd(Flow f) {
            ended.add(f.id() + ":" + f.endReason() + ":" + f.packetsToServer() + "/" + f.packetsToClient() + ":" + f.tcpStateName());
        }

        String ts() { return toServer.toString(StandardCharsets.ISO_8859_1); }
    }

    final Recorder rec = new Recorder();

    Pipeline pipeline(FlowConfig cfg) {
        return new Pipeline(new Decoder(), new FlowTable(cfg, rec));
    }

    static Flow tcp(Pipeline p, long ts, String src, int sp, String dst, int dp, int seq, int ack, int flags, String data) {
        byte[] f = tcpFrame(src, sp, dst, dp, seq, ack, flags, data.getBytes(StandardCharsets.ISO_8859_1));
        p.frame(f, 0, f.length, ts, Decoder.LINKTYPE_ETHERNET);
        return p.lastFlow();
    }

    @Test
    void handshakeDataAndFinsWalkTheTcpStates() {
        Pipeline p = pipeline(FlowConfig.defaults());
        Flow f = tcp(p, 1, C, 40000, SV, 80, 100, 0, SYN, "");
        assertEquals(Flow.TCP_SYN_SENT, f.tcpState());
        assertEquals("new", f.state());
        tcp(p, 2, SV, 80, C, 40000, 500, 101, SYN | ACK, "");
        assertEquals(Flow.TCP_SYN_RECV, f.tcpState());
        tcp(p, 3, C, 40000, SV, 80, 101, 501, ACK, "");
        assertEquals(Flow.TCP_ESTABLISHED, f.tcpState());
        tcp(p, 4, C, 40000, SV, 80, 101, 501, ACK | PSH, "GET / HTTP/1.0\r\n\r\n");
        tcp(p, 5, SV, 80, C, 40000, 501, 119, ACK | FIN, "");
        assertEquals(Flow.TCP_FIN_WAIT, f.tcpState());
        tcp(p, 6, C, 40000, SV, 80, 119, 502, ACK | FIN, "");
        assertEquals(Flow.TCP_CLOSED, f.tcpState());
        assertEquals(4, f.packetsToServer());
        assertEquals(2, f.packetsToClient());
        assertEquals(C, f.clientAddress());
        assertEquals(40000, f.clientPort());
        assertEquals(1, p.table().flowsCreated());
        assertEquals("GET / HTTP/1.0\r\n\r\n", rec.ts());
        p.finish();
        assertEquals(List.of("1:shutdown:4/2:closed"), rec.ended);
    }

    @Test
    void aSynAckSeenFirstMakesItsReceiverTheClient() {
        Pipeline p = pipeline(FlowConfig.defaults());
        Flow f = tcp(p, 1, SV, 80, C, 40000, 500, 101, SYN | ACK, "");
        assertEquals(C, f.clientAddress());
        assertEquals(80, f.serverPort());
        assertEquals(1, f.packetsToClient());
    }

    @Test
    void aRetransmittedSynStaysInItsFlowAndANewIsnStartsAnother() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 100, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 100, 0, SYN, "");
        assertEquals(1, p.table().flowsCreated());
        tcp(p, 3, C, 40000, SV, 80, 9000, 0, SYN, "");
        assertEquals(2, p.table().flowsCreated());
        assertEquals(1, p.table().flowsReused());
        assertEquals(List.of("1:tcp_reuse:2/0:syn_sent"), rec.ended);
    }

    @Test
    void afterClosePolicySplitsOnlyOnceFinOrRstWasSeen() {
        Pipeline p = pipeline(FlowConfig.defaults().withSplit(FlowConfig.SplitPolicy.AFTER_CLOSE));
        tcp(p, 1, C, 40000, SV, 80, 100, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 9000, 0, SYN, "");
        assertEquals(1, p.table().flowsCreated(), "a new ISN alone does not split under AFTER_CLOSE");
        tcp(p, 3, SV, 80, C, 40000, 0, 9001, RST | ACK, "");
        tcp(p, 4, C, 40000, SV, 80, 9000, 0, SYN, "");
        assertEquals(2, p.table().flowsCreated());
    }

    @Test
    void idleFlowsTimeOutAndALaterPacketStartsANewFlow() {
        FlowConfig cfg = FlowConfig.defaults().withTimeouts(10 * S, 20 * S, 5 * S);
        Pipeline p = pipeline(cfg);
        byte[] q = udpFrame(C, 5353, SV, 53, bytes(1, 2, 3));
        p.frame(q, 0, q.length, 0, Decoder.LINKTYPE_ETHERNET);
        p.frame(q, 0, q.length, 9 * S, Decoder.LINKTYPE_ETHERNET);
        assertEquals(1, p.table().flowsCreated());
        p.frame(q, 0, q.length, 20 * S, Decoder.LINKTYPE_ETHERNET);
        assertEquals(2, p.table().flowsCreated());
        assertEquals(1, p.table().flowsTimedOut());
        assertEquals("1:timeout:2/0:none", rec.ended.get(0));
        assertEquals(9, rec.toServer.size(), "every UDP payload is delivered, per direction");
    }

    @Test
    void aFullTableEvictsTheLeastRecentFlowAndCountsIt() {
        Pipeline p = pipeline(FlowConfig.defaults().withMaxFlows(2));
        for (int i = 0; i < 3; i++) {
            byte[] q = udpFrame(C, 1000 + i, SV, 53, bytes(i));
            p.frame(q, 0, q.length, i, Decoder.LINKTYPE_ETHERNET);
        }
        assertEquals(1, p.table().evictions());
        assertEquals(2, p.table().liveFlows());
        assertEquals(List.of("1:forced:1/0:none"), rec.ended);
    }

    /**
     * The bound on flows reserves nothing: a table allowed two billion flows starts as small as
     * any, and its pool and hash table grow with the flows seen, each still found afterwards.
     */
    @Test
    void theFlowBoundReservesNoMemoryAndTheTableGrowsWithTheFlowsSeen() {
        Pipeline p = pipeline(FlowConfig.defaults().withMaxFlows(2_000_000_000));
        assertEquals(FlowPool.INITIAL_FLOWS, p.table().capacity());
        int n = 5 * FlowPool.INITIAL_FLOWS + 7; // past several doublings of the pool and the buckets
        List<Flow> first = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] q = udpFrame(C, 1024 + i % 60000, "10.0." + (i / 60000) + ".1", 53, bytes(i));
            p.frame(q, 0, q.length, i, Decoder.LINKTYPE_ETHERNET);
            first.add(p.lastFlow());
        }
        assertEquals(n, p.table().flowsCreated());
        assertEquals(n, p.table().liveFlows());
        assertEquals(0, p.table().evictions());
        assertEquals(8 * FlowPool.INITIAL_FLOWS, p.table().capacity());
        for (int i = 0; i < n; i++) { // every flow is found again after the rehashes, from either side
            byte[] a = udpFrame("10.0." + (i / 60000) + ".1", 53, C, 1024 + i % 60000, bytes(i));
            p.frame(a, 0, a.length, n + i, Decoder.LINKTYPE_ETHERNET);
            assertTrue(first.get(i) == p.lastFlow(), "flow " + i);
            assertEquals(1, first.get(i).packetsToClient());
        }
        assertEquals(n, p.table().flowsCreated());
        p.finish();
        assertEquals(n, rec.ended.size());
    }

    /** A bound between two doublings is still exact: the pool stops at it and then evicts. */
    @Test
    void aBoundPastTheInitialPoolIsReachedExactlyThenEvicts() {
        int max = FlowPool.INITIAL_FLOWS * 3 + 5;
        Pipeline p = pipeline(FlowConfig.defaults().withMaxFlows(max));
        for (int i = 0; i < max + 10; i++) {
            byte[] q = udpFrame(C, 1024 + i, SV, 53, bytes(i));
            p.frame(q, 0, q.length, i, Decoder.LINKTYPE_ETHERNET);
        }
        assertEquals(max, p.table().capacity());
        assertEquals(max, p.table().liveFlows());
        assertEquals(10, p.table().evictions());
        assertEquals("1:forced:1/0:none", rec.ended.get(0));
        assertEquals(4096, FlowPool.bucketsFor(max));
        assertEquals(1 << 30, FlowPool.bucketsFor(Integer.MAX_VALUE));
        assertEquals(16, FlowPool.bucketsFor(1));
    }

    @Test
    void vlanIdsSeparateOtherwiseEqualFlows() {
        Pipeline p = pipeline(FlowConfig.defaults());
        byte[] ip = ipv4(UDP, C, SV, udp(1, 2, bytes(0)));
        byte[] a = ethernetTagged(new int[] {0x8100}, new int[] {10}, 0x0800, ip);
        byte[] b = ethernetTagged(new int[] {0x8100}, new int[] {20}, 0x0800, ip);
        p.frame(a, 0, a.length, 0, Decoder.LINKTYPE_ETHERNET);
        p.frame(b, 0, b.length, 0, Decoder.LINKTYPE_ETHERNET);
        assertEquals(2, p.table().flowsCreated());
        assertEquals(20, p.lastFlow().vlanOuter());
    }

    /**
     * A segment that cannot fit the 64 KiB window, with bytes held inside its own range: the hole
     * before it is given up (one gap), it is delivered over what was held, and what was held is
     * forgotten, so nothing of it comes back when the window wraps round to the same place.
     */
    @Test
    void aSegmentPastTheWindowGivesUpTheHoleAndWhatItCoversIsForgotten() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 1 + 62_000, 0, ACK, "B".repeat(1000));  // held, out of order
        tcp(p, 3, C, 40000, SV, 80, 1 + 60_000, 0, ACK, "A".repeat(10_000)); // 70,000 past nextSeq
        assertEquals(List.of("ts@0+60000"), rec.gaps);
        StringBuilder want = new StringBuilder("A".repeat(10_000));
        // Then 70,000 bytes in order: the window wraps past where the B's were held.
        for (int at = 70_000; at < 140_000; at += 1000) {
            String d = String.valueOf((char) ('a' + (at / 1000) % 26)).repeat(1000);
            tcp(p, 4, C, 40000, SV, 80, 1 + at, 0, ACK, d);
            want.append(d);
        }
        assertEquals(want.toString(), rec.ts());
        assertEquals(List.of("ts@0+60000"), rec.gaps);
        assertEquals(0, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void outOfOrderSegmentsAreDeliveredInOrderAndRetransmissionsOnce() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 7, 0, ACK, "world");   // ahead: waits
        tcp(p, 3, C, 40000, SV, 80, 12, 0, ACK, "!");     // further ahead
        assertEquals("", rec.ts());
        tcp(p, 4, C, 40000, SV, 80, 1, 0, ACK, "hello ");  // fills the hole
        assertEquals("hello world!", rec.ts());
        tcp(p, 5, C, 40000, SV, 80, 1, 0, ACK, "hello ");  // retransmission
        assertEquals("hello world!", rec.ts());
        Flow f = p.lastFlow();
        assertEquals(2, f.segmentsOutOfOrder(true));
        assertEquals(6, f.retransmittedBytes(true));
        assertEquals(0, f.overlapDifferentBytes(true));
    }

    @Test
    void overlappingSegmentWithOtherBytesIsCountedAndFirstBytesWin() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 5, 0, ACK, "EFGH");
        tcp(p, 3, C, 40000, SV, 80, 3, 0, ACK, "CDxxGHIJ"); // overlaps EF with xx
        tcp(p, 4, C, 40000, SV, 80, 1, 0, ACK, "AB");
        assertEquals("ABCDEFGHIJ", rec.ts());
        assertEquals(2, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void aHoleLeftAtTheEndIsReportedAsAGapAndTheRestDelivered() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 1, 0, ACK, "abc");
        tcp(p, 3, C, 40000, SV, 80, 10, 0, ACK, "xyz");
        p.finish();
        assertEquals("abcxyz", rec.ts());
        assertEquals(List.of("ts@3+6"), rec.gaps);
        assertEquals(1, p.table().gaps());
        assertEquals(6, p.table().gapBytes());
    }

    @Test
    void aSegmentBeyondTheBufferSkipsTheHoleInsteadOfGrowingMemory() {
        Pipeline p = pipeline(FlowConfig.defaults().withBuffers(1024, 1 << 20));
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 101, 0, ACK, "b");
        tcp(p, 3, C, 40000, SV, 80, 5001, 0, ACK, "c");
        assertEquals("bc", rec.ts());
        assertEquals(List.of("ts@0+100", "ts@101+4899"), rec.gaps);
    }

    @Test
    void aSegmentReachingPastTheDepthHoldsOnlyWhatIsInsideItSoTheHoleBeforeItIsKept() {
        // Window and depth 64 KiB: a 100-byte hole, then one segment of 65,495 bytes after it. Whole,
        // it would not fit the window and the hole would be given up; the target takes both.
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(1 << 16));
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        String big = "b".repeat(65495);
        tcp(p, 2, C, 40000, SV, 80, 101, 0, ACK, big);
        tcp(p, 3, C, 40000, SV, 80, 1, 0, ACK, "a".repeat(100));
        assertEquals(List.of(), rec.gaps);
        assertEquals("a".repeat(100) + "b".repeat((1 << 16) - 100), rec.ts());
        assertEquals(65495 + 100 - (1 << 16), p.lastFlow().bytesPastDepth(true));
    }

    @Test
    void aSegmentOverlappingHeldBytesWithOthersIsReportedAndTheHeldOnesAreKept() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 11, 0, ACK, "xxxxxxxxxx"); // [10, 20), a hole before it
        tcp(p, 3, C, 40000, SV, 80, 11, 0, ACK, "xxxxxxxxxx"); // a retransmission: the same bytes
        assertEquals(List.of(), rec.differing);
        tcp(p, 4, C, 40000, SV, 80, 6, 0, ACK, "yyyyyyyyyyyyyyyyyyyy"); // [5, 25) over it, other bytes
        assertEquals(List.of("ts@5:10"), rec.differing);
        tcp(p, 5, C, 40000, SV, 80, 1, 0, ACK, "aaaaa");
        assertEquals("aaaaayyyyyxxxxxxxxxxyyyyy", rec.ts());
        assertEquals(10, p.lastFlow().overlapDifferentBytes(true));
    }

    @Test
    void bytesTheReceiverAcknowledgedThatNeverCameByAreAGapWhenTheFlowEnds() {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        tcp(p, 3, C, 40000, SV, 80, 1, 501, ACK, "");
        // The request, [1, 101), is lost by the capture; the server acknowledges it and answers.
        tcp(p, 4, SV, 80, C, 40000, 501, 101, ACK | PSH, "ok");
        tcp(p, 5, C, 40000, SV, 80, 101, 503, ACK | FIN, "");
        tcp(p, 6, SV, 80, C, 40000, 503, 102, ACK | FIN, ""); // acknowledges the FIN: a number, no byte
        tcp(p, 7, C, 40000, SV, 80, 102, 504, ACK, "");
        assertEquals(List.of(), rec.gaps, "the lost bytes might still come while the flow lives");
        p.finish();
        assertEquals(List.of("ts@0+100"), rec.gaps);
        assertEquals("ok", rec.toClient.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void anAcknowledgementPastTheDepthIsNoGapBeyondIt() {
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4));
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        tcp(p, 3, C, 40000, SV, 80, 1, 501, ACK, "ab");
        tcp(p, 4, SV, 80, C, 40000, 501, 1001, ACK, ""); // 998 bytes after "ab" never came by
        p.finish();
        assertEquals(List.of("ts@2+2"), rec.gaps, "up to the depth only");
    }

    @Test
    void aPacketWithABadIpChecksumIsCountedButNeitherReassembledNorAllowedToEndItsFlow() {
        insertionByABrokenChecksum(14 + 10, false);
    }

    @Test
    void aSegmentFailingATcpChecksumItsReceiverChecksStandsInForNothing() {
        insertionByABrokenChecksum(14 + 20 + 16, true);
        // A UDP datagram that fails is not delivered either.
        rec.toServer.reset();
        Pipeline u = pipeline(FlowConfig.defaults().withDepth(4096));
        byte[] d = udpFrame(C, 5000, SV, 53, "decoy".getBytes(StandardCharsets.ISO_8859_1));
        d[d.length - 1] ^= 0x55;
        u.frame(d, 0, d.length, 1, Decoder.LINKTYPE_ETHERNET, true);
        assertEquals(1, u.table().receiverDroppedPackets());
        assertEquals("", rec.ts(), "nothing delivered");
    }

    /**
     * A decoy with the next bytes' sequence numbers, and a RST, both with the checksum at frame
     * offset {@code at} broken: the server's stack drops them, so they must not stand in for what
     * it takes. {@code receiverChecks}: the frames come with the flag that has TCP checksums checked.
     */
    private void insertionByABrokenChecksum(int at, boolean receiverChecks) {
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        byte[] decoy = tcpFrame(C, 40000, SV, 80, 1, 501, ACK, "GET / HTTP/1.1".getBytes(StandardCharsets.ISO_8859_1));
        decoy[at] ^= 0x55;
        p.frame(decoy, 0, decoy.length, 3, Decoder.LINKTYPE_ETHERNET, receiverChecks);
        byte[] rst = tcpFrame(C, 40000, SV, 80, 1, 501, RST, new byte[0]);
        rst[at] ^= 0x55;
        p.frame(rst, 0, rst.length, 4, Decoder.LINKTYPE_ETHERNET, receiverChecks);
        byte[] real = tcpFrame(C, 40000, SV, 80, 1, 501, ACK, "\u0090\u0090\u0090 attack".getBytes(StandardCharsets.ISO_8859_1));
        p.frame(real, 0, real.length, 5, Decoder.LINKTYPE_ETHERNET, receiverChecks);
        Flow f = p.lastFlow();
        assertEquals("\u0090\u0090\u0090 attack", rec.ts());
        assertEquals(4, f.packetsToServer(), "counted in the flow all the same");
        assertEquals(2, p.table().receiverDroppedPackets());
        assertEquals(Flow.TCP_ESTABLISHED, f.tcpState(), "the RST ended nothing");
    }

    @Test
    void aUdpDatagramWhoseLengthRunsPastItsPacketIsDeliveredNowhere() {
        // Linux drops it (__udp4_lib_rcv: a short packet); one whose length stops short of the
        // packet is cut to it, and delivered.
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4096));
        byte[] longer = udpFrame(C, 5000, SV, 53, "decoy".getBytes(StandardCharsets.ISO_8859_1));
        longer[14 + 20 + 5] += 4; // UDP length 4 past the packet
        p.frame(longer, 0, longer.length, 1, Decoder.LINKTYPE_ETHERNET);
        assertEquals("", rec.ts());
        assertEquals(1, p.table().receiverDroppedPackets());
        byte[] shorter = udpFrame(C, 5000, SV, 53, "real!xyz".getBytes(StandardCharsets.ISO_8859_1));
        shorter[14 + 20 + 5] -= 3;
        p.frame(shorter, 0, shorter.length, 2, Decoder.LINKTYPE_ETHERNET);
        assertEquals("real!", rec.ts());
    }

    @Test
    void aSegmentSentToABroadcastEthernetAddressStandsInForNothing() {
        // The bridge floods it to the guest, whose TCP takes segments for its own address only.
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        byte[] decoy = tcpFrame(C, 40000, SV, 80, 1, 501, ACK, "cover!".getBytes(StandardCharsets.ISO_8859_1));
        Arrays.fill(decoy, 0, 6, (byte) 0xFF);
        p.frame(decoy, 0, decoy.length, 3, Decoder.LINKTYPE_ETHERNET);
        tcp(p, 4, C, 40000, SV, 80, 1, 501, ACK, "attack");
        assertEquals("attack", rec.ts());
        assertEquals(1, p.decoder().count(DecodeEvent.TCP_LINK_GROUP_ADDRESS));
        assertEquals(1, p.table().receiverDroppedPackets());
    }

    @Test
    void aSegmentWhoseSignatureTheReceiverDoesNotExpectStandsInForNothing() {
        // TCP MD5 (RFC 2385): 16 bytes of digest, two no-ops to a 4-byte boundary.
        byte[] md5 = concat(bytes(19, 18), new byte[16], bytes(1, 1));
        byte[] none = bytes();
        for (boolean keyed : new boolean[] {false, true}) {
            Pipeline p = pipeline(FlowConfig.defaults());
            rec.toServer.reset();
            byte[] sig = keyed ? md5 : none, wrong = keyed ? none : md5;
            frame(p, 1, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 0, 0, SYN, sig, bytes()));
            frame(p, 2, SV, C, org.xenids.testdata.PacketBuilder.tcp(80, 40000, 500, 1, SYN | ACK, sig, bytes()));
            // A decoy signed as the server's socket does not expect (Linux drops it, as
            // unexpected or missing), then the real bytes at the same numbers, signed as it does.
            frame(p, 3, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 1, 501, ACK, wrong, "cover!".getBytes(StandardCharsets.ISO_8859_1)));
            frame(p, 4, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 1, 501, ACK, sig, "attack".getBytes(StandardCharsets.ISO_8859_1)));
            assertEquals("attack", rec.ts(), keyed ? "keyed" : "no key");
            assertEquals(1, p.table().receiverDroppedPackets());
        }
    }

    @Test
    void aSegmentWithAStaleTimestampItsReceiverDropsUnderPawsStandsInForNothing() {
        for (boolean negotiated : new boolean[] {true, false}) {
            Pipeline p = pipeline(FlowConfig.defaults());
            rec.toServer.reset();
            frame(p, 1, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 0, 0, SYN, ts(100, 0), bytes()));
            frame(p, 2, SV, C, org.xenids.testdata.PacketBuilder.tcp(80, 40000, 500, 1, SYN | ACK,
                    negotiated ? ts(5000, 100) : bytes(), bytes()));
            frame(p, 3, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 1, 501, ACK, ts(101, 5000), bytes()));
            // A decoy whose TSval is older than the one the server recorded (Linux drops it), then
            // the real bytes at the same numbers.
            frame(p, 4, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 1, 501, ACK, ts(50, 5000), ascii("cover!")));
            frame(p, 5, C, SV, org.xenids.testdata.PacketBuilder.tcp(40000, 80, 1, 501, ACK, ts(102, 5000), ascii("attack")));
            assertEquals(negotiated ? "attack" : "cover!", rec.ts(), negotiated ? "timestamps on" : "off: no PAWS");
            assertEquals(negotiated ? 1 : 0, p.table().receiverDroppedPackets());
        }
    }

    /** A timestamps option (RFC 7323) and two no-ops. */
    private static byte[] ts(int val, int ecr) {
        return bytes(1, 1, 8, 10, val >>> 24, val >>> 16, val >>> 8, val, ecr >>> 24, ecr >>> 16, ecr >>> 8, ecr);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static void frame(Pipeline p, long ts, String src, String dst, byte[] segment) {
        byte[] f = ethernet(0x0800, ipv4(TCP, src, dst, segment));
        p.frame(f, 0, f.length, ts, Decoder.LINKTYPE_ETHERNET);
    }

    @Test
    void underTheDetectionPolicyOnlyACloseTheReceiverActsOnLetsASynStartANewFlow() {
        FlowConfig cfg = FlowConfig.defaults().withDepth(4096).withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE);
        Pipeline p = pipeline(cfg);
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        tcp(p, 3, C, 40000, SV, 80, 1, 501, ACK, "");
        tcp(p, 4, C, 40000, SV, 80, 1, 501, ACK | FIN, "x"); // in order: the server's stack closes
        tcp(p, 5, C, 40000, SV, 80, 9999, 0, SYN, "");
        assertEquals(2, p.table().flowsCreated(), "a SYN after an in-order FIN is a new connection");
        // Past the depth nothing is held, and the FIN after the last byte seen is in order there.
        Pipeline q = pipeline(cfg);
        tcp(q, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(q, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        tcp(q, 3, C, 40000, SV, 80, 101, 501, ACK, "b".repeat(4900)); // [100, 5000), held up to the depth
        tcp(q, 4, C, 40000, SV, 80, 1, 501, ACK, "a".repeat(100));
        tcp(q, 5, C, 40000, SV, 80, 5001, 501, ACK | FIN, "");
        tcp(q, 6, C, 40000, SV, 80, 9999, 0, SYN, "");
        assertEquals(2, q.table().flowsCreated(), "a FIN just past the last byte seen, the depth reached");
        assertEquals(0, q.table().synsOnEstablished());
    }

    @Test
    void dataOnASynWaitsForTheSendersNextSegmentWhenNoAnswerIsSeen() {
        // No SYN-ACK in the capture: the sender's next segment tells. Sent again at the same
        // numbers, the SYN's data was not taken; going on after it, it was.
        Pipeline p = pipeline(FlowConfig.defaults());
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "abc");
        assertEquals("", rec.ts(), "held until it is known to be taken");
        Flow f = tcp(p, 2, C, 40000, SV, 80, 1, 0, ACK, "xyz");
        assertEquals("xyz", rec.ts());
        assertEquals(3, f.synDataDroppedBytes(true));
        tcp(p, 3, C, 40001, SV, 80, 0, 0, SYN, "abc");
        tcp(p, 4, C, 40001, SV, 80, 4, 0, ACK, "def");
        assertEquals("xyzabcdef", rec.ts());
        // Never answered at all: not delivered, counted.
        Flow never = tcp(p, 5, C, 40002, SV, 80, 0, 0, SYN, "ghi");
        p.finish();
        assertEquals("xyzabcdef", rec.ts());
        assertEquals(List.of(), rec.gaps);
        assertEquals(3, never.synDataDroppedBytes(true));
    }

    @Test
    void aSmallDepthBorrowsSmallWindowsSoTheSamePoolHoldsManyMoreStreams() {
        // Depth 4096: windows of 4 KiB and their 512-byte bitmaps. A pool of ten such windows is
        // smaller than one 64 KiB window, yet ten streams hold data out of order at once.
        assertEquals(4096, FlowTable.windowFor(4096, 1 << 16));
        assertEquals(8192, FlowTable.windowFor(4097, 1 << 16));
        assertEquals(1024, FlowTable.windowFor(1, 1 << 16));
        assertEquals(1 << 16, FlowTable.windowFor(-1, 1 << 16));
        assertEquals(1 << 16, FlowTable.windowFor(1 << 20, 1 << 16));
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4096).withBuffers(1 << 16, 10 * (4096 + 512)));
        for (int i = 0; i < 10; i++) {
            tcp(p, 1, C, 40000 + i, SV, 80, 0, 0, SYN, "");
            tcp(p, 2, C, 40000 + i, SV, 80, 3, 0, ACK, "cd");
        }
        for (int i = 0; i < 10; i++) {
            tcp(p, 3, C, 40000 + i, SV, 80, 1, 0, ACK, "ab");
        }
        assertEquals(List.of(), rec.gaps);
        assertEquals("abcd".repeat(10), rec.ts());
    }

    @Test
    void udpDatagramsAreDeliveredWholeWhateverTheDepth() {
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4));
        for (int i = 0; i < 3; i++) {
            byte[] q = udpFrame(C, 5353, SV, 53, bytes(1, 2, 3, 4, 5, 6));
            p.frame(q, 0, q.length, i, Decoder.LINKTYPE_ETHERNET);
        }
        assertEquals(18, rec.toServer.size(), "a datagram is a message of its own, never held");
        assertEquals(0, p.lastFlow().bytesPastDepth(true));
    }

    @Test
    void depthLimitsDeliveredBytesPerDirectionAndCountsTheRest() {
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(4));
        tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        tcp(p, 2, C, 40000, SV, 80, 1, 0, ACK, "abcdef");
        tcp(p, 3, C, 40000, SV, 80, 7, 0, ACK, "ghi");
        assertEquals("abcd", rec.ts());
        assertEquals(5, p.lastFlow().bytesPastDepth(true));
        assertEquals(4, p.lastFlow().payloadBytes(true));
    }

    @Test
    void nonIpAndUnfinishedFragmentsBelongToNoFlowAndAreCounted() {
        Pipeline p = pipeline(FlowConfig.defaults());
        byte[] arp = ethernet(0x0806, concat(bytes(0, 1, 8, 0, 6, 4, 0, 1), new byte[20]));
        p.frame(arp, 0, arp.length, 0, Decoder.LINKTYPE_ETHERNET);
        byte[] frag = ethernet(0x0800, ipv4(UDP, C, SV, 3, 0, true, bytes(), new byte[16]));
        p.frame(frag, 0, frag.length, 0, Decoder.LINKTYPE_ETHERNET);
        assertNull(p.lastFlow());
        assertEquals(2, p.table().packetsWithoutFlow());
        assertEquals(0, p.table().flowsCreated());
    }

    @Test
    void communityIdOfAFlowIsTheSameFromEitherSide() {
        Pipeline p = pipeline(FlowConfig.defaults());
        Flow f = tcp(p, 1, "128.232.110.120", 34855, "66.35.250.204", 80, 0, 0, SYN, "");
        assertNotNull(f);
        assertEquals("1:LQU9qZlK+B5F3KDmev6m5PMibrg=", f.communityId());
        Pipeline q = pipeline(FlowConfig.defaults());
        Flow g = tcp(q, 1, "66.35.250.204", 80, "128.232.110.120", 34855, 0, 0, ACK, "");
        assertEquals(f.communityId(), g.communityId());
        assertFalse(g.clientAddress().equals(f.clientAddress()));
        assertTrue(g.id() == 1);
    }

    @Test
    void anIcmpErrorCountsInTheFlowOfThePacketItQuotes() {
        Pipeline p = pipeline(FlowConfig.defaults());
        byte[] q = udpFrame(C, 33333, SV, 53, bytes(1, 2, 3));
        p.frame(q, 0, q.length, 1, Decoder.LINKTYPE_ETHERNET);
        byte[] quoted = java.util.Arrays.copyOfRange(q, 14, 14 + 28);
        byte[] err = ethernet(0x0800, ipv4(ICMP, SV, C, icmp(3, 3, quoted)));
        p.frame(err, 0, err.length, 2, Decoder.LINKTYPE_ETHERNET);
        Flow f = p.lastFlow();
        assertEquals(17, f.protocol());
        assertEquals(1, f.packetsToServer());
        assertEquals(1, f.packetsToClient(), "the error went back to the client");
        assertEquals(1, p.table().icmpErrorsFolded());
        assertEquals(1, p.table().flowsCreated());
        byte[] stray = ethernet(0x0800, ipv4(ICMP, SV, "198.51.100.1", icmp(3, 3, quoted)));
        byte[] other = udpFrame("198.51.100.1", 1, SV, 2, bytes());
        p.frame(other, 0, other.length, 3, Decoder.LINKTYPE_ETHERNET);
        p.frame(stray, 0, stray.length, 3, Decoder.LINKTYPE_ETHERNET);
        assertEquals(1, p.table().icmpErrorsFolded(), "an error sent to another host than the quoted sender is a flow of its own");
        assertEquals(1, p.lastFlow().protocol());
    }
}
