package org.xenids.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.xenids.xen.emu.Bridge;
import org.xenids.xen.emu.Toolstack;
import org.xenids.xen.emu.XenHost;

/**
 * The emulated network path: one 1514-byte frame from a guest's netfront through netback (copy
 * + map + unmap hypercalls, event sends) and the bridge to the uplink, against the baseline of
 * copying the same bytes once.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class XenEmuBench {
    XenHost host;
    Toolstack.Vif vif;
    byte[] frame = new byte[1514];
    MemorySegment dst = MemorySegment.ofArray(new byte[4096]);
    long delivered;

    @Setup
    public void setUp() {
        host = new XenHost(1 << 15);
        host.createDomain(0, "Domain-0", 8192);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 4096), 4);
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> delivered += n);
        vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1, (b, n) -> { });
        host.runPending();
        frame[0] = 0x02;
        frame[6] = 0x00;
        frame[7] = 0x16;
        frame[8] = 0x3e;
        frame[11] = 0x02;
        frame[12] = 0x08;
    }

    @Benchmark
    public long guestFrameToUplink() {
        vif.front().transmit(frame, 0, frame.length, 0, 0);
        host.runPending();
        return delivered;
    }

    @Benchmark
    public MemorySegment baselineCopyOnce() {
        MemorySegment.copy(MemorySegment.ofArray(frame), 0, dst, 0, frame.length);
        return dst;
    }
}
