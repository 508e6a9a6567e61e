package org.xenids.bench;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;
import org.xenids.detect.payl.ByteHistogram;
import org.xenids.detect.payl.PaylModels;
import org.xenids.detect.payl.PaylSettings;
import org.xenids.detect.payl.PaylTrainer;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.pcap.CaptureReader;

/**
 * PAYL throughput on real payloads: every reassembled stream direction (up to the 4096-byte
 * depth) and UDP datagram of the dev training capture. One operation = one pass over all of them;
 * bytes/s = ops/s × the byte total printed at setup. {@code plainSum} sums the same bytes in a
 * plain loop: the baseline scoring is compared with in the same run.
 *
 * <p>{@code -Dxenids.data=DIR} points at the shared data (default ../shared/data).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PaylBench {
    byte[] all;
    int[] off;
    int[] len;
    Subject[] subject;
    long total;
    PaylModels models;
    PaylTrainer trainer;
    ByteHistogram hist;

    @Setup(Level.Trial)
    public void load() throws Exception {
        Path data = Path.of(System.getProperty("xenids.data", "../shared/data"));
        Path pcap = data.resolve("traffic/dev/train/train_benign.pcap.xz");
        int depth = PaylSettings.defaults().depth();
        Map<Long, ByteArrayOutputStream[]> streams = new HashMap<>();
        Map<Long, Subject[]> subjects = new HashMap<>();
        List<byte[]> pieces = new ArrayList<>();
        List<Subject> pieceSubjects = new ArrayList<>();
        // One image name per server, as a topology gives one per guest: the scorer compares the
        // names of the flows of one image by reference first, as it does in a real run.
        Map<String, String> images = new HashMap<>();
        StreamListener l = new StreamListener() {
            @Override
            public void payload(Flow f, boolean toServer, byte[] buf, int o, int n, long at) {
                Subject s = new Subject(images.computeIfAbsent(f.serverAddress(), a -> a), toServer ? Direction.TO_SERVER : Direction.TO_CLIENT,
                        f.protocol(), f.serverPort());
                if (f.protocol() == 17) {
                    pieces.add(java.util.Arrays.copyOfRange(buf, o, o + n));
                    pieceSubjects.add(s);
                    return;
                }
                ByteArrayOutputStream b = streams.computeIfAbsent(f.id(), k -> new ByteArrayOutputStream[2])[toServer ? 0 : 1] =
                        streams.get(f.id())[toServer ? 0 : 1] == null ? new ByteArrayOutputStream() : streams.get(f.id())[toServer ? 0 : 1];
                subjects.computeIfAbsent(f.id(), k -> new Subject[2])[toServer ? 0 : 1] = s;
                b.write(buf, o, Math.min(n, depth - b.size()));
            }
        };
        Pipeline p = new Pipeline(FlowConfig.defaults().withDepth(depth), l);
        try (CaptureReader r = CaptureReader.open(pcap)) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
            }
        }
        p.finish();
        streams.forEach((id, b) -> {
            for (int d = 0; d < 2; d++) {
                if (b[d] != null && b[d].size() > 0) {
                    pieces.add(b[d].toByteArray());
                    pieceSubjects.add(subjects.get(id)[d]);
                }
            }
        });
        int n = pieces.size();
        off = new int[n];
        len = new int[n];
        subject = pieceSubjects.toArray(new Subject[0]);
        ByteArrayOutputStream cat = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            off[i] = cat.size();
            len[i] = pieces.get(i).length;
            cat.writeBytes(pieces.get(i));
        }
        all = cat.toByteArray();
        total = all.length;
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        for (int i = 0; i < n; i++) {
            t.add(subject[i], all, off[i], len[i]);
        }
        models = t.build();
        // Each flow direction scores with the model set's own subject object, as detect's flows do.
        for (int i = 0; i < n; i++) {
            subject[i] = models.canonical(subject[i]);
        }
        trainer = new PaylTrainer(PaylSettings.defaults().withHoldout(0));
        hist = new ByteHistogram(depth);
        System.out.printf("%nPaylBench: %d payloads, %d bytes per pass (mean %.0f B), %d models%n",
                n, total, total / (double) n, models.models().size());
    }

    @Benchmark
    public long plainSum() {
        byte[] a = all;
        long s = 0;
        for (int i = 0; i < off.length; i++) {
            int o = off[i];
            int e = o + len[i];
            int sum = 0;
            for (int j = o; j < e; j++) {
                sum += a[j] & 0xFF;
            }
            s += sum;
        }
        return s;
    }

    @Benchmark
    public int histogram() {
        int s = 0;
        for (int i = 0; i < off.length; i++) {
            hist.reset();
            hist.add(all, off[i], len[i]);
            s += hist.count(' ');
        }
        return s;
    }

    @Benchmark
    public double score() {
        double s = 0;
        for (int i = 0; i < off.length; i++) {
            s += models.score(subject[i], all, off[i], len[i]);
        }
        return s;
    }

    /** As {@link #score}, but one subject object for all payloads (per-packet scoring of one flow): the model lookup hits its cache. */
    @Benchmark
    public double scoreSameSubject() {
        double s = 0;
        Subject one = subject[0];
        for (int i = 0; i < off.length; i++) {
            s += models.score(one, all, off[i], len[i]);
        }
        return s;
    }

    @Benchmark
    public long train() {
        for (int i = 0; i < off.length; i++) {
            trainer.add(subject[i], all, off[i], len[i]);
        }
        return trainer.trainedSamples();
    }
}
