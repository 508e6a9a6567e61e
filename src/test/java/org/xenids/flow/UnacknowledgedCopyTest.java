package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;

/**
 * A second copy of delivered bytes that the receiver has not acknowledged is compared with the
 * first. A sender can send a first copy that the receiver's stack drops for a reason the flow
 * stage does not mirror (one acknowledging data never sent is such: at the tap a lost frame
 * looks the same, so it is not judged), then the copy the receiver takes; without the
 * comparison the detector would score the first and see the second as a plain retransmission.
 * Once the receiver has acknowledged bytes, any later copy is old to Linux and dropped unread.
 */
class UnacknowledgedCopyTest {
    static final String C = FlowTableTest.C, SV = FlowTableTest.SV;
    static final FlowConfig DEPTH_64 = FlowConfig.defaults().withDepth(64);
    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
    Pipeline p = new Pipeline(new Decoder(), new FlowTable(DEPTH_64, rec));

    Flow send(int seq, int ack, int flags, String data) {
        return frame(tcpFrame(C, 40000, SV, 80, seq, ack, flags, data.getBytes(StandardCharsets.ISO_8859_1)));
    }

    /** The server acknowledges the client's bytes up to {@code ack}. */
    Flow ack(int ack) {
        return frame(tcpFrame(SV, 80, C, 40000, 501, ack, ACK, new byte[0]));
    }

    Flow frame(byte[] f) {
        p.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
        return p.lastFlow();
    }

    /** The handshake: the client's first byte is 1, the server's 501. */
    void open() {
        send(0, 0, SYN, "");
        frame(tcpFrame(SV, 80, C, 40000, 500, 1, SYN | ACK, new byte[0]));
        send(1, 501, ACK, "");
    }

    @Test
    void aDifferentCopyOfUnacknowledgedBytesIsReportedAndTheFirstStays() {
        open();
        send(1, 501, ACK | PSH, "GET /index.html");
        Flow f = send(1, 501, ACK | PSH, "GET /evil!.html");
        assertEquals(List.of("ts@0:5"), rec.differing, "'index' against 'evil!': 5 bytes differ");
        assertEquals(5, f.overlapDifferentBytes(true));
        assertEquals("GET /index.html", rec.ts(), "the bytes delivered first stay");
    }

    @Test
    void aDecoyAcknowledgingUnsentDataThenTheRealBytesIsCaught() {
        // Linux drops the decoy (its ACK is past anything the server sent: ACK_UNSENT_DATA) and
        // takes the real segment after it; the flow stage delivers the decoy, as a lost frame of
        // the server's would look the same, and now compares the real one with it.
        open();
        String cover = "GET /cover.html HTTP/1.0", attack = "GET /x?;cat${IFS}/etc/pw";
        send(1, 90_000, ACK | PSH, cover);
        send(1, 501, ACK | PSH, attack);
        int differ = 0;
        for (int i = 0; i < cover.length(); i++) {
            differ += cover.charAt(i) != attack.charAt(i) ? 1 : 0;
        }
        assertEquals(List.of("ts@0:" + differ), rec.differing);
    }

    @Test
    void onARealLinuxTheDecoyIsDroppedTheRealRequestReadAndTheTwoCopiesReported() throws Exception {
        // scripts/make-decoy-capture: a forged segment acknowledging 100,000 unsent bytes carries
        // a cover request; Linux 6.18 drops it, and its application reads the request sent after
        // it at the same numbers.
        byte[] read = UrgentDataTest.resource("decoy-unsent-ack.txt");
        byte[] decoy = "GET /index.html HTTP/1.0\r\nHost: www\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        assertEquals("GET /cgi-bin/x?;cat${IFS}/etc/shadow HTTP/1.0\r\n\r\n",
                new String(read, StandardCharsets.ISO_8859_1), "the application read the real request");
        byte[] stream = UrgentDataTest.clientStream("decoy-unsent-ack.pcapng", FlowConfig.defaults().withDepth(4096), rec);
        // The flow stage took the decoy (it does not judge the acknowledgement), then the real
        // request's bytes past it: not what the guest read, and so reported.
        byte[] want = java.util.Arrays.copyOf(decoy, read.length);
        System.arraycopy(read, decoy.length, want, decoy.length, read.length - decoy.length);
        assertEquals(new String(want, StandardCharsets.ISO_8859_1), new String(stream, StandardCharsets.ISO_8859_1));
        int differ = 0;
        for (int i = 0; i < decoy.length; i++) {
            differ += decoy[i] != read[i] ? 1 : 0;
        }
        assertEquals(List.of("ts@0:" + differ), rec.differing);

        FlowTableTest.Recorder unkept = new FlowTableTest.Recorder();
        UrgentDataTest.clientStream("decoy-unsent-ack.pcapng", FlowConfig.defaults(), unkept);
        assertEquals(List.of(), unkept.differing, "control: with nothing kept, the real request passes unseen");
    }

    @Test
    void anIdenticalCopyIsARetransmissionAndNothingMore() {
        open();
        send(1, 501, ACK | PSH, "GET /index.html");
        Flow f = send(1, 501, ACK | PSH, "GET /index.html");
        send(6, 501, ACK | PSH, "index.html HTTP/1.0"); // the same bytes again, and new ones after
        assertEquals(List.of(), rec.differing);
        assertEquals(0, f.overlapDifferentBytes(true));
        assertEquals("GET /index.html HTTP/1.0", rec.ts());
    }

    @Test
    void acknowledgedBytesAreOldToTheReceiverAndNotCompared() {
        open();
        send(1, 501, ACK | PSH, "GET /index.html");
        ack(6); // "GET /" taken
        send(1, 501, ACK | PSH, "XXXXXXXXXXXXXXX");
        assertEquals(List.of("ts@5:10"), rec.differing, "only the 10 bytes not yet acknowledged count");
        ack(16);
        send(1, 501, ACK | PSH, "YYYYYYYYYYYYYYY");
        assertEquals(List.of("ts@5:10"), rec.differing, "all acknowledged: Linux drops the copy as old");
    }

    @Test
    void bytesDeliveredFromTheOutOfOrderBufferAreKeptToo() {
        open();
        send(6, 501, ACK | PSH, "index.html"); // held
        send(1, 501, ACK | PSH, "GET /"); // delivered from the packet, then the held ones drained
        send(3, 501, ACK | PSH, "T /inDEX.html");
        assertEquals("GET /index.html", rec.ts());
        assertEquals(List.of("ts@2:3"), rec.differing, "the copy starts at offset 2; 'DEX' differs");
    }

    @Test
    void aCopyOfBytesBeforeAFinTheReceiverTookIsCompared() {
        open();
        send(1, 501, ACK | PSH | FIN, "GET /index.html");
        send(1, 501, ACK | PSH | FIN, "GET /evil!.html");
        assertEquals(List.of("ts@0:5"), rec.differing);
    }

    @Test
    void bytesPastTheDepthAreNeitherKeptNorCompared() {
        open();
        send(1, 501, ACK | PSH, "a".repeat(64) + "bbbbbb"); // 64 bytes inside the depth, 6 past it
        send(1, 501, ACK | PSH, "a".repeat(62) + "cccccccc");
        assertEquals(List.of("ts@0:2"), rec.differing, "bytes 62 and 63 differ inside the depth; the 6 past it are not compared");
    }

    /** A pool of two windows: keeping may take one. */
    static final FlowConfig POOL_OF_TWO = DEPTH_64.withBuffers(1 << 16, 2 * (1024 + 128));

    /** Client port {@code port}'s handshake: its first byte is 1, the server's 701. */
    void open(int port) {
        frame(tcpFrame(C, port, SV, 80, 0, 0, SYN, new byte[0]));
        frame(tcpFrame(SV, 80, C, port, 700, 1, SYN | ACK, new byte[0]));
    }

    @Test
    void aWindowKeptInGoesBackOnceAcknowledgedAndWhatCouldNotBeKeptIsCounted() {
        FlowTable table = new FlowTable(POOL_OF_TWO, rec);
        p = new Pipeline(new Decoder(), table);
        open();
        send(1, 501, ACK | PSH, "GET /index.html"); // kept: the half of the pool keeping may take
        open(40001);
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /a.html")));
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /b.html")));
        assertEquals(List.of(), rec.differing, "nothing kept to compare the second connection's copy with");
        assertEquals(List.of("ts@0:11"), rec.notCompared, "so the copy is reported as not compared");
        ack(16);
        frame(tcpFrame(C, 40001, SV, 80, 12, 701, ACK | PSH, bytes(" HTTP")));
        frame(tcpFrame(C, 40001, SV, 80, 12, 701, ACK | PSH, bytes(" FTP!")));
        assertEquals(List.of("ts@11:3"), rec.differing, "the window given back keeps the second connection's new bytes");
        p.finish();
        assertEquals(11, table.unkeptBytes(), "'GET /a.html' could not be kept");
        assertEquals(11, table.uncomparedBytes());
        assertEquals(List.of("ts@0:11"), rec.notCompared, "the bytes kept later are compared, not reported so");
    }

    @Test
    void onceAcknowledgedBytesThatCouldNotBeKeptAreOldAndTheirCopyIsNotReported() {
        p = new Pipeline(new Decoder(), new FlowTable(POOL_OF_TWO, rec));
        open();
        send(1, 501, ACK | PSH, "GET /index.html"); // kept in the one window keeping may take
        open(40001);
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /a.html"))); // not kept
        frame(tcpFrame(SV, 80, C, 40001, 701, 6, ACK, new byte[0])); // "GET /" acknowledged
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /b.html")));
        assertEquals(List.of("ts@5:6"), rec.notCompared, "only the 6 bytes not acknowledged");
    }

    @Test
    void keepingLeavesHalfThePoolToOutOfOrderBytes() {
        p = new Pipeline(new Decoder(), new FlowTable(POOL_OF_TWO, rec));
        open();
        send(1, 501, ACK | PSH, "GET /index.html"); // kept in one window
        open(40001);
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /a.html"))); // not kept: no second
        open(40002);
        frame(tcpFrame(C, 40002, SV, 80, 6, 701, ACK | PSH, bytes("b.html"))); // out of order: held
        frame(tcpFrame(C, 40002, SV, 80, 1, 701, ACK | PSH, bytes("GET /")));
        assertEquals(List.of(), rec.gaps, "the out-of-order bytes had the other window");
        assertTrue(rec.ts().endsWith("GET /b.html"), rec.ts());
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void windowsBorrowedForOutOfOrderBytesAndThenKeptInAloneCountAgainstTheHalf() {
        // Each connection's bytes come out of order first (a window borrowed for them), then fill
        // the hole; the guest acknowledges none. The first keeps its window, the second may not
        // (two of two lent): its bytes go uncompared, counted, and the third's out-of-order bytes
        // find a window (nor may the third keep it afterwards).
        FlowTable table = new FlowTable(POOL_OF_TWO, rec);
        p = new Pipeline(new Decoder(), table);
        for (int port = 40000; port < 40003; port++) {
            open(port);
            frame(tcpFrame(C, port, SV, 80, 6, 90_000, ACK | PSH, bytes("index")));
            frame(tcpFrame(C, port, SV, 80, 1, 90_000, ACK | PSH, bytes("GET /")));
        }
        assertEquals(List.of(), rec.gaps);
        assertEquals("GET /indexGET /indexGET /index", rec.ts());
        frame(tcpFrame(C, 40001, SV, 80, 1, 701, ACK | PSH, bytes("GET /evil")));
        assertEquals(List.of("ts@0:9"), rec.notCompared, "the second connection's window went back");
        p.finish();
        assertEquals(20, table.unkeptBytes(), "the second's and the third's: the first keeps its window");
    }

    /** As detection sets the table up: a SYN starts a new flow on a 5-tuple after a close. */
    void restartingAfterAClose() {
        p = new Pipeline(new Decoder(), new FlowTable(DEPTH_64.withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE), rec));
        open();
    }

    @Test
    void aNewConnectionAfterACloseTheReceiverMayHaveIgnoredReportsTheUnacknowledgedBytes() {
        // A decoy Linux drops, a RST at the number after it (Linux ignores it: its next number is
        // still the decoy's), a SYN (ignored too): the attack at the decoy's numbers is then what
        // the guest reads, but here the SYN started a new flow, where it is an old retransmission.
        restartingAfterAClose();
        send(1, 90_000, ACK | PSH, "GET /index.html");
        send(16, 501, RST | ACK, "");
        send(200_000, 0, SYN, "");
        send(1, 501, ACK | PSH, "GET /evil!.html");
        assertEquals(2, p.table().flowsCreated(), "the SYN restarted the flow");
        assertEquals(List.of("ts@0:15"), rec.notCompared);
        p.finish();
        assertEquals(15, p.table().uncomparedBytes());
    }

    @Test
    void aNewConnectionAfterTheBytesWereAcknowledgedReportsNothing() {
        restartingAfterAClose();
        send(1, 501, ACK | PSH, "GET /index.html");
        ack(16); // the guest took the bytes: its stack acts on the RST
        send(16, 501, RST | ACK, "");
        send(200_000, 0, SYN, "");
        assertEquals(2, p.table().flowsCreated());
        assertEquals(List.of(), rec.notCompared);
    }

    @Test
    void theOtherSidesUnacknowledgedBytesAtARestartAreNotReported() {
        // As the dev captures have it: a client resets the connection without acknowledging the
        // server's last bytes, then opens a new one on the same ports. Those bytes are the
        // server's; the client's close and SYN cannot have been let in by them.
        restartingAfterAClose();
        send(1, 501, ACK | PSH, "GET /");
        frame(tcpFrame(SV, 80, C, 40000, 501, 6, ACK | PSH, bytes("HTTP/1.0 200 OK")));
        send(6, 501, RST | ACK, "");
        send(200_000, 0, SYN, "");
        assertEquals(2, p.table().flowsCreated());
        assertEquals(List.of(), rec.notCompared);
    }

    @Test
    void aSegmentHalfTheSequenceSpaceAwayOverlapsNothingKept() {
        // Sequence numbers are compared modulo 2^32: a segment that starts just under 2^31 past
        // the kept run and ends past 2^31 lies behind it, not inside it (found by fuzzing: the run
        // was read from no buffer). A FIN on the first SYN is taken at once, so that every later
        // segment not past it is compared.
        send(100, 501, SYN | FIN | ACK, "");
        send(101 + Integer.MAX_VALUE, 501, ACK | PSH, "abcdef");
        assertEquals(List.of(), rec.differing);
        assertEquals(List.of(), rec.notCompared);
        assertEquals("", rec.ts());
    }

    @Test
    void withoutADepthThatFitsTheWindowNothingIsKept() {
        p = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), rec)); // depth 1 MiB, window 64 KiB
        open();
        send(1, 501, ACK | PSH, "GET /index.html");
        send(1, 501, ACK | PSH, "GET /evil!.html");
        assertEquals(List.of(), rec.differing);
        p.finish();
        assertEquals(0, p.table().unkeptBytes());
    }
}
