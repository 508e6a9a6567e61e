package org.xenids.vmi.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.xenids.vmi.arch.VirtualMemory;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Finds the kernel's own BTF (CONFIG_DEBUG_INFO_BTF) in guest memory: between the symbols
 * {@code __start_BTF} and {@code __stop_BTF} when they are known, else by scanning physical
 * memory for a BTF header (magic 0xEB9F, version 1) whose sections validate and which
 * describes {@code task_struct}. The blob lies in the kernel image, physically contiguous, and
 * only the image is scanned: a process can write a look-alike describing another task_struct
 * into its own pages, which lie anywhere else. What the kernel image holds is its writer's too
 * (a rootkit's), so the blobs read and parsed while scanning are bounded in all.
 */
final class BtfLocator {
    static final long MAX_BTF = 64L << 20;
    static final int CHUNK = 1 << 20;
    /** Candidate blobs read and parsed by one scan, in bytes: a real image has one, of at most MAX_BTF. */
    static final long MAX_CANDIDATE_BYTES = 4 * MAX_BTF;

    private BtfLocator() {}

    static Btf fromSymbols(VirtualMemory vm, Symbols syms) {
        var start = syms.address("__start_BTF");
        var stop = syms.address("__stop_BTF");
        if (start.isEmpty() || stop.isEmpty()) {
            return null;
        }
        long len = stop.getAsLong() - start.getAsLong();
        if (len <= 0 || len > MAX_BTF) {
            throw new IllegalArgumentException(String.format("__start_BTF..__stop_BTF (0x%x..0x%x) is no plausible BTF size",
                    start.getAsLong(), stop.getAsLong()));
        }
        byte[] b = new byte[(int) len];
        vm.read(start.getAsLong(), MemorySegment.ofArray(b));
        return Btf.parse(ByteBuffer.wrap(b), String.format("BTF in guest memory at 0x%x (__start_BTF..__stop_BTF, %d bytes)",
                start.getAsLong(), len));
    }

    /**
     * Scans the {@code length} bytes of physical memory from {@code from} (the kernel image);
     * null when no valid kernel BTF is found there.
     */
    static Btf scan(PhysicalMemory pm, long from, long length) {
        long[] budget = {MAX_CANDIDATE_BYTES};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK + 4, 8);
            for (PhysicalMemory.Range range : pm.ranges()) {
                long first = (Math.max(range.start(), from) + 3) & -4L;
                long end = Math.min(range.end(), from + length);
                for (long base = first; base < end; base += CHUNK) {
                    long len = Math.min(CHUNK, end - base);
                    MemorySegment chunk = buf.asSlice(0, len);
                    try {
                        pm.read(base, chunk);
                    } catch (MemoryFault f) {
                        continue;
                    }
                    for (long off = 0; off + 4 <= len; off += 4) {
                        if (chunk.get(GuestReader.LE_INT, off) == 0x0001EB9F) {
                            Btf btf = tryAt(pm, range, base + off, budget);
                            if (btf != null) {
                                return btf;
                            }
                        }
                    }
                }
            }
        }
        return null;
    }

    private static Btf tryAt(PhysicalMemory pm, PhysicalMemory.Range range, long paddr, long[] budget) {
        byte[] hdr = new byte[Btf.HEADER_MIN];
        if (!range.contains(paddr, hdr.length)) {
            return null;
        }
        pm.read(paddr, MemorySegment.ofArray(hdr));
        long len = Btf.claimedLength(ByteBuffer.wrap(hdr).order(ByteOrder.LITTLE_ENDIAN));
        // A vmlinux BTF has thousands of types: anything under 64 KiB is a module's split BTF or noise.
        if (len < (64 << 10) || len > MAX_BTF || !range.contains(paddr, len)) {
            return null;
        }
        budget[0] -= len;
        if (budget[0] < 0) {
            throw new IllegalStateException(String.format("no kernel BTF found in %s: gave up at physical 0x%x after reading"
                    + " %d MiB of BTF look-alikes in the kernel image; give --btf FILE or --isf FILE",
                    pm.describe(), paddr, MAX_CANDIDATE_BYTES >> 20));
        }
        byte[] blob = new byte[(int) len];
        pm.read(paddr, MemorySegment.ofArray(blob));
        try {
            Btf btf = Btf.parse(ByteBuffer.wrap(blob), String.format("BTF found in guest memory at physical 0x%x (%d bytes)", paddr, len));
            return btf.has("task_struct.tasks") && btf.has("task_struct.comm") ? btf : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
