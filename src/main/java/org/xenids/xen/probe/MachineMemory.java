package org.xenids.xen.probe;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.xenids.xen.event.DomainMemory;

/**
 * Machine memory of the QEMU host, read from its RAM file ({@code memory-backend-file,share=on},
 * mapped shared so the host sees the guest's writes). Machine address = file offset: true for a
 * q35 machine whose RAM lies below the PCI hole (≤ 2 GiB). For PV domains frame numbers are
 * machine frames, so every frame number the ABI carries reads directly here.
 *
 * <p>Not checked: whether {@code domid} owns the frame (that needs Xen's frame table); a read is
 * refused only when it leaves the page or the RAM.
 */
final class MachineMemory implements DomainMemory, AutoCloseable {
    static final int MAX_GT_FRAMES = 64;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment ram;
    private final Map<Integer, long[]> grantFrames = new HashMap<>();

    MachineMemory(Path ramFile) throws IOException {
        try (FileChannel ch = FileChannel.open(ramFile, StandardOpenOption.READ)) {
            ram = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    long size() {
        return ram.byteSize();
    }

    @Override
    public boolean read(int domid, long frame, int offset, MemorySegment dst) {
        long len = dst.byteSize();
        if (frame < 0 || offset < 0 || offset + len > PAGE_SIZE || frame > (Long.MAX_VALUE >>> 12)) {
            return false;
        }
        long at = (frame << 12) + offset;
        if (at + len > ram.byteSize()) {
            return false;
        }
        MemorySegment.copy(ram, at, dst, 0, len);
        return true;
    }

    @Override
    public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
        if (frame < 0 || offset < 0 || len < 0 || offset > PAGE_SIZE - len || frame > (Long.MAX_VALUE >>> 12)
                || dstOff < 0 || dstOff > dst.length - len) {
            return false;
        }
        long at = (frame << 12) + offset;
        if (at + len > ram.byteSize()) {
            return false;
        }
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, at, dst, dstOff, len);
        return true;
    }

    /** Records the frames {@code GNTTABOP_setup_table} returned for {@code domid} (replacing older ones). */
    void grantFrames(int domid, long[] frames) {
        grantFrames.put(domid, frames.clone());
    }

    @Override
    public int grantTableFrames(int domid, long[] out) {
        long[] f = grantFrames.get(domid);
        if (f == null) {
            return -1;
        }
        System.arraycopy(f, 0, out, 0, Math.min(out.length, f.length));
        return f.length;
    }

    @Override
    public void close() {
        arena.close();
    }
}
