package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;

/**
 * What a sender cannot make the detector refuse: segments its receiver drops before they touch
 * the socket's state (a SYN inside the connection, a RST off the next number, an old duplicate)
 * change nothing that is judged, a connection picked up midway is not judged on signatures it
 * never saw negotiated, and a packet its receiver's IP or TCP layer drops neither starts nor ends
 * a flow.
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
}
