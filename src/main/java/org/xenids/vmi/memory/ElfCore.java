package org.xenids.vmi.memory;

import static org.xenids.vmi.memory.MemorySources.LE_INT;
import static org.xenids.vmi.memory.MemorySources.LE_LONG;
import static org.xenids.vmi.memory.MemorySources.LE_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU {@code dump-guest-memory} ELF cores: one PT_LOAD per RAM (or ROM) block, with
 * p_paddr the guest physical address, and a PT_NOTE holding per CPU an NT_PRSTATUS and a
 * "QEMU" note (QEMUCPUState, which unlike NT_PRSTATUS carries the control registers).
 */
final class ElfCore {
    private ElfCore() {}

    private static final int PT_LOAD = 1;
    private static final int PT_NOTE = 4;
    private static final int PHDR_SIZE = 56;
    /** Enough for every RAM block QEMU could write; bounds the work on a hostile header. */
    private static final int MAX_PHDRS = 1 << 16;

    /*
     * QEMUCPUState (QEMU target/i386/arch_dump.c): u32 version, u32 size, 18 u64 GPRs
     * (rax..r15, rip, rflags), 10 segments of 24 bytes (u32 selector, limit, flags, pad;
     * u64 base), u64 cr[5], u64 kernel_gs_base.
     */
    private static final int QEMU_RSP = 8 + 6 * 8;
    private static final int QEMU_RIP = 8 + 16 * 8;
    private static final int QEMU_CR = 8 + 18 * 8 + 10 * 24;
    private static final int QEMU_STATE_MIN = QEMU_CR + 5 * 8;

    static PhysicalMemory parse(Arena arena, MemorySegment s, Path file) {
        long size = s.byteSize();
        String what = "ELF core " + file;
        if (size < 64) {
            throw new IllegalArgumentException(what + ": truncated ELF header (" + size + " bytes)");
        }
        if (s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4) != 2 || s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 5) != 1) {
            throw new IllegalArgumentException(what + ": not a little-endian ELF64 file");
        }
        int type = Short.toUnsignedInt(s.get(LE_SHORT, 16));
        if (type != 4) {
            throw new IllegalArgumentException(what + ": ELF type " + type + " is not a core file (4)");
        }
        long phoff = s.get(LE_LONG, 0x20);
        int phentsize = Short.toUnsignedInt(s.get(LE_SHORT, 0x36));
        long phnum = Short.toUnsignedInt(s.get(LE_SHORT, 0x38));
        if (phnum == 0xffff) {
            // PN_XNUM: the real count is in section header 0's sh_info.
            long shoff = s.get(LE_LONG, 0x28);
            if (shoff < 0 || shoff > size - 64) {
                throw new IllegalArgumentException(what + ": section header at offset 0x"
                        + Long.toHexString(shoff) + " past end of file");
            }
            phnum = Integer.toUnsignedLong(s.get(LE_INT, shoff + 0x2c));
        }
        if (phentsize != PHDR_SIZE) {
            throw new IllegalArgumentException(what + ": program header size " + phentsize + " is not 56");
        }
        if (phnum > MAX_PHDRS || phoff < 0 || phoff > size || phnum * PHDR_SIZE > size - phoff) {
            throw new IllegalArgumentException(what + ": " + phnum + " program headers at offset 0x"
                    + Long.toHexString(phoff) + " do not fit in the file (" + size + " bytes)");
        }
        List<MappedMemory.Piece> pieces = new ArrayList<>();
        List<CpuState> cpus = new ArrayList<>();
        long missing = 0;
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * PHDR_SIZE;
            int ptype = s.get(LE_INT, ph);
            long off = s.get(LE_LONG, ph + 8);
            long paddr = s.get(LE_LONG, ph + 24);
            long filesz = s.get(LE_LONG, ph + 32);
            long memsz = s.get(LE_LONG, ph + 40);
            if (ptype != PT_LOAD && ptype != PT_NOTE) {
                continue;
            }
            if (off < 0 || filesz < 0 || off > size || filesz > size - off) {
                throw new IllegalArgumentException(String.format(
                        "%s: program header %d (offset 0x%x, 0x%x bytes) extends past end of file (0x%x bytes)",
                        what, i, off, filesz, size));
            }
            if (ptype == PT_NOTE) {
                notes(s.asSlice(off, filesz), off, what, cpus);
            } else {
                if (Long.compareUnsigned(memsz, filesz) > 0) {
                    missing += memsz - filesz;
                }
                pieces.add(new MappedMemory.Piece(paddr, filesz, off));
            }
        }
        if (pieces.isEmpty()) {
            throw new IllegalArgumentException(what + ": no PT_LOAD segment, so no memory");
        }
        long ram = 0;
        for (MappedMemory.Piece p : pieces) {
            ram += p.length();
        }
        String desc = what + " (" + pieces.size() + " ranges, " + MemorySources.mib(ram)
                + (missing > 0 ? ", " + missing + " bytes of memsz absent from the file" : "") + ")";
        return new MappedMemory(arena, s, pieces, desc, false, cpus);
    }

    /** Walks the notes, keeping each "QEMU" note's registers; other notes are skipped. */
    private static void notes(MemorySegment n, long base, String what, List<CpuState> cpus) {
        long p = 0;
        long end = n.byteSize();
        while (end - p >= 12) {
            long namesz = Integer.toUnsignedLong(n.get(LE_INT, p));
            long descsz = Integer.toUnsignedLong(n.get(LE_INT, p + 4));
            int type = n.get(LE_INT, p + 8);
            long name = p + 12;
            long desc = name + align4(namesz);
            long next = desc + align4(descsz);
            if (next > end) {
                throw new IllegalArgumentException(String.format(
                        "%s: note at offset 0x%x (name %d, desc %d bytes) runs past its PT_NOTE segment",
                        what, base + p, namesz, descsz));
            }
            if (type == 0 && namesz >= 4 && "QEMU".equals(string(n, name, Math.min(namesz, 5)))
                    && descsz >= QEMU_STATE_MIN) {
                MemorySegment d = n.asSlice(desc, descsz);
                cpus.add(new CpuState(cpus.size(), d.get(LE_LONG, QEMU_RIP), d.get(LE_LONG, QEMU_RSP),
                        d.get(LE_LONG, QEMU_CR), d.get(LE_LONG, QEMU_CR + 16),
                        d.get(LE_LONG, QEMU_CR + 24), d.get(LE_LONG, QEMU_CR + 32)));
            }
            p = next;
        }
    }

    private static long align4(long v) { return (v + 3) & ~3L; }

    private static String string(MemorySegment s, long off, long max) {
        byte[] b = new byte[(int) max];
        MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, off, b, 0, b.length);
        int len = 0;
        while (len < b.length && b[len] != 0) {
            len++;
        }
        return new String(b, 0, len, StandardCharsets.ISO_8859_1);
    }
}
