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
