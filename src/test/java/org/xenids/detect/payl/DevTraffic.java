package org.xenids.detect.payl;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;

/**
 * Real benign payloads of the dev training capture, through the project's own reader, decoder,
 * flow table and TCP reassembly (read once per JVM).
 */
final class DevTraffic {
    static final String TRAIN = "traffic/dev/train/train_benign.pcap.xz";
    /** The lab's servers, one VM image each (dataset README). */
    static final Map<String, String> IMAGE_OF = Map.of("10.0.0.11", "nginx", "10.0.0.12", "shop",
            "10.0.0.13", "sshd", "10.0.0.14", "redis", "10.0.0.15", "dnsmasq", "10.0.0.16", "invsvc");

    /** A payload and what it is scored as. */
    record Piece(Subject subject, byte[] payload) {}

    private static List<Piece> streams;
    private static List<Piece> deliveries;

    private DevTraffic() {}

    private static Subject subject(Flow f, boolean toServer) {
        return new Subject(IMAGE_OF.getOrDefault(f.serverAddress(), "unknown"),
                toServer ? Direction.TO_SERVER : Direction.TO_CLIENT, f.protocol(), f.serverPort());
    }

    /**
     * Each TCP stream direction up to {@code depth} bytes (trimmed when used) and each UDP
     * datagram ({@link #streams()}); each payload delivery of the reassembly, i.e. about one
     * segment ({@link #deliveries()}).
     */
    private static synchronized void load() {
        if (streams != null) {
            return;
        }
        List<Piece> s = new ArrayList<>();
        List<Piece> d = new ArrayList<>();
        Map<Long, ByteArrayOutputStream[]> open = new HashMap<>();
        int cap = PaylSettings.MAX_DEPTH;
        StreamListener l = new StreamListener() {
            @Override
            public void payload(Flow f, boolean toServer, byte[] buf, int off, int len, long at) {
                byte[] copy = java.util.Arrays.copyOfRange(buf, off, off + len);
                d.add(new Piece(subject(f, toServer), copy));
                if (f.protocol() == 17) {
                    s.add(new Piece(subject(f, toServer), copy));
                    return;
                }
                ByteArrayOutputStream[] b = open.computeIfAbsent(f.id(), k -> new ByteArrayOutputStream[2]);
                int i = toServer ? 0 : 1;
                if (b[i] == null) {
                    b[i] = new ByteArrayOutputStream();
                }
                b[i].write(copy, 0, Math.min(len, cap - b[i].size()));
            }

            @Override
            public void flowEnd(Flow f) {
                ByteArrayOutputStream[] b = open.remove(f.id());
                if (b != null) {
                    for (int i = 0; i < 2; i++) {
                        if (b[i] != null) {
                            s.add(new Piece(subject(f, i == 0), b[i].toByteArray()));
                        }
                    }
                }
            }
        };
        Pipeline p = new Pipeline(FlowConfig.defaults().withDepth(-1)
                .withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE), l);
        try (CaptureReader r = CaptureReader.open(SharedData.file(TRAIN))) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.finish();
        streams = List.copyOf(s);
        deliveries = List.copyOf(d);
    }

    static List<Piece> streams() {
        load();
        return streams;
    }

    static List<Piece> deliveries() {
        load();
        return deliveries;
    }
}
