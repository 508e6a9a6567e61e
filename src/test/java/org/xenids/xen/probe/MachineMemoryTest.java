package org.xenids.xen.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineMemoryTest {
    @Test
    void framesReadAtTheirMachineAddressAndSeeLaterWrites(@TempDir Path dir) throws IOException {
        Path ram = dir.resolve("ram");
        byte[] b = new byte[3 * 4096];
        b[4096 + 10] = 42;
        Files.write(ram, b);
        try (MachineMemory m = new MachineMemory(ram)) {
            byte[] out = new byte[2];
            assertTrue(m.read(0, 1, 10, MemorySegment.ofArray(out)));
            assertArrayEquals(new byte[] {42, 0}, out);
            // the file is mapped shared: a write by the machine after mapping is seen
            try (var ch = java.nio.channels.FileChannel.open(ram, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {7}), 2 * 4096 + 5);
            }
            assertTrue(m.read(3, 2, 5, MemorySegment.ofArray(out)));
            assertEquals(7, out[0]);
        }
    }

    @Test
    void readsLeavingThePageOrTheRamAreRefused(@TempDir Path dir) throws IOException {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[2 * 4096]);
        try (MachineMemory m = new MachineMemory(ram)) {
            assertFalse(m.read(0, 0, 4095, MemorySegment.ofArray(new byte[2])));
            assertFalse(m.read(0, 2, 0, MemorySegment.ofArray(new byte[1])));
            assertFalse(m.read(0, -1, 0, MemorySegment.ofArray(new byte[1])));
            assertFalse(m.read(0, Long.MAX_VALUE, 0, MemorySegment.ofArray(new byte[1])));
            assertEquals(-1, m.grantTableFrames(1, new long[4]));
            m.grantFrames(1, new long[] {5, 6});
            long[] f = new long[1];
            assertEquals(2, m.grantTableFrames(1, f));
            assertEquals(5, f[0]);
        }
    }

    @Test
    void arrayReadsGiveTheSegmentReadsBytesAndRefuseTheSameRanges(@TempDir Path dir) throws IOException {
        Path ram = dir.resolve("ram");
        byte[] b = new byte[2 * 4096];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 7);
        }
        Files.write(ram, b);
        try (MachineMemory m = new MachineMemory(ram)) {
            byte[] out = new byte[12];
            assertTrue(m.read(0, 1, 4086, out, 2, 10));
            assertArrayEquals(java.util.Arrays.copyOfRange(b, 4096 + 4086, 2 * 4096),
                    java.util.Arrays.copyOfRange(out, 2, 12));
            byte[] untouched = new byte[4];
            assertFalse(m.read(0, 1, 4095, untouched, 0, 2), "leaves the page");
            assertFalse(m.read(0, 2, 0, untouched, 0, 1), "leaves the RAM");
            assertFalse(m.read(0, -1, 0, untouched, 0, 1));
            assertFalse(m.read(0, Long.MAX_VALUE, 0, untouched, 0, 1));
            assertFalse(m.read(0, 0, 0, untouched, 3, 2), "leaves the array");
            assertFalse(m.read(0, 0, 0, untouched, 0, -1));
            assertArrayEquals(new byte[4], untouched);
        }
    }
}
