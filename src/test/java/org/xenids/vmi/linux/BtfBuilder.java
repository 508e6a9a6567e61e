package org.xenids.vmi.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds small BTF blobs and ELF files for tests. */
final class BtfBuilder {
    private BtfBuilder() {}

    static byte[] blob(byte[] types, byte[] strings) {
        ByteBuffer b = ByteBuffer.allocate(24 + types.length + strings.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xEB9F).put((byte) 1).put((byte) 0).putInt(24);
        b.putInt(0).putInt(types.length).putInt(types.length).putInt(strings.length);
        b.put(types).put(strings);
        return b.array();
    }

    /** A minimal ELF64 LE file with a null section, the given section, and .shstrtab. */
    static byte[] elfWithSection(String name, byte[] contents) {
        byte[] shstr = ("\0" + name + "\0.shstrtab\0").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int dataOff = 64;
        int strOff = dataOff + contents.length;
        int shoff = (strOff + shstr.length + 7) & ~7;
        ByteBuffer b = ByteBuffer.allocate(shoff + 3 * 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(0x10, (short) 2).putShort(0x12, (short) 62).putInt(0x14, 1);
        b.putLong(0x28, shoff).putShort(0x34, (short) 64).putShort(0x3a, (short) 64).putShort(0x3c, (short) 3).putShort(0x3e, (short) 2);
        b.put(dataOff, contents).put(strOff, shstr);
        int s1 = shoff + 64;
        b.putInt(s1, 1).putInt(s1 + 4, 1).putLong(s1 + 0x18, dataOff).putLong(s1 + 0x20, contents.length);
        int s2 = shoff + 128;
        b.putInt(s2, 2 + name.length()).putInt(s2 + 4, 3).putLong(s2 + 0x18, strOff).putLong(s2 + 0x20, shstr.length);
        return b.array();
    }
}
