package org.xenids.vmi.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.xenids.vmi.arch.VirtualMemory;

/** Little-endian reads of guest kernel memory through reusable buffers (no allocation per read). */
final class GuestReader {
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final VirtualMemory vm;
    private final MemorySegment s8;
    private final MemorySegment s4;
    private final MemorySegment s16;
    private final byte[] comm = new byte[16];
    private final MemorySegment window;
    private final long windowLo;
    private long reads;

    /**
     * @param windowLo offset in task_struct of the first member the walkers read
     * @param windowLength bytes from there that hold every such member: one read per task
     */
    GuestReader(VirtualMemory vm, long windowLo, int windowLength) {
        this.vm = vm;
        Arena arena = Arena.ofAuto();
        s8 = arena.allocate(8, 8);
        s4 = arena.allocate(4, 4);
        s16 = arena.allocate(16, 8);
        this.windowLo = windowLo;
        this.window = arena.allocate(Math.max(16, windowLength), 8);
    }

    /** Reads the member window of the task_struct at {@code task}; w64/w32/wComm then read from it. */
    void window(long task) {
        reads++;
        vm.read(task + windowLo, window);
    }

    long w64(long off) { return window.get(LE_LONG, off - windowLo); }

    int w32(long off) { return window.get(LE_INT, off - windowLo); }

    String wComm(long off) {
        int n = 0;
        long base = off - windowLo;
        while (n < 16) {
            byte b = window.get(ValueLayout.JAVA_BYTE, base + n);
            if (b == 0) {
                break;
            }
            comm[n++] = b;
        }
        return new String(comm, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    long u64(long va) {
        reads++;
        vm.read(va, s8);
        return s8.get(LE_LONG, 0);
    }

    int s32(long va) {
        reads++;
        vm.read(va, s4);
        return s4.get(LE_INT, 0);
    }

    int u8(long va) {
        reads++;
        vm.read(va, s4.asSlice(0, 1));
        return s4.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
    }

    /** Reads {@code dst.byteSize()} bytes. */
    void read(long va, MemorySegment dst) {
        reads++;
        vm.read(va, dst);
    }

    /** task_struct.comm: 16 bytes, up to the first NUL. */
    String comm(long va) {
        reads++;
        vm.read(va, s16);
        int n = 0;
        while (n < 16) {
            byte b = s16.get(ValueLayout.JAVA_BYTE, n);
            if (b == 0) {
                break;
            }
            comm[n++] = b;
        }
        return new String(comm, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** True when comm at {@code va} is 1..15 printable ASCII bytes followed by NUL. */
    boolean printableComm(long va) {
        reads++;
        vm.read(va, s16);
        int n = 0;
        while (n < 16) {
            int b = s16.get(ValueLayout.JAVA_BYTE, n) & 0xff;
            if (b == 0) {
                return n > 0;
            }
            if (b < 0x20 || b > 0x7e) {
                return false;
            }
            n++;
        }
        return false;
    }

    long reads() { return reads; }

    /**
     * A pointer that can be a kernel address: in the upper half, canonical at least under 5-level
     * paging (bits 63..56 set). The address space itself rejects what its paging mode does not map.
     */
    static boolean kernelPointer(long p) {
        return (p >> 56) == -1 && p != -1;
    }
}
