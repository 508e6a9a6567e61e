package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.ACK;
import static org.xenids.testdata.PacketBuilder.FIN;
import static org.xenids.testdata.PacketBuilder.PSH;
import static org.xenids.testdata.PacketBuilder.RST;
import static org.xenids.testdata.PacketBuilder.SYN;
import static org.xenids.testdata.PacketBuilder.tcpFrame;
import static org.xenids.testdata.PacketBuilder.tcpUrgentFrame;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.pcap.LinkType;
import org.xenids.testdata.EveSchema;

/**
 * A sender who orders its segments so that the reassembly gives up the stream's first bytes,
 * where the attack is, while the target's TCP stack takes them all. Models: the dev set's real
 * port-80 requests ({@link ShellcodeOnWebModelTest}); the cover traffic is those same requests,
 * end to end, so that only the attack can make a stream score above its threshold.
 */
class ReassemblyEvasionTest {
    static final String CLIENT = "203.0.113.170";
    static final String SERVER = "10.0.0.11";
    static PaylModels models;
    /** Real requests, end to end: 70,000 bytes, more than a 64 KiB reassembly window. */
    static byte[] cover;
    static final byte[] ATTACK = ShellcodeOnWebModelTest.overflowRequest(true);

    @BeforeAll
    static void train() {
        List<DevTraffic.Piece> used = new ArrayList<>();
        models = ShellcodeOnWebModelTest.port80RequestModels(used);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; b.size() < 70_000; i++) {
            b.writeBytes(used.get(i % used.size()).payload());
        }
        cover = Arrays.copyOf(b.toByteArray(), 70_000);
    }

    /** PAYL over the flow stage as `xenids detect` sets it up, alerts and anomalies kept. */
    static final class Run {
        final List<EveEvent.Alert> alerts = new ArrayList<>();
        final List<EveEvent.Anomaly> anomalies = new ArrayList<>();
        final PaylFlows payl;
        final Pipeline pipeline;
        long t = 1_000_000_000L;

        Run(FlowConfig cfg) {
            payl = PaylFlows.detecting(models, f -> "nginx", false, s -> { }, alerts::add)
                    .placedBy(f -> new String[] {"web-1", "vif0"}).anomaliesTo(anomalies::add);
            pipeline = new Pipeline(cfg, payl);
        }

        Run() {
            this(PaylFlows.flowConfig(models.settings(), false));
        }

        /** A handshake from client port {@code port}; the client's first data byte has sequence number 1000. */
        long open(int port) {
            frame(tcpFrame(CLIENT, port, SERVER, 80, 999, 0, SYN, new byte[0]));
            frame(tcpFrame(SERVER, 80, CLIENT, port, 5000, 1000, SYN | ACK, new byte[0]));
            frame(tcpFrame(CLIENT, port, SERVER, 80, 1000, 5001, ACK, new byte[0]));
            return pipeline.lastFlow().id();
        }

        /** {@code data[from, to)} as segments of up to 1,448 bytes, at stream offset {@code at + from}. */
        void send(int port, int at, byte[] data, int from, int to) {
            for (int i = from; i < to; i += 1448) {
                byte[] seg = Arrays.copyOfRange(data, i, Math.min(to, i + 1448));
                frame(tcpFrame(CLIENT, port, SERVER, 80, 1000 + at + i, 5001, PSH | ACK, seg));
            }
        }

        void close(int port, int end) {
            frame(tcpFrame(CLIENT, port, SERVER, 80, 1000 + end, 5001, FIN | ACK, new byte[0]));
            frame(tcpFrame(SERVER, 80, CLIENT, port, 5001, 1001 + end, FIN | ACK, new byte[0]));
        }

        void frame(byte[] f) {
            t += 1_000_000;
            pipeline.frame(f, 0, f.length, t, LinkType.ETHERNET);
        }
    }

    @Test
    void theCoverTrafficAloneRaisesNoAlertAndTheAttackBeforeItDoes() {
        Run cover = new Run();
        cover.open(41000);
        cover.send(41000, 0, ReassemblyEvasionTest.cover, 0, ReassemblyEvasionTest.cover.length);
        cover.close(41000, ReassemblyEvasionTest.cover.length);
        cover.pipeline.finish();
        assertEquals(0, cover.alerts.size(), "real requests, end to end");

        Run inOrder = new Run();
        inOrder.open(41000);
        inOrder.send(41000, 0, ATTACK, 0, ATTACK.length);
        inOrder.send(41000, ATTACK.length, ReassemblyEvasionTest.cover, 0, ReassemblyEvasionTest.cover.length);
        inOrder.pipeline.finish();
        assertEquals(1, inOrder.alerts.size(), "the attack, then the cover, in order");
    }

    @Test
    void anAttackSentLastBehindMoreThanAWindowOfCoverIsStillScored() {
        // The cover first, from the attack's end on: 70,000 bytes out of order behind a hole the
        // size of the attack; then the attack fills the hole. The target delivers attack + cover.
        Run r = new Run();
        r.open(41000);
        r.send(41000, ATTACK.length, cover, 0, cover.length);
        r.send(41000, 0, ATTACK, 0, ATTACK.length);
        r.close(41000, ATTACK.length + cover.length);
        r.pipeline.finish();
        assertEquals(List.of(), r.anomalies, "no hole given up");
        assertEquals(1, r.alerts.size(), "the stream's first bytes are the attack");
        assertTrue((double) r.alerts.get(0).context().get("score") > 1);
        assertEquals(0, r.payl.doubts().gaps());
    }

    @Test
    void aSegmentOverHeldBytesWithOtherBytesIsReportedAsAStreamAnomalyOfItsFlow() throws Exception {
        // Cover held out of order behind a 100-byte hole, then the attack over it, as long: Linux
        // keeps the later segment that covers an earlier one, so the guest gets the attack. The
        // reassembly keeps what it held first, and says that it had two versions.
        Run r = new Run();
        long flow = r.open(41000);
        r.send(41000, 0, cover, 100, 100 + ATTACK.length);
        r.send(41000, 100, ATTACK, 0, ATTACK.length);
        r.send(41000, 0, cover, 0, 100);
        r.close(41000, 100 + ATTACK.length);
        r.pipeline.finish();
        assertEquals(1, r.anomalies.size(), r.anomalies.toString());
        EveEvent.Anomaly a = r.anomalies.get(0);
        assertEquals(flow, a.flowId());
        assertEquals("stream.reassembly_overlap_different_data", a.event());
        assertEquals(CLIENT, a.endpoints().srcIp());
        long differing = 0;
        for (int i = 0; i < ATTACK.length; i++) {
            differing += ATTACK[i] != cover[100 + i] ? 1 : 0;
        }
        assertEquals(differing, r.payl.doubts().differingBytes());
        assertEquals(1, r.payl.doubts().differingDirections());
        assertEquals(0, r.payl.doubts().gaps());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (EveWriter w = EveWriter.of(out)) {
            w.write(a);
        }
        EveSchema.assertValid(out.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void aSynWithAnotherSequenceNumberInsideAnOpenConnectionDoesNotRestartItsStream() {
        // A SYN on the connection's 5-tuple, 100,000 bytes ahead of its stream: the server's stack
        // answers with a challenge ACK and ignores it. Taken for a new connection, it would make
        // the attack after it look like old bytes of the new one.
        Run r = new Run();
        long flow = r.open(41000);
        r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000 + 100_000, 0, SYN, new byte[0]));
        r.send(41000, 0, ATTACK, 0, ATTACK.length);
        r.close(41000, ATTACK.length);
        r.pipeline.finish();
        assertEquals(1, r.alerts.size(), "the attack is scored");
        assertEquals(flow, r.alerts.get(0).flowId());
        assertEquals(1, r.pipeline.table().flowsCreated());
        assertEquals(1, r.pipeline.table().synsOnEstablished());
    }

    @Test
    void aFinAheadOfAHoleOrARstOffTheNextNumberEndsNothingSoTheSynAfterItRestartsNothing() {
        // The TCB teardown evasion: a close the server's stack ignores (a FIN 5,000 bytes ahead
        // waits for the bytes before it; a RST must come at exactly the next number), then a SYN
        // 100,000 bytes ahead, then the attack on the connection that is still open.
        for (int flags : new int[] {FIN | ACK, RST, RST | ACK}) {
            Run r = new Run();
            r.open(41000);
            r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000 + 5_000, 5001, flags, new byte[0]));
            r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000 + 100_000, 0, SYN, new byte[0]));
            r.send(41000, 0, ATTACK, 0, ATTACK.length);
            r.pipeline.finish();
            assertEquals(1, r.alerts.size(), "flags " + flags + ": the attack is scored");
            assertEquals(1, r.pipeline.table().flowsCreated());
        }
    }

    @Test
    void aConnectionClosedInOrderIsFollowedByANewFlowOnTheSameTuple() {
        for (int flags : new int[] {FIN | ACK, RST}) {
            Run r = new Run();
            r.open(41000);
            r.send(41000, 0, cover, 0, 300);
            r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000 + 300, 5001, flags, new byte[0]));
            r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 777_777, 0, SYN, new byte[0]));
            assertEquals(2, r.pipeline.table().flowsCreated(), "flags " + flags);
            assertEquals(0, r.pipeline.table().synsOnEstablished());
        }
    }

    @Test
    void dataOnASynTheServerDoesNotAcknowledgeStandsInForNothing() {
        // Cover on the SYN: without TCP Fast Open the server's stack drops it and acknowledges
        // only the SYN, so the attack sent after the handshake at the same numbers is what it reads.
        Run r = new Run();
        byte[] decoy = Arrays.copyOf(cover, ATTACK.length);
        r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 999, 0, SYN, decoy));
        r.frame(tcpFrame(SERVER, 80, CLIENT, 41000, 5000, 1000, SYN | ACK, new byte[0]));
        r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000, 5001, ACK, new byte[0]));
        r.send(41000, 0, ATTACK, 0, ATTACK.length);
        r.close(41000, ATTACK.length);
        r.pipeline.finish();
        assertEquals(1, r.alerts.size(), "the attack is scored");
        assertEquals(0, r.payl.doubts().gaps());
    }

    @Test
    void dataOnASynTheServerAcknowledgesIsTheStreamsFirstBytes() {
        // TCP Fast Open: the SYN-ACK acknowledges the SYN's data, which the server reads.
        Run r = new Run();
        r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 999, 0, SYN, ATTACK));
        r.frame(tcpFrame(SERVER, 80, CLIENT, 41000, 5000, 1000 + ATTACK.length, SYN | ACK, new byte[0]));
        r.frame(tcpFrame(CLIENT, 41000, SERVER, 80, 1000 + ATTACK.length, 5001, ACK, new byte[0]));
        r.close(41000, ATTACK.length);
        r.pipeline.finish();
        assertEquals(1, r.alerts.size(), "the attack on the SYN is scored");
        assertEquals(0, r.payl.doubts().gaps());
    }

    @Test
    void aHoleGivenUpInsideTheScoredBytesIsReportedAsAStreamAnomalyOfItsFlow() throws Exception {
        // A pool of one window: another connection holds it, so the attack connection's cover
        // cannot wait for the hole, which is given up. The score then misses the attack; the
        // anomaly says so, naming the flow.
        int depth = models.settings().depth();
        Run r = new Run(FlowConfig.defaults().withDepth(depth).withBuffers(1 << 16, depth + depth / 8));
        long holder = r.open(41001);
        r.send(41001, 10, cover, 0, 100);
        long attackFlow = r.open(41000);
        r.send(41000, ATTACK.length, cover, 0, depth - ATTACK.length);
        r.send(41000, 0, ATTACK, 0, ATTACK.length);
        assertEquals(1, r.anomalies.size());
        EveEvent.Anomaly a = r.anomalies.get(0);
        assertEquals(attackFlow, a.flowId());
        assertEquals("stream", a.type());
        assertEquals("stream.reassembly_seq_gap", a.event());
        assertEquals("web-1/vif0", a.inIface());
        assertEquals(CLIENT, a.endpoints().srcIp());
        assertEquals(80, a.endpoints().destPort());
        assertEquals(1, r.payl.doubts().gaps());
        assertEquals(ATTACK.length, r.payl.doubts().gapBytes());
        assertEquals(1, r.payl.doubts().gapDirections());
        r.pipeline.finish();
        // At the end the holder's own 10-byte hole, never filled, is given up too.
        assertEquals(List.of(attackFlow, holder), r.anomalies.stream().map(EveEvent.Anomaly::flowId).toList(),
                "one anomaly per flow direction");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (EveWriter w = EveWriter.of(out)) {
            w.write(a);
        }
        EveSchema.assertValid(out.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void aDecoyItsReceiverDropsIsReportedOnceAndTheAttackBehindItIsScored() throws Exception {
        // Decoys with a loose source route (a Linux guest drops them) carrying the cover at the
        // attack's sequence numbers, ahead of the attack.
        Run r = new Run();
        long flow = r.open(41500);
        byte[] lsrr = {(byte) 0x83, 7, 4, 10, 0, 0, 1, 1};
        for (int i = 0; i < 3; i++) {
            byte[] decoy = Arrays.copyOf(cover, ATTACK.length);
            r.frame(org.xenids.testdata.PacketBuilder.ethernet(0x0800, org.xenids.testdata.PacketBuilder.ipv4(
                    org.xenids.testdata.PacketBuilder.TCP, CLIENT, SERVER, 40 + i, 0, false, lsrr,
                    org.xenids.testdata.PacketBuilder.tcp(41500, 80, 1000, 5001, PSH | ACK, decoy))));
        }
        r.send(41500, 0, ATTACK, 0, ATTACK.length);
        r.close(41500, ATTACK.length);
        r.pipeline.finish();
        assertEquals(1, r.alerts.size(), "the attack, not the decoys, was scored");
        assertEquals(1, r.anomalies.size(), "once per flow direction: " + r.anomalies);
        EveEvent.Anomaly a = r.anomalies.get(0);
        assertEquals("decode", a.type());
        assertEquals("ipv4.opt_source_route", a.event());
        assertEquals(flow, a.flowId());
        assertEquals(CLIENT, a.endpoints().srcIp(), "oriented as the decoys travelled");
        assertEquals(3, r.payl.doubts().refusedPackets());
        assertEquals(1, r.payl.doubts().refusedDirections());
    }

    @Test
    void aDecoyTheGuestDropsForAnUnjudgedReasonFillingTheDepthThenTheAttackIsReported() {
        // The decoys acknowledge data the guest never sent: Linux drops them (ACK_UNSENT_DATA,
        // scripts/make-decoy-capture shows it), and its application reads the attack sent after
        // them at the same numbers. The flow stage does not judge such an acknowledgement (a frame
        // the tap lost looks the same), so the decoys, a full depth of cover, are what is scored;
        // but the attack is another copy of bytes the guest has not acknowledged, and is reported.
        Run r = new Run();
        long flow = r.open(41700);
        int n = models.settings().depth() + 1448;
        for (int i = 0; i < n; i += 1448) {
            r.frame(tcpFrame(CLIENT, 41700, SERVER, 80, 1000 + i, 90_000, PSH | ACK,
                    Arrays.copyOfRange(cover, i, Math.min(n, i + 1448))));
        }
        r.send(41700, 0, ATTACK, 0, ATTACK.length); // (the cover filled the depth: scored already)
        r.pipeline.finish();
        assertEquals(1, r.payl.scoredDirections());
        assertEquals(0, r.alerts.size(), "the cover was scored, not the attack");
        // (The decoys' acknowledgement also has the server's stream end with a gap: bytes
        // acknowledged that never came by.)
        assertEquals(List.of("stream.reassembly_overlap_different_data " + CLIENT,
                "stream.reassembly_seq_gap " + SERVER), r.anomalies.stream()
                .map(a -> a.event() + " " + a.endpoints().srcIp()).toList());
        assertEquals(flow, r.anomalies.get(0).flowId());
        long differing = 0;
        for (int i = 0; i < ATTACK.length; i++) {
            differing += ATTACK[i] != cover[i] ? 1 : 0;
        }
        assertEquals(differing, r.payl.doubts().differingBytes());
    }

    @Test
    void spendingTheBuffersFirstHidesNoAttackCopy() {
        // The test above, after another connection's unacknowledged bytes (a decoy the guest
        // dropped, so never acknowledged) took the one window of a pool of two that keeping
        // may take: the decoy cannot be kept, the attack not compared, and that is reported.
        int window = models.settings().depth(); // the window the depth of 4,096 makes
        Run r = new Run(PaylFlows.flowConfig(models.settings(), false).withBuffers(1 << 16, 2L * (window + window / 8)));
        r.open(41800);
        r.frame(tcpFrame(CLIENT, 41800, SERVER, 80, 1000, 90_000, PSH | ACK, Arrays.copyOf(cover, 1000)));
        long flow = r.open(41700);
        int n = models.settings().depth() + 1448;
        for (int i = 0; i < n; i += 1448) {
            r.frame(tcpFrame(CLIENT, 41700, SERVER, 80, 1000 + i, 90_000, PSH | ACK,
                    Arrays.copyOfRange(cover, i, Math.min(n, i + 1448))));
        }
        r.send(41700, 0, ATTACK, 0, ATTACK.length);
        r.pipeline.finish();
        assertEquals(0, r.alerts.size(), "the cover was scored, not the attack");
        List<EveEvent.Anomaly> copies = r.anomalies.stream()
                .filter(a -> a.event().startsWith("stream.reassembly_") && !a.event().endsWith("seq_gap")).toList();
        assertEquals(1, copies.size(), r.anomalies.toString());
        assertEquals("stream.reassembly_copy_not_compared", copies.get(0).event());
        assertEquals(flow, copies.get(0).flowId());
        assertEquals(CLIENT, copies.get(0).endpoints().srcIp());
        assertEquals(ATTACK.length, r.payl.doubts().notComparedBytes());
        assertEquals(0, r.payl.doubts().differingBytes());
    }

    @Test
    void aCloseTheGuestIgnoredThenASynLeavesTheDecoyReported() {
        // The decoy (Linux drops it), a RST at the number after it (Linux ignores it: its next
        // number is still the decoy's) and a SYN (ignored too, a challenge ACK); then the attack
        // at the decoy's numbers, which the guest's application reads. The SYN started a new flow
        // here, in which the attack is an old retransmission: the decoy's bytes, never
        // acknowledged, are reported as not compared.
        for (int flags : new int[] {RST | ACK, FIN | ACK}) {
            Run r = new Run();
            long flow = r.open(41900);
            byte[] decoy = Arrays.copyOf(cover, ATTACK.length);
            r.frame(tcpFrame(CLIENT, 41900, SERVER, 80, 1000, 90_000, PSH | ACK, decoy));
            r.frame(tcpFrame(CLIENT, 41900, SERVER, 80, 1000 + decoy.length, 5001, flags, new byte[0]));
            r.frame(tcpFrame(CLIENT, 41900, SERVER, 80, 2_000_000, 0, SYN, new byte[0]));
            r.send(41900, 0, ATTACK, 0, ATTACK.length);
            r.pipeline.finish();
            assertEquals(0, r.alerts.size());
            List<EveEvent.Anomaly> copies = r.anomalies.stream()
                    .filter(a -> a.event().equals("stream.reassembly_copy_not_compared")).toList();
            assertEquals(1, copies.size(), r.anomalies.toString());
            assertEquals(flow, copies.get(0).flowId());
            assertEquals(decoy.length, r.payl.doubts().notComparedBytes());
        }
    }

    /**
     * Ahead of each byte of the attack, {@code k} segments of one byte of the cover each, marked
     * urgent. A Linux guest's application (no SO_OOBINLINE, reading as data comes) reads the attack
     * alone; a detector keeping urgent bytes in line scores mostly cover.
     */
    static Run urgentCover(FlowConfig cfg, int k) {
        Run r = new Run(cfg);
        r.open(41600);
        int seq = 1000, c = 0;
        for (byte b : ATTACK) {
            for (int j = 0; j < k; j++) {
                r.frame(tcpUrgentFrame(CLIENT, 41600, SERVER, 80, seq++, 5001, PSH | ACK, 1, new byte[] {cover[c++]}));
            }
            r.frame(tcpFrame(CLIENT, 41600, SERVER, 80, seq++, 5001, PSH | ACK, new byte[] {b}));
        }
        r.close(41600, seq - 1000);
        r.pipeline.finish();
        return r;
    }

    @Test
    void coverBytesMarkedUrgentAreTakenOutOfTheScoredStreamAndReportedOnce() {
        Run alone = new Run();
        alone.open(41600);
        alone.send(41600, 0, ATTACK, 0, ATTACK.length);
        alone.close(41600, ATTACK.length);
        alone.pipeline.finish();
        double attackScore = (double) alone.alerts.get(0).context().get("score");

        Run r = urgentCover(PaylFlows.flowConfig(models.settings(), false), 3);
        assertEquals(1, r.alerts.size());
        assertEquals(attackScore, (double) r.alerts.get(0).context().get("score"), "the application's bytes were scored");
        assertEquals(1, r.anomalies.size(), "once per flow direction: " + r.anomalies);
        EveEvent.Anomaly a = r.anomalies.get(0);
        assertEquals("stream", a.type());
        assertEquals("stream.urgent_data", a.event());
        assertEquals(CLIENT, a.endpoints().srcIp());
        assertEquals(3L * ATTACK.length, r.payl.doubts().urgentBytes());
        assertEquals(1, r.payl.doubts().urgentDirections());

        Run inline = urgentCover(PaylFlows.flowConfig(models.settings(), false)
                .withUrgent(FlowConfig.UrgentPolicy.INLINE), 3);
        assertEquals(1, inline.anomalies.size(), "reported under either policy");
        assertTrue((double) inline.alerts.get(0).context().get("score") < attackScore / 2,
                "in line, the cover dilutes the attack: " + inline.alerts.get(0).context().get("score"));
    }
}
