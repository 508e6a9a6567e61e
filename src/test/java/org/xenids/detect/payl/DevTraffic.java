package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;
import org.xenids.testdata.TsharkPayloads;

/** Real benign payloads of the dev training capture (tshark-dissected, cached per JVM). */
final class DevTraffic {
    static final String TRAIN = "traffic/dev/train/train_benign.pcap.xz";
    /** The lab's servers, one VM image each (dataset README). */
    static final Map<String, String> IMAGE_OF = Map.of("10.0.0.11", "nginx", "10.0.0.12", "shop",
            "10.0.0.13", "sshd", "10.0.0.14", "redis", "10.0.0.15", "dnsmasq", "10.0.0.16", "invsvc");

    private static List<TsharkPayloads.Packet> packets;

    private DevTraffic() {}

    static synchronized List<TsharkPayloads.Packet> trainPackets() {
        assumeTrue(TsharkPayloads.available(), "tshark not installed (scripts/install-test-deps)");
        if (packets == null) {
            packets = TsharkPayloads.packets(TRAIN);
        }
        return packets;
    }

    static List<TsharkPayloads.Piece> trainPieces(int depth) {
        return TsharkPayloads.pieces(trainPackets(), depth);
    }

    static Subject subject(TsharkPayloads.Piece p) {
        return new Subject(IMAGE_OF.getOrDefault(p.server(), "unknown"),
                p.toServer() ? Direction.TO_SERVER : Direction.TO_CLIENT, p.proto(), p.serverPort());
    }
}
