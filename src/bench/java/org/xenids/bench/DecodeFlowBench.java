package org.xenids.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.tukaani.xz.XZInputStream;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;
import org.xenids.pcap.CaptureReader;

/**
 * read + decode + flow (with TCP reassembly handing every payload byte to a listener) over
 * train_benign held in memory (90180 frames, 52 MB of frame bytes), beside a plain sequential
 * read of the same bytes. One operation is one pass over the whole capture; the counters give
 * frames/s and frame bytes/s. The pipeline is reused across passes (flows are ended after each
 * pass), so with {@code -prof gc} the allocation per pass is what the hot path allocates.
 * {@link #depth}: −1 delivers every byte of every stream; 4096 is how {@code detect} sets the flow
 * stage up (PAYL's depth), where delivered bytes inside the depth are also kept until acknowledged.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DecodeFlowBench {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    byte[] pcap;
    long frames, frameBytes;
    Pipeline pipeline;
    final Sink sink = new Sink();

    @Param({"-1", "4096"})
    public long depth = -1;

    /** Consumes payload so reassembly is not dead code. */
    static final class Sink implements StreamListener {
        long bytes, first;

        @Override
        public void payload(Flow flow, boolean toServer, byte[] buf, int off, int len, long streamOffset) {
            bytes += len;
            first += buf[off];
        }
    }

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Rates {
        public long frames;
        public long bytes;
    }

    @Setup(Level.Trial)
    public void load() throws IOException {
        Path xz = Path.of(System.getProperty("xenids.data", "../shared/data"), "traffic/dev/train/train_benign.pcap.xz");
        try (InputStream in = new XZInputStream(Files.newInputStream(xz))) {
            pcap = in.readAllBytes();
        }
        try (CaptureReader r = CaptureReader.of(pcap)) {
            while (r.next()) {
                frames++;
                frameBytes += r.capturedLength();
            }
        }
        pipeline = new Pipeline(FlowConfig.defaults().withDepth(depth), sink);
    }

    @Benchmark
    public long readDecodeFlow(Rates rates) throws IOException {
        Pipeline p = pipeline;
        try (CaptureReader r = CaptureReader.of(pcap)) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
            }
        }
        p.finish();
        rates.frames += frames;
        rates.bytes += frameBytes;
        return sink.bytes + sink.first;
    }

    /**
     * As {@link #readDecodeFlow}, every frame's TCP/UDP checksum checked, as the tap has it done
     * for frames whose ring flags leave the checksum to the receiver: the cost of that check.
     */
    @Benchmark
    public long readDecodeFlowCheckingL4(Rates rates) throws IOException {
        Pipeline p = pipeline;
        try (CaptureReader r = CaptureReader.of(pcap)) {
            while (r.next()) {
                p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType(), true);
            }
        }
        p.finish();
        rates.frames += frames;
        rates.bytes += frameBytes;
        return sink.bytes + sink.first;
    }

    /** Baseline: one sequential pass summing the capture's bytes eight at a time. */
    @Benchmark
    public long baselineSequentialRead(Rates rates) {
        byte[] b = pcap;
        long s0 = 0, s1 = 0;
        int i = 0, n = b.length - 15;
        for (; i < n; i += 16) {
            s0 += (long) LONGS.get(b, i);
            s1 += (long) LONGS.get(b, i + 8);
        }
        for (; i < b.length; i++) s0 += b[i];
        rates.frames += frames;
        rates.bytes += frameBytes;
        return s0 + s1;
    }

    /** The reader alone, to split the figure between reading and decode+flow. */
    @Benchmark
    public long readOnly(Rates rates) throws IOException {
        long sum = 0;
        try (CaptureReader r = CaptureReader.of(pcap)) {
            while (r.next()) sum += r.capturedLength() + r.array()[r.dataOffset()];
        }
        rates.frames += frames;
        rates.bytes += frameBytes;
        return sum;
    }
}
