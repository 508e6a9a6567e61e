package org.xenids.vmi.linux;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Struct layouts of one running kernel: sizes and member offsets, looked up by a dotted path
 * such as {@code "task_struct.tasks"} or {@code "pid.numbers[0].nr"}. Members of anonymous
 * structs and unions are found as if they were members of the enclosing struct (as C sees
 * them). Implementations: BTF ({@link #fromBtf}), a Volatility 3 ISF ({@link #fromIsf}), a
 * LibVMI config ({@link #fromLibvmiConfig}, which only knows five offsets).
 */
public interface KernelTypes {

    /**
     * A resolved member. {@code offset} is in bytes from the start of the outermost struct;
     * {@code size} in bytes (0 when the source does not say); for a bitfield, {@code bitOffset}
     * (from {@code offset}) and {@code bitSize} are set, otherwise both are 0.
     */
    record Member(String path, long offset, long size, int bitOffset, int bitSize) {
        public boolean bitfield() { return bitSize != 0; }
    }

    /** The size in bytes of struct or union {@code name}; an error naming it when unknown. */
    long sizeOf(String name);

    /** The member at {@code path}; an error naming the path and the source when unknown. */
    Member member(String path);

    /** True when {@code path} resolves. */
    default boolean has(String path) {
        try {
            member(path);
            return true;
        } catch (IllegalArgumentException | IllegalStateException e) {
            return false;
        }
    }

    /** The byte offset of {@code path}. */
    default long offset(String path) { return member(path).offset(); }

    /** Where the layouts came from, for {@code vmi info}: "BTF in guest memory at 0x…". */
    String source();

    /** BTF from a file: raw BTF (/sys/kernel/btf/vmlinux) or a vmlinux ELF with a .BTF section. */
    static KernelTypes fromBtf(Path file) throws IOException {
        return BtfFiles.load(notADirectory(file, "BTF file"));
    }

    /** BTF from bytes (exactly one BTF blob starting at index 0); {@code origin} names it. */
    static KernelTypes fromBtf(byte[] blob, String origin) {
        return Btf.parse(java.nio.ByteBuffer.wrap(blob), origin);
    }

    /** A Volatility 3 ISF JSON file (optionally .xz-compressed). */
    static KernelTypes fromIsf(Path file) throws IOException {
        return IsfTypes.load(notADirectory(file, "ISF file"));
    }

    /** A LibVMI config file ({@code linux_tasks}, {@code linux_name}, {@code linux_pid}, {@code linux_mm}, {@code linux_pgd}). */
    static KernelTypes fromLibvmiConfig(Path file) throws IOException {
        return LibvmiConfigTypes.load(notADirectory(file, "LibVMI config"));
    }

    /** Opening a directory succeeds on Linux and its first read fails with no name in the error: refused here, named. */
    private static Path notADirectory(Path file, String what) throws IOException {
        if (java.nio.file.Files.isDirectory(file)) {
            throw new IOException(what + " " + file + " is a directory");
        }
        return file;
    }
}
