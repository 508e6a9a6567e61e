package org.xenids.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;
import org.xenids.xen.emu.Bridge;
import org.xenids.xen.emu.Toolstack;
import org.xenids.xen.emu.XenHost;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * The tap on a recorded trace held in memory: a guest sends {@link #FRAMES}/2 frames of
 * {@code size} bytes out and receives as many (one vif, the emulated Linux drivers), recorded once
 * as {@code xenids replay --record-trace} records (checksums verified once); each benchmark op
 * replays the whole trace into a fresh tap, which rebuilds every frame. Scores are per frame
 * (ops/s = frames/s; the {@code -prof gc} norm is bytes allocated per frame, the fresh tap's setup
 * included). Beside it, in the same run:
 * <ul>
 *   <li>{@link #tapAlone}: the tap as a live host drives it, the trace decoded beforehand
 *       ({@link DecodedTrace}), so no file parsing is in its score;</li>
 *   <li>{@link #traceReaderOnly}: the same replay with a listener that reads nothing (the trace
 *       reader parsing and checking every record, included in {@link #tapOnTrace}'s score; with
 *       no reads an in-memory replay builds no memory image, so answering the tap's reads is
 *       counted in the tap's score, not here);</li>
 *   <li>a plain copy of the same frame bytes (the frames the tap rebuilt, laid end to end).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TapBench {
    static final int FRAMES = 100_000;

    @Param({"64", "1514"})
    public int size;

    /**
     * Frames each way handed to the drivers before the host runs: 1 = every frame alone, with its
     * own hypercalls and notifications (the worst case for the tap); 32 = a busy link, where
     * frames queue while netback works and are moved in batches, as at high packet rates.
     */
    @Param({"1", "32"})
    public int burst = 1;

    byte[] trace;
    byte[] src, dst;
    DecodedTrace decoded;

    @Setup(Level.Trial)
    public void record() throws IOException {
        XenHost host = new XenHost(1 << 16);
        host.createDomain(0, "Domain-0", 16384);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 8192), 4);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Trace.Recorder rec = Trace.recorder(host.memory(), out);
        long[] seen = new long[1];
        Tap tap = new Tap(rec.memory(), (b, o, l, d, v, q, dir, p, t) -> seen[0]++, a -> { });
        host.addListener(rec.around(tap));
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> { });
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1, (b, n) -> { });
        host.runPending();
        byte[] out1 = frame(size, new byte[] {(byte) 0xfe, -1, -1, -1, -1, -1}, new byte[] {0, 0x16, 0x3e, 0, 0, 2});
        byte[] in1 = frame(size, new byte[] {0, 0x16, 0x3e, 0, 0, 2}, new byte[] {(byte) 0xfe, -1, -1, -1, -1, -1});
        if (burst < 1 || burst > 64) {
            throw new IllegalArgumentException("burst must be 1..64: " + burst);
        }
        for (int i = 0; i < FRAMES / 2; i += burst) {
            int end = Math.min(i + burst, FRAMES / 2);
            for (int j = i; j < end; j++) {
                out1[20] = (byte) j;
                out1[21] = (byte) (j >>> 8);
                vif.front().transmit(out1, 0, out1.length, 0, 0);
            }
            host.runPending();
            for (int j = i; j < end; j++) {
                in1[20] = (byte) j;
                in1[21] = (byte) (j >>> 8);
                bridge.fromUplink(in1, 0, in1.length, 0);
            }
            host.runPending();
        }
        rec.close();
        trace = out.toByteArray();
        // Checked once here, skipped in the measured replays; the baseline copies what the tap rebuilt.
        src = new byte[FRAMES * size];
        dst = new byte[FRAMES * size];
        int[] replayed = new int[1];
        Trace.replay(trace, "bench", true, mem -> new Tap(mem, (b, o, l, d, v, q, dir, p, t) -> {
            if (l != size || replayed[0] == FRAMES) {
                throw new IllegalStateException("replayed frame " + replayed[0] + " of " + l + " bytes");
            }
            System.arraycopy(b, o, src, replayed[0]++ * size, l);
        }, a -> { }));
        decoded = DecodedTrace.of(trace, mem -> new Tap(mem, new ByteCount(), a -> { }));
        long[] alone = new long[1];
        decoded.replay(mem -> new Tap(mem, (b, o, l, d, v, q, dir, p, t) -> alone[0]++, a -> { }));
        if (alone[0] != FRAMES) {
            throw new IllegalStateException("decoded replay rebuilt " + alone[0] + " frames of " + FRAMES);
        }
        if (seen[0] != FRAMES || replayed[0] != FRAMES) {
            throw new IllegalStateException("live tap saw " + seen[0] + " frames, replay " + replayed[0]
                    + ", sent " + FRAMES);
        }
    }

    static byte[] frame(int size, byte[] dst, byte[] src) {
        byte[] f = new byte[size];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        for (int i = 14; i < size; i++) {
            f[i] = (byte) (i * 7);
        }
        return f;
    }

    /** The sink's work: counts the frame bytes (and makes the JIT keep the frames). */
    static final class ByteCount implements Tap.FrameSink {
        long bytes;

        @Override
        public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peerDomid,
                          long timestampNanos) {
            bytes += len + buf[off];
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long tapOnTrace() throws IOException {
        ByteCount sink = new ByteCount();
        Trace.replay(trace, "bench", false, mem -> new Tap(mem, sink, a -> { }));
        return sink.bytes;
    }

    /** The tap as a live host drives it: the trace's calls and the tap's reads decoded beforehand (see {@link DecodedTrace}). */
    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long tapAlone() {
        ByteCount sink = new ByteCount();
        decoded.replay(mem -> new Tap(mem, sink, a -> { }));
        return sink.bytes;
    }

    /** {@link #tapAlone}'s host side without the tap: the calls delivered and the tap's reads answered ({@link DecodedTrace#hostOnly}). */
    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long hostOnly() {
        return decoded.hostOnly();
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long traceReaderOnly() throws IOException {
        long[] n = new long[1];
        Trace.replay(trace, "bench", false, mem -> new HypercallListener() {
            @Override
            public void completed(Hypercall c) {
                n[0] += c.count();
            }
        });
        return n[0];
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public byte[] baselinePlainCopy() {
        for (int i = 0; i < FRAMES; i++) {
            System.arraycopy(src, i * size, dst, i * size, size);
        }
        return dst;
    }
}
