package org.xenids.xen.probe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The hypervisor's symbols from the {@code -dbg} package's map file ({@code nm} format:
 * {@code 0xADDR T name}) and the build-id (ELF note {@code NT_GNU_BUILD_ID}) they belong to.
 * Map lines are hostile input: a malformed line fails naming file and line number.
 */
final class XenSymbols {
    static final int MAX_MAP_BYTES = 64 << 20, MAX_ELF_BYTES = 256 << 20;
    private final Map<String, Long> addresses;
    final String buildId;
    /** The ELF's bytes (for {@link #code}); empty when not kept. */
    private final byte[] elf;

    private XenSymbols(Map<String, Long> addresses, String buildId, byte[] elf) {
        this.addresses = addresses;
        this.buildId = buildId;
        this.elf = elf;
    }

    /** Loads {@code map} and the build-id of {@code symsElf} (the {@code xen-syms} beside the map). */
    static XenSymbols load(Path map, Path symsElf) throws IOException {
        if (Files.size(map) > MAX_MAP_BYTES) {
            throw new IOException(map + ": larger than " + MAX_MAP_BYTES + " bytes");
        }
        Map<String, Long> a = new HashMap<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(map, StandardCharsets.ISO_8859_1)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            if (f.length != 3 || f[1].length() != 1) {
                throw new IOException(map + ": line " + lineNo + ": expected 'ADDRESS TYPE NAME'");
            }
            String hex = f[0].startsWith("0x") ? f[0].substring(2) : f[0];
            if (hex.isEmpty() || hex.length() > 16) {
                throw new IOException(map + ": line " + lineNo + ": bad address '" + f[0] + "'");
            }
            long addr;
            try {
                addr = Long.parseUnsignedLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new IOException(map + ": line " + lineNo + ": bad address '" + f[0] + "'");
            }
            a.putIfAbsent(f[2], addr);
        }
        byte[] b = elfBytes(symsElf);
        return new XenSymbols(a, buildId(symsElf.toString(), b), b);
    }

    /**
     * Up to {@code len} bytes of the image at virtual address {@code vaddr}, from the ELF's PT_LOAD
     * segment holding it (file-backed part only); an empty array when no segment holds it.
     */
    byte[] code(long vaddr, int len) {
        return code(elf, vaddr, len);
    }

    static byte[] code(byte[] elf, long vaddr, int len) {
        if (elf.length < 64 || elf[4] != 2) {
            return new byte[0];
        }
        ByteBuffer bb = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = bb.getLong(32);
        int phentsize = Short.toUnsignedInt(bb.getShort(54)), phnum = Short.toUnsignedInt(bb.getShort(56));
        for (int i = 0; i < phnum && phentsize >= 56 && phoff >= 0 && phoff <= elf.length - (long) (i + 1) * phentsize; i++) {
            int p = (int) (phoff + (long) i * phentsize);
            long off = bb.getLong(p + 8), va = bb.getLong(p + 16), filesz = bb.getLong(p + 32);
            if (bb.getInt(p) != 1 || off < 0 || filesz < 0 || off > elf.length - filesz) {   // PT_LOAD in the file
                continue;
            }
            long rel = vaddr - va;
            if (rel >= 0 && rel < filesz) {
                int n = (int) Math.min(len, filesz - rel);
                return java.util.Arrays.copyOfRange(elf, (int) (off + rel), (int) (off + rel) + n);
            }
        }
        return new byte[0];
    }

    /** The address of {@code name}; fails naming the symbol when the map lacks it. */
    long address(String name) throws IOException {
        Long v = addresses.get(name);
        if (v == null) {
            throw new IOException("symbol " + name + " is not in the hypervisor's map");
        }
        return v;
    }

    int size() {
        return addresses.size();
    }

    /** The GNU build-id (hex) of an ELF file, gzip-compressed or not (Debian ships {@code xen-*.gz}). */
    static String buildId(Path elf) throws IOException {
        return buildId(elf.toString(), elfBytes(elf));
    }

    private static byte[] elfBytes(Path elf) throws IOException {
        byte[] b;
        try (InputStream raw = Files.newInputStream(elf)) {
            InputStream in = raw;
            byte[] head = raw.readNBytes(2);
            try (InputStream all = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(head), raw)) {
                in = head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b ? new GZIPInputStream(all) : all;
                b = in.readNBytes(MAX_ELF_BYTES + 1);
            }
        }
        if (b.length > MAX_ELF_BYTES) {
            throw new IOException(elf + ": larger than " + MAX_ELF_BYTES + " bytes");
        }
        return b;
    }

    /** Walks the PT_NOTE segments (ELF32 or ELF64, little-endian) for NT_GNU_BUILD_ID. */
    static String buildId(String name, byte[] b) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (b.length < 52 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F' || b[5] != 1) {
            throw new IOException(name + ": offset 0: not a little-endian ELF file");
        }
        boolean is64 = b[4] == 2;
        if (!is64 && b[4] != 1 || is64 && b.length < 64) {
            throw new IOException(name + ": offset 4: bad ELF class " + b[4]);
        }
        long phoff = is64 ? bb.getLong(32) : Integer.toUnsignedLong(bb.getInt(28));
        int phentsize = Short.toUnsignedInt(bb.getShort(is64 ? 54 : 42));
        int phnum = Short.toUnsignedInt(bb.getShort(is64 ? 56 : 44));
        if (phentsize < (is64 ? 56 : 32) || phoff < 0 || phoff > b.length - (long) phentsize * phnum) {
            throw new IOException(name + ": offset " + phoff + ": program headers outside the file");
        }
        for (int i = 0; i < phnum; i++) {
            int p = (int) (phoff + (long) i * phentsize);
            if (bb.getInt(p) != 4) {   // PT_NOTE
                continue;
            }
            long off = is64 ? bb.getLong(p + 8) : Integer.toUnsignedLong(bb.getInt(p + 4));
            long size = is64 ? bb.getLong(p + 32) : Integer.toUnsignedLong(bb.getInt(p + 16));
            if (off < 0 || size < 0 || off > b.length - size) {
                throw new IOException(name + ": offset " + p + ": note segment outside the file");
            }
            long q = off, end = off + size;
            while (q + 12 <= end) {
                long nameSz = Integer.toUnsignedLong(bb.getInt((int) q));
                long descSz = Integer.toUnsignedLong(bb.getInt((int) q + 4));
                int type = bb.getInt((int) q + 8);
                long nameAt = q + 12, descAt = nameAt + ((nameSz + 3) & ~3L), next = descAt + ((descSz + 3) & ~3L);
                if (next > end || next <= q) {
                    throw new IOException(name + ": offset " + q + ": note runs past its segment");
                }
                if (type == 3 && nameSz == 4 && b[(int) nameAt] == 'G' && b[(int) nameAt + 1] == 'N'
                        && b[(int) nameAt + 2] == 'U' && descSz > 0 && descSz <= 64) {
                    return HexFormat.of().formatHex(b, (int) descAt, (int) (descAt + descSz));
                }
                q = next;
            }
        }
        throw new IOException(name + ": no NT_GNU_BUILD_ID note");
    }

    /** Fails, naming both ids, unless the hypervisor and the symbols come from one build. */
    static void requireSameBuild(String hypervisorId, String where, String symbolsId) throws IOException {
        if (!hypervisorId.equals(symbolsId)) {
            throw new IOException("hypervisor build-id " + hypervisorId + " (" + where + ") does not match the symbols' "
                    + symbolsId + ": install the -dbg package of the running hypervisor");
        }
    }
}
