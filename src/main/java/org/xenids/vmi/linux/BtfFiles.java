package org.xenids.vmi.linux;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Loads BTF from a file: raw BTF (/sys/kernel/btf/vmlinux) or the .BTF section of a vmlinux ELF. */
final class BtfFiles {
    static final long MAX_FILE = 1L << 30;

    private BtfFiles() {}

    static Btf load(Path file) throws IOException {
        byte[] data = readBounded(file);
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (data.length >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F') {
            ByteBuffer sec = elfSection(b, ".BTF", file.toString());
            return Btf.parse(sec, "BTF in .BTF section of " + file);
        }
        return Btf.parse(b, "BTF file " + file);
    }

    static byte[] readBounded(Path file) throws IOException {
        if (file.toString().endsWith(".xz")) {
            try (InputStream in = new org.tukaani.xz.XZInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
                byte[] data = in.readNBytes((int) Math.min(MAX_FILE, Integer.MAX_VALUE - 16));
                if (in.read() >= 0) {
                    throw new IOException(file + ": larger than " + MAX_FILE + " bytes decompressed");
                }
                return data;
            }
        }
        long size = Files.size(file);
        if (size > MAX_FILE) {
            throw new IOException(file + ": " + size + " bytes, larger than the " + MAX_FILE + " bytes accepted");
        }
        return Files.readAllBytes(file);
    }

    /** The contents of section {@code name} of a little-endian ELF64 file, bounds-checked. */
    static ByteBuffer elfSection(ByteBuffer b, String name, String file) {
        if (b.limit() < 64 || b.get(4) != 2 || b.get(5) != 1) {
            throw new IllegalArgumentException(file + ": only little-endian ELF64 is supported");
        }
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3a) & 0xffff;
        int shnum = b.getShort(0x3c) & 0xffff;
        int shstrndx = b.getShort(0x3e) & 0xffff;
        if (shentsize < 64 || shoff < 0 || shoff > b.limit() || (long) shnum * shentsize > b.limit() - shoff
                || shstrndx >= shnum) {
            throw new IllegalArgumentException(file + " at offset 0x28: bad ELF section header table");
        }
        long strtab = shoff + (long) shstrndx * shentsize;
        long strOff = b.getLong((int) strtab + 0x18);
        long strSize = b.getLong((int) strtab + 0x20);
        checkRange(b, strOff, strSize, file, "section name table");
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            long nameOff = Integer.toUnsignedLong(b.getInt(sh));
            if (nameOff >= strSize) {
                continue;
            }
            int s = (int) (strOff + nameOff);
            int e = s;
            while (e < strOff + strSize && b.get(e) != 0) {
                e++;
            }
            byte[] nb = new byte[e - s];
            b.get(s, nb);
            if (new String(nb, StandardCharsets.ISO_8859_1).equals(name)) {
                long off = b.getLong(sh + 0x18);
                long size = b.getLong(sh + 0x20);
                checkRange(b, off, size, file, "section " + name);
                return b.slice((int) off, (int) size).order(ByteOrder.LITTLE_ENDIAN);
            }
        }
        throw new IllegalArgumentException(file + ": no " + name + " section (kernel built without CONFIG_DEBUG_INFO_BTF?)");
    }

    private static void checkRange(ByteBuffer b, long off, long size, String file, String what) {
        if (off < 0 || size < 0 || off > b.limit() || size > b.limit() - off) {
            throw new IllegalArgumentException(file + ": " + what + " [" + off + ", +" + size + ") outside the file");
        }
    }
}
