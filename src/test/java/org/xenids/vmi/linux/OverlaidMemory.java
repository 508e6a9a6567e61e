package org.xenids.vmi.linux;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.xenids.vmi.memory.CpuState;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Guest memory with bytes written over it at one physical address, without copying the image:
 * what a guest could have written there. The vCPUs' registers are passed on or left out (as a
 * raw image or LiME file has none).
 */
record OverlaidMemory(PhysicalMemory under, long at, byte[] bytes, boolean withCpus) implements PhysicalMemory {
    @Override public List<Range> ranges() { return under.ranges(); }

    @Override public List<CpuState> cpuStates() { return withCpus ? under.cpuStates() : List.of(); }

    @Override public String describe() { return under.describe() + " with " + bytes.length + " bytes written at 0x" + Long.toHexString(at); }

    @Override public void read(long paddr, MemorySegment dst) {
        under.read(paddr, dst);
        long from = Math.max(paddr, at);
        long to = Math.min(paddr + dst.byteSize(), at + bytes.length);
        if (from < to) {
            MemorySegment.copy(MemorySegment.ofArray(bytes), from - at, dst, from - paddr, to - from);
        }
    }
}
