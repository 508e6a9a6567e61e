package org.xenids.vmi.memory;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Damaged ELF cores and LiME files: opening either succeeds, and then every byte of every range
 * reads, or fails with one IllegalArgumentException that names the file. Nothing else escapes.
 */
class MemorySourcesFuzzTest {

    static void openAndReadAll(Path f) {
        try (PhysicalMemory m = MemorySources.open(f)) {
            byte[] buf = new byte[256];
            for (PhysicalMemory.Range r : m.ranges()) {
                for (long a = r.start(); a < r.end(); a += buf.length) {
                    m.read(a, MemorySegment.ofArray(buf).asSlice(0, Math.min(buf.length, r.end() - a)));
                }
            }
            assertNotNull(m.describe());
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().contains(f.getFileName().toString())) {
                throw new AssertionError("error does not name the file: " + e.getMessage(), e);
            }
        }
    }

    static Path write(byte[] b) throws IOException {
        Path f = Files.createTempFile("fuzz", ".img");
        Files.write(f, b);
        return f;
    }

    @Property(tries = 300)
    void damagedElfCoreOpensOrFailsNamingTheFile(@ForAll @Size(max = 24) int[] positions,
                                                  @ForAll @Size(max = 24) byte[] values,
                                                  @ForAll @IntRange(min = 0, max = 600) int cut) throws IOException {
        ByteBuffer b = MemorySourcesTest.elf(4096 + 512, new long[][] {{4, 0x200, 0, 0x40}, {1, 0x1000, 0x100000, 0x200}});
        b.putInt(0x200, 5).putInt(0x204, 0x20).putInt(0x208, 0).put(0x20c, new byte[] {'Q', 'E', 'M', 'U', 0});
        byte[] bytes = b.array();
        for (int i = 0; i < Math.min(positions.length, values.length); i++) {
            bytes[Math.floorMod(positions[i], 0x260)] = values[i];
        }
        byte[] file = java.util.Arrays.copyOf(bytes, Math.max(8, bytes.length - cut * 8));
        Path f = write(file);
        try {
            openAndReadAll(f);
        } finally {
            Files.delete(f);
        }
    }

    @Property(tries = 300)
    void damagedLimeOpensOrFailsNamingTheFile(@ForAll @Size(max = 16) int[] positions,
                                              @ForAll @Size(max = 16) byte[] values,
                                              @ForAll @IntRange(min = 0, max = 300) int cut) throws IOException {
        byte[] bytes = MemorySourcesTest.lime(new long[][] {{0x1000, 0x10ff}, {0x4000, 0x40ff}}, (byte) 3).array();
        for (int i = 0; i < Math.min(positions.length, values.length); i++) {
            int p = Math.floorMod(positions[i], 32);
            bytes[i % 2 == 0 ? p : 0x120 + p] = values[i]; // the two headers
        }
        byte[] file = java.util.Arrays.copyOf(bytes, Math.max(4, bytes.length - cut));
        Path f = write(file);
        try {
            openAndReadAll(f);
        } finally {
            Files.delete(f);
        }
    }
}
