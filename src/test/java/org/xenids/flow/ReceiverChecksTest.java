package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Decoder;

/**
 * What a sender cannot make the detector refuse: segments its receiver drops before they touch
 * the socket's state (a SYN inside the connection, a RST off the next number, an old duplicate)
 * change nothing that is judged, a connection picked up midway is not judged on signatures it
 * never saw negotiated, and a packet its receiver's IP or TCP layer drops neither starts nor ends
 * a flow. Nor does such a packet stand in for the bytes the receiver takes: a decoy sent at their
 * numbers with a broken checksum, to a broadcast address, with a signature or timestamp the
 * receiver rejects, or a UDP length past its packet is delivered nowhere.
 */
class ReceiverChecksTest {
    static final String C = FlowTableTest.C, SV = FlowTableTest.SV;

    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
    final FlowTable table = new FlowTable(FlowConfig.defaults(), rec);
    final Pipeline p = new Pipeline(new Decoder(), table);

    void client(int seq, int ack, int flags, byte[] options, String data) {
        frame(C, SV, tcp(40000, 80, seq, ack, flags, options, data.getBytes(StandardCharsets.ISO_8859_1)));
    }

    void server(int seq, int ack, int flags, byte[] options) {
        frame(SV, C, tcp(80, 40000, seq, ack, flags, options, new byte[0]));
    }

    void frame(String src, String dst, byte[] segment) {
        byte[] f = ethernet(0x0800, ipv4(TCP, src, dst, segment));
        p.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
    }

    /** A timestamps option (RFC 7323) and two no-ops. */
    static byte[] ts(int val, int ecr) {
        return bytes(1, 1, 8, 10, val >>> 24, val >>> 16, val >>> 8, val, ecr >>> 24, ecr >>> 16, ecr >>> 8, ecr);
    }

    /** TCP MD5 (RFC 2385): 16 bytes of digest, two no-ops to a 4-byte boundary. */
    static final byte[] MD5 = concat(bytes(19, 18), new byte[16], bytes(1, 1));

    @Test
    void aSynInsideTheConnectionChangesNeitherTimestampsNorKeys() {
        client(0, 0, SYN, concat(MD5, ts(100, 0)), "");
        server(500, 1, SYN | ACK, concat(MD5, ts(5000, 100)));
        client(1, 501, ACK, concat(MD5, ts(101, 5000)), "");
        // The same SYN again, unsigned and with a TSval far ahead: Linux answers a challenge ACK.
        client(0, 0, SYN, ts(0x7FFF_FFFF, 0), "");
        client(1, 501, ACK | PSH, concat(MD5, ts(102, 5000)), "taken");
        server(501, 6, ACK, concat(MD5, ts(5001, 102))); // judged by the client's key, which the SYN left
        assertEquals("taken", rec.ts());
        assertEquals(List.of(), rec.refused);
        assertEquals(1, table.flowsCreated());
    }

    @Test
    void neitherARstNorAnOldDuplicateSetsTheTimestampASegmentIsJudgedBy() {
        client(0, 0, SYN, ts(100, 0), "");
        server(500, 1, SYN | ACK, ts(5000, 100));
        client(1, 501, ACK | PSH, ts(101, 5000), "abc");
        server(501, 4, ACK, ts(5001, 101)); // the server has acknowledged up to 4
        client(1, 501, ACK | PSH, ts(0x7000_0000, 5001), "ab"); // ends at 3, before 4: an old duplicate
        client(4, 501, ACK | PSH, ts(102, 5001), "def");
        client(4, 501, RST | ACK, ts(0x7000_0000, 5001), ""); // not at the next number (7): ignored
        client(7, 501, ACK | PSH, ts(103, 5001), "ghi");
        assertEquals("abcdefghi", rec.ts());
        assertEquals(List.of(), rec.refused);
    }

    @Test
    void signedSegmentsOfAConnectionPickedUpMidwayAreNotJudged() {
        client(1000, 7000, ACK | PSH, MD5, "signed ");
        server(7000, 1007, ACK, MD5);
        client(1007, 7000, ACK | PSH, MD5, "session");
        assertEquals("signed session", rec.ts());
        assertEquals(List.of(), rec.refused);
    }

    @Test
    void aPacketItsReceiverDropsNeitherStartsNorEndsAFlow() {
        // A SYN-ACK with a broken IPv4 header checksum first: it would have made the guest the client.
        byte[] bad = ethernet(0x0800, ipv4(TCP, C, SV, tcp(40000, 80, 500, 1, SYN | ACK, new byte[0])));
        bad[14 + 11] ^= 0x5A;
        p.frame(bad, 0, bad.length, 1, Decoder.LINKTYPE_ETHERNET);
        assertEquals(0, table.flowsCreated());
        assertEquals(1, table.receiverDroppedPackets());
        client(0, 0, SYN, bytes(), "");
        server(500, 1, SYN | ACK, bytes());
        client(1, 501, ACK | PSH, bytes(), "request");
        assertEquals("request", rec.ts(), "the client is the client");
        // A SYN with a new sequence number and a broken checksum: no new flow.
        byte[] syn = ethernet(0x0800, ipv4(TCP, C, SV, tcp(40000, 80, 90_000, 0, SYN, new byte[0])));
        syn[14 + 11] ^= 0x5A;
        p.frame(syn, 0, syn.length, 2, Decoder.LINKTYPE_ETHERNET);
        client(8, 501, ACK | PSH, bytes(), " more");
        assertEquals(1, table.flowsCreated());
        assertEquals("request more", rec.ts());
    }

    // Decoys: segments the receiver drops, sent at the numbers of the bytes it takes.

    Pipeline pipeline(FlowConfig cfg) {
        return new Pipeline(new Decoder(), new FlowTable(cfg, rec));
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
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
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
        FlowTableTest.tcp(p, 1, C, 40000, SV, 80, 0, 0, SYN, "");
        FlowTableTest.tcp(p, 2, SV, 80, C, 40000, 500, 1, SYN | ACK, "");
        byte[] decoy = tcpFrame(C, 40000, SV, 80, 1, 501, ACK, "cover!".getBytes(StandardCharsets.ISO_8859_1));
        Arrays.fill(decoy, 0, 6, (byte) 0xFF);
        p.frame(decoy, 0, decoy.length, 3, Decoder.LINKTYPE_ETHERNET);
        FlowTableTest.tcp(p, 4, C, 40000, SV, 80, 1, 501, ACK, "attack");
        assertEquals("attack", rec.ts());
        assertEquals(1, p.decoder().count(DecodeEvent.TCP_LINK_GROUP_ADDRESS));
        assertEquals(1, p.table().receiverDroppedPackets());
    }

    @Test
    void aSegmentWhoseSignatureTheReceiverDoesNotExpectStandsInForNothing() {
        byte[] none = bytes();
        for (boolean keyed : new boolean[] {false, true}) {
            Pipeline p = pipeline(FlowConfig.defaults());
            rec.toServer.reset();
            byte[] sig = keyed ? MD5 : none, wrong = keyed ? none : MD5;
            frame(p, 1, C, SV, tcp(40000, 80, 0, 0, SYN, sig, bytes()));
            frame(p, 2, SV, C, tcp(80, 40000, 500, 1, SYN | ACK, sig, bytes()));
            // A decoy signed as the server's socket does not expect (Linux drops it, as
            // unexpected or missing), then the real bytes at the same numbers, signed as it does.
            frame(p, 3, C, SV, tcp(40000, 80, 1, 501, ACK, wrong, "cover!".getBytes(StandardCharsets.ISO_8859_1)));
            frame(p, 4, C, SV, tcp(40000, 80, 1, 501, ACK, sig, "attack".getBytes(StandardCharsets.ISO_8859_1)));
            assertEquals("attack", rec.ts(), keyed ? "keyed" : "no key");
            assertEquals(1, p.table().receiverDroppedPackets());
        }
    }

    @Test
    void aSegmentWithAStaleTimestampItsReceiverDropsUnderPawsStandsInForNothing() {
        for (boolean negotiated : new boolean[] {true, false}) {
            Pipeline p = pipeline(FlowConfig.defaults());
            rec.toServer.reset();
            frame(p, 1, C, SV, tcp(40000, 80, 0, 0, SYN, ts(100, 0), bytes()));
            frame(p, 2, SV, C, tcp(80, 40000, 500, 1, SYN | ACK,
                    negotiated ? ts(5000, 100) : bytes(), bytes()));
            frame(p, 3, C, SV, tcp(40000, 80, 1, 501, ACK, ts(101, 5000), bytes()));
            // A decoy whose TSval is older than the one the server recorded (Linux drops it), then
            // the real bytes at the same numbers.
            frame(p, 4, C, SV, tcp(40000, 80, 1, 501, ACK, ts(50, 5000), ascii("cover!")));
            frame(p, 5, C, SV, tcp(40000, 80, 1, 501, ACK, ts(102, 5000), ascii("attack")));
            assertEquals(negotiated ? "attack" : "cover!", rec.ts(), negotiated ? "timestamps on" : "off: no PAWS");
            assertEquals(negotiated ? 1 : 0, p.table().receiverDroppedPackets());
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static void frame(Pipeline p, long ts, String src, String dst, byte[] segment) {
        byte[] f = ethernet(0x0800, ipv4(TCP, src, dst, segment));
        p.frame(f, 0, f.length, ts, Decoder.LINKTYPE_ETHERNET);
    }
}
