package org.xenids.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Virtual reads through the page tables (warm translation cache, and cold: a walk per page)
 * against plain physical copies of the same 64 pages, on the real nokaslr image
 * (-Dxenids.vmi.image=FILE; default: the copy the tests decompress into target/).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class VmiTranslateBench {
    static final int PAGES = 64;

    PhysicalMemory memory;
    AddressSpace kernel;
    long[] vaddrs = new long[PAGES];
    long[] paddrs = new long[PAGES];
    Arena arena;
    MemorySegment page;

    @Setup
    public void setup() {
        Path image = Path.of(System.getProperty("xenids.vmi.image", "target/shared-data/vmi/nokaslr-hidden.raw"));
        memory = MemorySources.open(image);
        LinuxKernel k = KernelLocator.locate(memory);
        kernel = k.kernel();
        for (int i = 0; i < PAGES; i++) {
            // Kernel text pages (2 MiB mappings) and direct-map pages, interleaved.
            vaddrs[i] = i % 2 == 0 ? k.textVirtual() + i * 0x1000L : k.pageOffsetBase() + 0x2000000L + i * 0x3000L;
            paddrs[i] = kernel.translate(vaddrs[i]);
        }
        arena = Arena.ofConfined();
        page = arena.allocate(4096);
    }

    @TearDown
    public void tearDown() {
        arena.close();
        memory.close();
    }

    @Benchmark
    public long translateWarm() {
        long s = 0;
        for (long va : vaddrs) {
            s += kernel.translate(va);
        }
        return s;
    }

    @Benchmark
    public long translateCold() {
        kernel.invalidate();
        long s = 0;
        for (long va : vaddrs) {
            s += kernel.translate(va);
        }
        return s;
    }

    @Benchmark
    public MemorySegment readVirtualWarm() {
        for (long va : vaddrs) {
            kernel.read(va, page);
        }
        return page;
    }

    @Benchmark
    public MemorySegment readPhysical() {
        for (long pa : paddrs) {
            memory.read(pa, page);
        }
        return page;
    }
}
