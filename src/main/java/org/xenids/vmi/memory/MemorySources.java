package org.xenids.vmi.memory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens guest physical memory from a file. {@link #open} recognises the format by its magic:
 * an ELF core (QEMU {@code dump-guest-memory}), LiME, or else a raw image (physical address =
 * file offset). {@link #openLive} maps the RAM file of a running QEMU guest
 * ({@code memory-backend-file,share=on}), laid out as QEMU's PC or Q35 machine places RAM
 * around the PCI hole. The file is memory-mapped (any size), never copied.
 */
public final class MemorySources {
    private MemorySources() {}

    /** The x86 machine type of a live QEMU guest: where RAM above the PCI hole starts in the file. */
    public enum Machine {
        /** i440FX ("pc"): RAM of 3.5 GiB or more is split at 3 GiB, the rest from 4 GiB. */
        PC(0xe000_0000L, 0xc000_0000L),
        /** Q35: RAM of 2.75 GiB or more is split at 2 GiB, the rest from 4 GiB. */
        Q35(0xb000_0000L, 0x8000_0000L);

        final long splitFrom;
        final long lowSize;

        Machine(long splitFrom, long lowSize) {
            this.splitFrom = splitFrom;
            this.lowSize = lowSize;
        }
    }

    static final int LIME_MAGIC = 0x4C694D45;
    static final long FOUR_GIB = 1L << 32;

    /** Opens a memory image, detecting ELF core, LiME or raw by the file's first bytes. */
    public static PhysicalMemory open(Path file) {
        Mapping m = map(file);
        try {
            MemorySegment s = m.segment;
            long size = s.byteSize();
            if (size >= 4 && s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0) == 0x7f454c46) {
                return ElfCore.parse(m.arena, s, file);
            }
            if (size >= 4 && s.get(LE_INT, 0) == LIME_MAGIC) {
                return Lime.parse(m.arena, s, file);
            }
            return new MappedMemory(m.arena, s,
                    List.of(new MappedMemory.Piece(0, size, 0)),
                    "raw image " + file + " (" + mib(size) + ")", false, List.of());
        } catch (RuntimeException e) {
            m.arena.close();
            throw e;
        }
    }

    /**
     * Maps a running QEMU guest's RAM file. Below the PCI hole guest physical = file offset;
     * when the RAM is large enough for QEMU to split it, the rest appears from 4 GiB on.
     */
    public static PhysicalMemory openLive(Path ramFile, Machine machine) {
        Mapping m = map(ramFile);
        long size = m.segment.byteSize();
        List<MappedMemory.Piece> pieces = new ArrayList<>();
        for (PhysicalMemory.Range r : liveLayout(size, machine)) {
            pieces.add(new MappedMemory.Piece(r.start(), r.length(),
                    r.start() < FOUR_GIB ? r.start() : r.start() - FOUR_GIB + machine.lowSize));
        }
        try {
            return new MappedMemory(m.arena, m.segment, pieces,
                    "live QEMU guest RAM " + ramFile + " (" + mib(size) + ", " + machine.name().toLowerCase() + ")",
                    true, List.of());
        } catch (RuntimeException e) {
            m.arena.close();
            throw e;
        }
    }

    /** Guest physical RAM ranges of a QEMU x86 guest with {@code ramSize} bytes of RAM. */
    static List<PhysicalMemory.Range> liveLayout(long ramSize, Machine machine) {
        if (ramSize < machine.splitFrom) {
            return List.of(new PhysicalMemory.Range(0, ramSize));
        }
        return List.of(new PhysicalMemory.Range(0, machine.lowSize),
                new PhysicalMemory.Range(FOUR_GIB, ramSize - machine.lowSize));
    }

    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    record Mapping(Arena arena, MemorySegment segment) {}

    private static Mapping map(Path file) {
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException("memory image " + file + " is a directory");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                throw new IllegalArgumentException("memory image " + file + " is empty");
            }
            return new Mapping(arena, ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena));
        } catch (IOException e) {
            arena.close();
            throw new IllegalArgumentException("memory image " + file + ": " + reason(e), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Why opening or mapping failed, in words ("no such file", "permission denied", ...). */
    private static String reason(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? "cannot be mapped" : "cannot be mapped (" + e.getMessage() + ")";
    }

    static String mib(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }
}
