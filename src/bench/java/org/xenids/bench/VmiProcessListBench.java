package org.xenids.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.tukaani.xz.XZInputStream;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.KernelTypes;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.linux.Task;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * The full process list (214 tasks) of the nokaslr image, warm: the walk through page tables
 * and BTF offsets, next to the raw cost of copying the same bytes (each task's member window,
 * its flags, its parent's tgid and its cred's uid) from precomputed physical addresses. The difference is
 * what translation, checks and Task records cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class VmiProcessListBench {
    static final String[] TASK_MEMBERS = {"tasks", "pid", "tgid", "comm", "mm", "real_parent", "cred",
        "start_time", "children", "sibling", "signal", "thread_node", "thread_group", "pid_links[0]", "thread_pid",
        "exit_state"};

    LinuxGuest guest;
    PhysicalMemory memory;
    long[] windowPhys;
    long[] smallPhys;
    MemorySegment window;
    MemorySegment small;

    @Setup
    public void open() throws IOException {
        Path raw = Path.of("target", "shared-data", "vmi", "nokaslr-hidden.raw");
        if (!Files.isRegularFile(raw)) {
            Path xz = Path.of(System.getProperty("xenids.data", "../shared/data"), "vmi/nokaslr-hidden.raw.xz");
            Files.createDirectories(raw.getParent());
            try (InputStream in = new XZInputStream(Files.newInputStream(xz))) {
                Files.copy(in, raw, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        memory = MemorySources.open(raw);
        LinuxKernel k = KernelLocator.locate(memory);
        KernelTypes types = LinuxGuest.btfFromMemory(memory, k);
        guest = LinuxGuest.open(memory, k.kernel(), k.symbols(), types);
        var tasks = guest.processes(false).tasks();
        long lo = Long.MAX_VALUE;
        long hi = 0;
        for (String m : TASK_MEMBERS) {
            long o = types.offset("task_struct." + m);
            lo = Math.min(lo, o);
            hi = Math.max(hi, o + 16);
        }
        window = Arena.ofAuto().allocate(hi - lo, 8);
        small = Arena.ofAuto().allocate(8, 8);
        windowPhys = new long[tasks.size()];
        smallPhys = new long[tasks.size() * 3];
        for (int i = 0; i < tasks.size(); i++) {
            Task t = tasks.get(i);
            windowPhys[i] = k.kernel().translate(t.address() + lo);
            long parent = k.kernel().u64(t.address() + types.offset("task_struct.real_parent"));
            long cred = k.kernel().u64(t.address() + types.offset("task_struct.cred"));
            smallPhys[3 * i] = k.kernel().translate(parent + types.offset("task_struct.tgid"));
            smallPhys[3 * i + 1] = k.kernel().translate(cred + types.offset("cred.uid"));
            smallPhys[3 * i + 2] = k.kernel().translate(t.address() + types.offset("task_struct.flags"));
        }
        if (windowPhys.length != 214) {
            throw new IllegalStateException("expected 214 tasks, got " + windowPhys.length);
        }
    }

    @Benchmark
    public int processList() {
        return guest.processes(false).tasks().size();
    }

    @Benchmark
    public long rawReadsOfTheSameBytes() {
        long sum = 0;
        for (long p : windowPhys) {
            // a window can cross a page; physically contiguous here (direct map), one copy as the kernel would
            memory.read(p, window);
            sum += window.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
        }
        for (long p : smallPhys) {
            memory.read(p, small);
            sum += small.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
        }
        return sum;
    }
}
