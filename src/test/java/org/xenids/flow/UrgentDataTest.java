package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;
import org.xenids.pcap.CaptureReader;

/**
 * TCP urgent data as a Linux receiver treats it: the byte before the urgent pointer is not the
 * application's (it reads it only with SO_OOBINLINE), one pending at a time, a newer pointer
 * replacing one whose byte has not arrived. Checked against what a real Linux application read.
 */
class UrgentDataTest {
    static final String C = FlowTableTest.C, SV = FlowTableTest.SV;

    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();

    Pipeline pipeline(FlowConfig cfg) {
        Pipeline p = new Pipeline(new Decoder(), new FlowTable(cfg, rec));
        send(p, 100, SYN, -1, "");
        byte[] f = tcpFrame(SV, 80, C, 40000, 500, 101, SYN | ACK, new byte[0]);
        p.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
        send(p, 101, ACK, -1, "");
        return p;
    }

    /** A client segment at sequence number {@code seq}; {@code urgentPointer} ≥ 0 sets URG. */
    static void send(Pipeline p, int seq, int flags, int urgentPointer, String data) {
        byte[] d = data.getBytes(StandardCharsets.ISO_8859_1);
        byte[] f = urgentPointer >= 0 ? tcpUrgentFrame(C, 40000, SV, 80, seq, 501, flags, urgentPointer, d)
                : tcpFrame(C, 40000, SV, 80, seq, 501, flags, d);
        p.frame(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET);
    }

    @Test
    void theByteBeforeTheUrgentPointerIsNotDeliveredAndTheStreamGoesOnAfterIt() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, -1, "GET /");
        send(p, 106, ACK, 4, "ab!X"); // Linux's send(MSG_OOB): URG, pointer just past the last byte
        send(p, 110, ACK, -1, "index");
        p.finish();
        assertEquals("GET /ab!index", rec.ts());
        assertEquals(List.of("ts@8 out"), rec.urgent);
        assertEquals(List.of(0L, 5L, 9L), rec.offsets); // "index" follows the urgent byte's place
        assertEquals(1, p.table().urgentBytes());
    }

    @Test
    void inlinePolicyDeliversTheUrgentByteAndStillReportsIt() {
        Pipeline p = pipeline(FlowConfig.defaults().withUrgent(FlowConfig.UrgentPolicy.INLINE));
        send(p, 101, ACK, -1, "GET /");
        send(p, 106, ACK, 4, "ab!X");
        send(p, 110, ACK, -1, "index");
        p.finish();
        assertEquals("GET /ab!Xindex", rec.ts());
        assertEquals(List.of("ts@8 in"), rec.urgent);
    }

    @Test
    void aPointerReachingIntoALaterSegmentTakesTheByteThere() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, 6, "abc"); // urgent byte at 101 + 5: the 'f' of the next segment
        send(p, 104, ACK, 1, "defgh"); // marks the 'd': not newer than the 'f' pending, ignored
        p.finish();
        assertEquals("abcdegh", rec.ts());
        assertEquals(List.of("ts@5 out"), rec.urgent);
    }

    @Test
    void aNewerPointerPutsTheByteOfAnOlderOneNotYetArrivedBackInLine() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, 4, "ab"); // urgent byte 'd', not yet here
        send(p, 103, ACK, 5, "cdefgh"); // newer: 'g'; 'd' is data again (tcp_check_urg)
        p.finish();
        assertEquals("abcdefh", rec.ts());
        assertEquals(List.of("ts@6 out"), rec.urgent);
    }

    @Test
    void aPointerToBytesAlreadyReceivedIsIgnored() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, -1, "abcdef");
        send(p, 101, ACK, 2, "abc"); // a retransmission marking 'b', long delivered
        send(p, 107, ACK, -1, "ghi");
        p.finish();
        assertEquals("abcdefghi", rec.ts());
        assertEquals(List.of(), rec.urgent);
    }

    @Test
    void anOldDuplicatesPointerIsIgnoredWhereverItPoints() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, -1, "abcdef");
        send(p, 101, ACK, 9, "abc"); // wholly old, Linux drops it first; it points at the 'i' to come
        send(p, 107, ACK, -1, "ghijk");
        p.finish();
        assertEquals("abcdefghijk", rec.ts());
        assertEquals(List.of(), rec.urgent);
    }

    @Test
    void aZeroPointerMarksTheSegmentsFirstByte() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, 0, "xyz");
        p.finish();
        assertEquals("yz", rec.ts());
        assertEquals(List.of("ts@0 out"), rec.urgent);
    }

    @Test
    void aSynsPointerIsIgnored() {
        FlowTableTest.Recorder other = new FlowTableTest.Recorder();
        Pipeline q = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), other));
        byte[] syn = tcpUrgentFrame(C, 40001, SV, 80, 0, 0, SYN, 3, new byte[0]); // would mark the 'e'
        q.frame(syn, 0, syn.length, 0, Decoder.LINKTYPE_ETHERNET);
        byte[] data = tcpFrame(C, 40001, SV, 80, 1, 501, ACK, "hello".getBytes(StandardCharsets.ISO_8859_1));
        q.frame(data, 0, data.length, 1, Decoder.LINKTYPE_ETHERNET);
        q.finish();
        assertEquals("hello", other.ts());
        assertEquals(List.of(), other.urgent);
    }

    @Test
    void anUrgentByteArrivingOutOfOrderIsTakenOutWhenItsRunIsDelivered() {
        Pipeline p = pipeline(FlowConfig.defaults());
        send(p, 101, ACK, 8, "abc"); // urgent byte at 108: 'h'
        send(p, 107, ACK, -1, "ghij"); // held: 104..106 missing
        send(p, 104, ACK, -1, "def");
        p.finish();
        assertEquals("abcdefgij", rec.ts());
        assertEquals(List.of("ts@7 out"), rec.urgent);
    }

    @Test
    void anUrgentBytePastTheDepthIsCountedButNotReported() {
        Pipeline p = pipeline(FlowConfig.defaults().withDepth(6));
        send(p, 101, ACK, 9, "abc"); // urgent byte at 109, past the depth of 6
        send(p, 104, ACK, -1, "defghijk");
        p.finish();
        assertEquals("abcdef", rec.ts());
        assertEquals(List.of(), rec.urgent); // past the depth: nothing is looked at, nor reported
        assertEquals(1, p.table().urgentBytes(), "met in the stream all the same (pcap stats' tcp_urgent_bytes)");
    }

    @Test
    void realLinuxApplicationReadingAsDataComesSeesExactlyTheDeliveredStream() throws Exception {
        assertArrayEquals(resource("urgent-prompt.txt"), clientStream("urgent-prompt.pcapng", FlowConfig.defaults()));
        assertEquals(List.of("ts@5 out", "ts@14 out", "ts@275 out"), rec.urgent);
    }

    /**
     * An application that reads late finds the first two urgent bytes in line (Linux keeps one
     * per socket): the tap cannot see when a guest reads, so the delivered stream is the prompt
     * reader's, and these two bytes are the difference; each urgent byte is reported either way.
     */
    @Test
    void realLinuxApplicationReadingLateDiffersOnlyInTheUrgentBytesANewerPointerReplaced() throws Exception {
        String late = new String(resource("urgent-late.txt"), StandardCharsets.ISO_8859_1);
        String prompt = new String(resource("urgent-prompt.txt"), StandardCharsets.ISO_8859_1);
        String delivered = new String(clientStream("urgent-late.pcapng", FlowConfig.defaults()),
                StandardCharsets.ISO_8859_1);
        assertEquals(prompt, delivered);
        assertEquals(late.replace("X", "").replace("Y", ""), delivered);
        assertEquals(List.of("ts@5 out", "ts@14 out", "ts@275 out"), rec.urgent);
    }

    @Test
    void inlinePolicyDeliversTheBytesAsSentOnARealCapture() throws Exception {
        String inline = new String(clientStream("urgent-late.pcapng",
                FlowConfig.defaults().withUrgent(FlowConfig.UrgentPolicy.INLINE)), StandardCharsets.ISO_8859_1);
        String late = new String(resource("urgent-late.txt"), StandardCharsets.ISO_8859_1);
        assertEquals(late.substring(0, late.length() - 3) + "Zend", inline);
        assertEquals(List.of("ts@5 in", "ts@14 in", "ts@275 in"), rec.urgent);
    }

    private byte[] clientStream(String capture, FlowConfig cfg) throws Exception {
        return clientStream(capture, cfg, rec);
    }

    /** The client's stream, as {@code rec} received it, of a real capture of this package's resources. */
    static byte[] clientStream(String capture, FlowConfig cfg, FlowTableTest.Recorder rec) throws Exception {
        Pipeline p = new Pipeline(cfg, rec);
        try (CaptureReader r = CaptureReader.of(resource(capture))) {
            while (r.next()) {
                // Unchecked, as the CLI reads captures: on loopback Linux leaves the TCP checksum unfilled.
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType(), false);
            }
        }
        p.finish();
        return rec.toServer.toByteArray();
    }

    static byte[] resource(String name) throws Exception {
        try (InputStream in = UrgentDataTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }
}
