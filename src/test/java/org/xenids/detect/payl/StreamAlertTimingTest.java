package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.ACK;
import static org.xenids.testdata.PacketBuilder.FIN;
import static org.xenids.testdata.PacketBuilder.PSH;
import static org.xenids.testdata.PacketBuilder.SYN;
import static org.xenids.testdata.PacketBuilder.tcpFrame;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.detect.Direction;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.pcap.LinkType;

/**
 * When a stream direction is judged: as soon as its first {@code depth} bytes have passed (later
 * bytes cannot change the score), else when its flow ends. Models: the real port-80 requests of
 * the dev training set, as in {@link ShellcodeOnWebModelTest}.
 */
class StreamAlertTimingTest {
    static final String CLIENT = "203.0.113.170";
    static final String SERVER = "10.0.0.11";
    static PaylModels models;

    @BeforeAll
    static void train() {
        models = ShellcodeOnWebModelTest.port80RequestModels(new ArrayList<>());
    }

    /** A TCP connection to SERVER:80 fed frame by frame, its alerts and score rows collected. */
    static final class Conn {
        final List<EveEvent.Alert> alerts = new ArrayList<>();
        final List<PaylFlows.Scored> rows = new ArrayList<>();
        final Pipeline pipeline = new Pipeline(FlowConfig.defaults().withDepth(models.settings().depth()),
                PaylFlows.detecting(models, f -> "nginx", false, rows::add, alerts::add));
        int seq = 1000;
        long t = 1_000_000_000L;

        Conn() {
            frame(tcpFrame(CLIENT, 41000, SERVER, 80, seq - 1, 0, SYN, new byte[0]));
            frame(tcpFrame(SERVER, 80, CLIENT, 41000, 5000, seq, SYN | ACK, new byte[0]));
            frame(tcpFrame(CLIENT, 41000, SERVER, 80, seq, 5001, ACK, new byte[0]));
        }

        void send(byte[] payload) {
            frame(tcpFrame(CLIENT, 41000, SERVER, 80, seq, 5001, PSH | ACK, payload));
            seq += payload.length;
            // The server acknowledges, so the stream is delivered up to here.
            frame(tcpFrame(SERVER, 80, CLIENT, 41000, 5001, seq, ACK, new byte[0]));
        }

        void close() {
            frame(tcpFrame(CLIENT, 41000, SERVER, 80, seq, 5001, FIN | ACK, new byte[0]));
            frame(tcpFrame(SERVER, 80, CLIENT, 41000, 5001, seq + 1, FIN | ACK, new byte[0]));
            frame(tcpFrame(CLIENT, 41000, SERVER, 80, seq + 1, 5002, ACK, new byte[0]));
            pipeline.finish();
        }

        void frame(byte[] f) {
            t += 1_000_000;
            pipeline.frame(f, 0, f.length, t, LinkType.ETHERNET);
        }
    }

    @Test
    void anAttackInALongConnectionAlertsWhenTheDepthIsReachedNotAtClose() {
        Conn c = new Conn();
        byte[] attack = ShellcodeOnWebModelTest.overflowRequest(false);
        int depth = models.settings().depth();
        int sent = 0;
        while (sent + attack.length < depth) {
            c.send(attack);
            sent += attack.length;
            assertEquals(0, c.alerts.size(), "no judgement before the depth is reached (" + sent + " bytes)");
        }
        c.send(attack);
        long depthReachedAt = c.t;
        assertEquals(1, c.alerts.size(), "alert as soon as " + depth + " bytes have passed, with the flow still open");
        EveEvent.Alert a = c.alerts.get(0);
        assertTrue((double) a.context().get("score") > 1);
        // More of the same connection neither alerts again nor changes the judged bytes.
        c.send(attack);
        c.send(attack);
        assertEquals(1, c.alerts.size());
        assertTrue(c.rows.isEmpty(), "the score row is written when the flow ends");
        c.close();
        assertEquals(1, c.alerts.size(), "closing does not judge the direction a second time");
        PaylFlows.Scored row = c.rows.stream().filter(r -> r.direction() == Direction.TO_SERVER).findFirst().orElseThrow();
        assertTrue(row.score() > 1, row.toString());
        // The flow stage reassembles no further than the depth it was given.
        assertEquals(depth, row.payloadBytes());
        assertTrue(depthReachedAt < c.t);
    }

    @Test
    void aShortAttackIsJudgedWhenItsFlowEnds() {
        Conn c = new Conn();
        c.send(ShellcodeOnWebModelTest.overflowRequest(true));
        assertEquals(0, c.alerts.size(), "fewer than depth bytes: the stream may still grow");
        c.close();
        assertEquals(1, c.alerts.size());
        assertEquals(1, c.rows.stream().filter(r -> r.direction() == Direction.TO_SERVER).count());
    }

    @Test
    void trainingAtTheDepthLearnsEachDirectionOnce() {
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        Pipeline p = new Pipeline(FlowConfig.defaults().withDepth(t.settings().depth()),
                PaylFlows.training(t, f -> "nginx", false));
        byte[] req = ShellcodeOnWebModelTest.overflowRequest(true);
        int seq = 1000;
        long ts = 1;
        byte[][] frames = {
            tcpFrame(CLIENT, 41000, SERVER, 80, seq - 1, 0, SYN, new byte[0]),
            tcpFrame(SERVER, 80, CLIENT, 41000, 5000, seq, SYN | ACK, new byte[0]),
            tcpFrame(CLIENT, 41000, SERVER, 80, seq, 5001, ACK, new byte[0]),
        };
        for (byte[] f : frames) {
            p.frame(f, 0, f.length, ts++, LinkType.ETHERNET);
        }
        for (int i = 0; i < 12; i++) {
            byte[] f = tcpFrame(CLIENT, 41000, SERVER, 80, seq, 5001, PSH | ACK, req);
            p.frame(f, 0, f.length, ts++, LinkType.ETHERNET);
            seq += req.length;
            byte[] ack = tcpFrame(SERVER, 80, CLIENT, 41000, 5001, seq, ACK, new byte[0]);
            p.frame(ack, 0, ack.length, ts++, LinkType.ETHERNET);
        }
        assertEquals(1, t.trainedSamples(), "learnt when the depth was reached");
        p.finish();
        assertEquals(1, t.trainedSamples(), "and not again when the flow ended");
    }
}
