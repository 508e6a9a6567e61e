package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.decode.Decoder;

/**
 * A segment with neither ACK, SYN nor RST is one a Linux receiver drops in every state: a
 * sender's decoy of that kind ahead of the real bytes must not stand in for them, nor close the flow.
 */
class AckFlagTest {
    static final String C = FlowTableTest.C, SV = FlowTableTest.SV;

    final FlowTableTest.Recorder rec = new FlowTableTest.Recorder();
    final Pipeline p = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), rec));

    Flow send(boolean toServer, int seq, int ack, int flags, String data) {
        byte[] d = data.getBytes(StandardCharsets.ISO_8859_1);
        byte[] f = toServer ? tcpFrame(C, 40000, SV, 80, seq, ack, flags, d) : tcpFrame(SV, 80, C, 40000, seq, ack, flags, d);
        p.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
        return p.lastFlow();
    }

    /** The handshake: the client's first byte is 1, the server's 501. */
    void open() {
        send(true, 0, 0, SYN, "");
        send(false, 500, 1, SYN | ACK, "");
        send(true, 1, 501, ACK, "");
    }

    @Test
    void aSegmentWithoutTheAckFlagStandsInForNothingAndClosesNothing() {
        open();
        send(true, 1, 0, PSH, "cover!");
        Flow f = send(true, 1, 0, FIN, "");
        send(true, 1, 501, ACK | PSH, "attack");
        assertEquals("attack", rec.ts());
        assertEquals(List.of("ts stream.pkt_without_ack_flag", "ts stream.pkt_without_ack_flag"), rec.refused);
        assertEquals(Flow.TCP_ESTABLISHED, f.tcpState(), "a FIN without ACK closes nothing");
        assertEquals(2, p.table().receiverDroppedPackets());
    }

    @Test
    void aRstWithoutAckAtTheNextNumberStillEndsTheConnection() {
        open();
        Flow f = send(true, 1, 0, RST, "");
        assertEquals(Flow.TCP_CLOSED, f.tcpState());
        assertEquals(List.of(), rec.refused);
    }
}
