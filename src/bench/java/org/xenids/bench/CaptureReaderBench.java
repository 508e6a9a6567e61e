package org.xenids.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.tukaani.xz.XZInputStream;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;

/**
 * Parse speed of the capture readers on train_benign (90180 packets, 52 MB), without I/O
 * (in memory) and streaming from the .xz file, each next to a baseline that does the least
 * possible work over the same bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class CaptureReaderBench {
    Path xz;
    byte[] pcap;
    byte[] pcapng;

    @Setup
    public void load() throws IOException {
        xz = Path.of(System.getProperty("xenids.data", "../shared/data"), "traffic/dev/train/train_benign.pcap.xz");
        try (InputStream in = new XZInputStream(Files.newInputStream(xz))) {
            pcap = in.readAllBytes();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(pcap.length + (1 << 22));
        try (CaptureReader r = CaptureReader.of(pcap); CaptureWriter w = CaptureWriter.pcapng(out)) {
            int id = w.addInterface(1, "eth0", null);
            while (r.next()) {
                w.write(id, r.timestampNanos(), r.array(), r.dataOffset(), r.capturedLength(), r.originalLength());
            }
        }
        pcapng = out.toByteArray();
    }

    static long drain(CaptureReader r) throws IOException {
        long sum = 0;
        while (r.next()) {
            sum += r.capturedLength() + r.timestampNanos() + r.array()[r.dataOffset()];
        }
        return sum;
    }

    @Benchmark
    public long pcapInMemory() throws IOException {
        try (CaptureReader r = CaptureReader.of(pcap)) {
            return drain(r);
        }
    }

    @Benchmark
    public long pcapngInMemory() throws IOException {
        try (CaptureReader r = CaptureReader.of(pcapng)) {
            return drain(r);
        }
    }

    private static final java.lang.invoke.VarHandle LE32 = java.lang.invoke.MethodHandles
            .byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * Baseline: walk the pcap record headers with no checks at all, touching what a consumer
     * touches (time, length, first byte): the floor for any pcap parser over these bytes.
     */
    @Benchmark
    public long baselineUncheckedPcapWalk() {
        byte[] b = pcap;
        long sum = 0;
        int p = 24;
        while (p + 16 <= b.length) {
            int caplen = (int) LE32.get(b, p + 8);
            sum += caplen + ((int) LE32.get(b, p) & 0xFFFF_FFFFL) * 1_000_000_000L
                    + ((int) LE32.get(b, p + 4) & 0xFFFF_FFFFL) * 1000 + b[p + 16];
            p += 16 + caplen;
        }
        return sum;
    }

    @Benchmark
    public long pcapXzFromFile() throws IOException {
        try (CaptureReader r = CaptureReader.open(xz)) {
            return drain(r);
        }
    }

    /** Baseline: decompress the same .xz file and do nothing with the bytes. */
    @Benchmark
    public long baselineXzDecompressOnly() throws IOException {
        byte[] buf = new byte[1 << 17];
        long n = 0;
        try (InputStream in = new XZInputStream(new java.io.BufferedInputStream(Files.newInputStream(xz), 1 << 16))) {
            for (int r; (r = in.read(buf)) > 0; ) {
                n += r;
            }
        }
        return n;
    }
}
