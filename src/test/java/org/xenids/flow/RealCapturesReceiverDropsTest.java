package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;

/**
 * The rules that mark a packet its receiver drops (checksums, IPv4 options, IPv6 extension
 * headers, fragment overlaps, TCP signatures, flags, PAWS, data past a FIN) against real traffic
 * between Linux hosts, timestamps on: every packet of the dev captures reached a real receiver,
 * so none is marked. Their checksums were checked independently when the captures were taken in:
 * none of their 246,854 TCP and 2,756 UDP packets has a wrong one.
 */
class RealCapturesReceiverDropsTest {
    @Test
    void everyPacketOfTheRealCapturesIsOneItsReceiverTakes() throws Exception {
        long tcp = 0, udp = 0;
        for (String c : List.of("traffic/dev/train/train_benign.pcap.xz", "traffic/dev/test/test_mixed.pcap.xz")) {
            Pipeline p = new Pipeline(FlowConfig.defaults(), StreamListener.NONE);
            try (CaptureReader r = CaptureReader.open(SharedData.file(c))) {
                while (r.next()) {
                    org.xenids.decode.Packet q = p.frame(r.array(), r.dataOffset(), r.capturedLength(),
                            r.timestampNanos(), r.linkType(), true);
                    tcp += q.protocol() == 6 && q.l4Length() >= 20 ? 1 : 0;
                    udp += q.protocol() == 17 && q.l4Length() >= 8 ? 1 : 0;
                }
            }
            p.finish();
            assertTrue(p.frames() > 80_000, c);
            assertEquals(0, p.decoder().count(org.xenids.decode.DecodeEvent.TCP_CHECKSUM_BAD), c);
            assertEquals(0, p.decoder().count(org.xenids.decode.DecodeEvent.UDP_CHECKSUM_BAD), c);
            assertEquals(0, p.table().receiverDroppedPackets(), c);
        }
        assertEquals(List.of(246_854L, 2_756L), List.of(tcp, udp), "every TCP and UDP packet was checked");
    }
}
