package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;
import org.xenids.testdata.Tshark;

/**
 * The flow table against Wireshark on the real dev captures. The comparison is exact, packet by
 * packet: every frame's flow must correspond one-to-one to its {@code tcp.stream} or
 * {@code udp.stream} (so flow counts, splits of reused 5-tuples and per-flow packet sets all agree),
 * and every frame's flow must carry the Community ID that tshark's communityid dissector gives the
 * frame. Wireshark keeps a UDP conversation for the whole file and splits TCP on a SYN with a new
 * initial sequence number; the captures span less than the 120 s idle timeout, so both split
 * policies must give Wireshark's partition here — and the label CSV's flow count.
 */
class TsharkComparisonTest {

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({
        "traffic/dev/train/train_benign.pcap.xz, NEW_ISN, traffic/dev/train/train_benign.csv",
        "traffic/dev/train/train_benign.pcap.xz, AFTER_CLOSE, traffic/dev/train/train_benign.csv",
        "traffic/dev/test/test_mixed.pcap.xz, NEW_ISN, traffic/dev/test/test_mixed.csv",
        "traffic/dev/test/test_mixed.pcap.xz, AFTER_CLOSE, traffic/dev/test/test_mixed.csv",
    })
    void everyPacketsFlowAndCommunityIdMatchWireshark(String capture, FlowConfig.SplitPolicy split, String labels)
            throws Exception {
        Tshark.assumeInstalled();
        Path plain = SharedData.plain(capture);
        List<String> ts = Tshark.fields(plain, "frame.number", "tcp.stream", "udp.stream", "communityid", "tcp.len",
                "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission");

        Map<Long, String> cidOfFlow = new HashMap<>();
        long[] payload = {0, 0};
        StreamListener l = new StreamListener() {
            @Override
            public void payload(Flow f, boolean toServer, byte[] buf, int off, int len, long streamOffset) {
                payload[0] += len;
            }

            @Override
            public void flowEnd(Flow f) {
                cidOfFlow.put(f.id(), f.communityId());
                if (f.protocol() == 6) payload[1] += f.payloadBytes(true) + f.payloadBytes(false);
            }
        };
        Pipeline pipe = new Pipeline(FlowConfig.defaults().withSplit(split).withDepth(-1), l);
        long[] flowOfFrame = new long[ts.size() + 1];
        long tcpFlows = 0, udpFlows = 0;
        Set<Long> seen = new HashSet<>();
        int n = 0;
        try (CaptureReader r = CaptureReader.open(plain)) {
            while (r.next()) {
                n++;
                pipe.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
                Flow f = pipe.lastFlow();
                if (n < flowOfFrame.length) flowOfFrame[n] = f == null ? 0 : f.id();
                if (f != null && seen.add(f.id())) {
                    if (f.protocol() == 6) tcpFlows++;
                    else if (f.protocol() == 17) udpFlows++;
                }
            }
        }
        pipe.finish();
        assertEquals(ts.size(), n, "packets: tshark vs xenids");
        assertEquals(seen.size(), cidOfFlow.size(), "every flow ended once");

        Map<String, Long> flowOfStream = new HashMap<>();
        Map<Long, String> streamOfFlow = new HashMap<>();
        Set<String> tcpStreams = new HashSet<>(), udpStreams = new HashSet<>();
        long tcpPayload = 0, tcpRetransmitted = 0;
        for (String line : ts) {
            String[] c = line.split("\\|", -1);
            if (!c[4].isEmpty()) {
                boolean retrans = !c[5].isEmpty() || !c[6].isEmpty() || !c[7].isEmpty();
                if (retrans) tcpRetransmitted += Long.parseLong(c[4]); else tcpPayload += Long.parseLong(c[4]);
            }
            int frame = Integer.parseInt(c[0]);
            String stream = !c[1].isEmpty() ? "tcp" + c[1] : !c[2].isEmpty() ? "udp" + c[2] : null;
            long flow = flowOfFrame[frame];
            if (stream == null) {
                assertEquals(0, flow, "frame " + frame + ": in no tshark stream but in xenids flow " + flow);
                continue;
            }
            (stream.startsWith("tcp") ? tcpStreams : udpStreams).add(stream);
            if (flow == 0) fail("frame " + frame + ": in " + stream + " but in no xenids flow");
            Long prevFlow = flowOfStream.putIfAbsent(stream, flow);
            if (prevFlow != null && prevFlow != flow) {
                fail("frame " + frame + ": " + stream + " spans xenids flows " + prevFlow + " and " + flow);
            }
            String prevStream = streamOfFlow.putIfAbsent(flow, stream);
            if (prevStream != null && !prevStream.equals(stream)) {
                fail("frame " + frame + ": xenids flow " + flow + " spans " + prevStream + " and " + stream);
            }
            assertEquals(c[3], cidOfFlow.get(flow), "frame " + frame + ": Community ID of " + stream);
        }
        assertEquals(tcpStreams.size(), tcpFlows, "TCP flows vs tcp.stream count");
        assertEquals(udpStreams.size(), udpFlows, "UDP flows vs udp.stream count");
        long csvRows = Files.lines(SharedData.file(labels)).skip(1).filter(s -> !s.isBlank()).count();
        assertEquals(csvRows, tcpFlows + udpFlows, "flows vs rows of the label CSV");
        assertTrue(tcpFlows > 1000);
        // Reassembly: every TCP payload byte tshark does not call a retransmission is delivered once,
        // in order, with no gap; what tshark calls retransmitted is what the streams dropped as such.
        FlowTable t = pipe.table();
        assertEquals(0, t.gaps(), "gaps");
        assertEquals(0, t.overlapDifferentBytes(), "overlapping bytes that differ");
        assertEquals(tcpRetransmitted, t.retransmittedBytes(), "retransmitted bytes vs tshark's tcp.analysis");
        assertEquals(tcpPayload, payload[1], "TCP payload bytes delivered (flow counters) vs tshark");
        long udpPayloadDelivered = payload[0] - payload[1];
        assertTrue(udpPayloadDelivered > 0, "UDP payloads are delivered too");
    }
}
