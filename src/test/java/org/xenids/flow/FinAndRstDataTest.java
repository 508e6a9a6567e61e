package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;

/**
 * Bytes a Linux receiver never queues although they reach it: a RST's, and those past a FIN it
 * took (once it meets the FIN in order it drops what it held past it, {@code tcp_fin}, and queues
 * nothing past it any more). A sender's cover sent so must not stand in for, or blend with, the
 * bytes the guest reads.
 */
class FinAndRstDataTest {
    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
    final Pipeline p = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), rec));

    Flow send(int seq, int flags, String data) {
        byte[] f = tcpFrame(FlowTableTest.C, 40000, FlowTableTest.SV, 80, seq, 501, flags,
                data.getBytes(StandardCharsets.ISO_8859_1));
        p.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
        return p.lastFlow();
    }

    /** The handshake: the client's first byte is 1. */
    void open() {
        send(0, SYN, "");
        byte[] sa = tcpFrame(FlowTableTest.SV, 80, FlowTableTest.C, 40000, 500, 1, SYN | ACK, new byte[0]);
        p.frame(sa, 0, sa.length, 1, Decoder.LINKTYPE_ETHERNET);
        send(1, ACK, "");
    }

    @Test
    void aRstsBytesAreNeverTheStreams() {
        open();
        send(2, RST | ACK, "over!"); // off the next number: Linux answers a challenge ACK, drops it
        Flow f = send(1, ACK | PSH, "attack");
        assertEquals("attack", rec.ts());
        assertEquals(0, f.overlapDifferentBytes(true), "nothing held to differ from");
        send(7, RST | ACK, "tail"); // at the next number: the connection is reset, its bytes with it
        assertEquals("attack", rec.ts());
    }

    @Test
    void bytesPastAFinTheReceiverTookAreRefusedAndThoseHeldPastItDropped() {
        open();
        send(12, ACK, "0123456789"); // held: bytes 11.. are past the FIN to come
        Flow f = send(1, ACK | PSH | FIN, "attack");
        assertEquals("attack", rec.ts());
        assertEquals(10, f.toServer.afterFinDropped, "the held bytes 12..21, all past the FIN at 7");
        send(8, ACK | PSH, "cover");
        send(7, ACK | PSH, "xcover");
        send(7, ACK, "k"); // a keepalive of one byte at the FIN's number: a duplicate to Linux
        assertEquals("attack", rec.ts());
        assertEquals(List.of("ts stream.pkt_data_after_fin", "ts stream.pkt_data_after_fin"), rec.refused);
        p.finish();
        assertEquals(10, p.table().afterFinDroppedBytes());
        assertEquals(2, p.table().receiverDroppedPackets());
    }

    @Test
    void aFinASegmentPastItCoveredIsNotTaken() {
        // Linux drops an out-of-order FIN that an in-order segment reaching past it covers: the
        // connection goes on, and so must the stream.
        open();
        send(5, ACK | FIN, "");
        send(1, ACK | PSH, "abcdefghij");
        send(11, ACK | PSH, "klm");
        assertEquals("abcdefghijklm", rec.ts());
        assertEquals(List.of(), rec.refused);
    }

    @Test
    void ofTwoFinsTheLowestNotYetPassedIsTheOneTakenWhicheverCameFirst() {
        for (int[] order : new int[][] {{20, 10}, {10, 20}}) {
            FinAndRstDataTest t = new FinAndRstDataTest();
            t.open();
            t.send(order[0], ACK | FIN, "");
            t.send(order[1], ACK | FIN, "");
            t.send(1, ACK | PSH, "123456789");
            t.send(10, ACK | PSH, "after");
            assertEquals("123456789", t.rec.ts(), "FINs at " + order[0] + " then " + order[1]);
            assertEquals(List.of("ts stream.pkt_data_after_fin"), t.rec.refused);
        }
    }

    @Test
    void aFinBehindTheNextNumberIsNoneAndLetsNoRstCloseTheConnection() {
        // Under the detection policy only a close the receiver acts on lets a SYN start a new
        // flow; a RST one past a FIN it took is such a close, one past a FIN it passed is not.
        FlowTable table = new FlowTable(FlowConfig.defaults().withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE), rec);
        Pipeline q = new Pipeline(new Decoder(), table);
        String c = FlowTableTest.C, sv = FlowTableTest.SV;
        for (byte[] f : new byte[][] {
                tcpFrame(c, 40000, sv, 80, 0, 0, SYN, new byte[0]),
                tcpFrame(sv, 80, c, 40000, 500, 1, SYN | ACK, new byte[0]),
                tcpFrame(c, 40000, sv, 80, 1, 501, ACK | PSH, "abcdefghij".getBytes(StandardCharsets.ISO_8859_1)),
                tcpFrame(c, 40000, sv, 80, 5, 501, ACK | FIN, new byte[0]), // behind the next number, 11
                tcpFrame(c, 40000, sv, 80, 6, 501, RST | ACK, new byte[0]),
                tcpFrame(c, 40000, sv, 80, 90_000, 0, SYN, new byte[0])}) {
            q.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
        }
        assertEquals(1, table.flowsCreated(), "the SYN restarted nothing");
    }
}
