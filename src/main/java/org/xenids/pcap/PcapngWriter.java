package org.xenids.pcap;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** pcapng: one section header, then interface descriptions and enhanced packet blocks as they come. */
final class PcapngWriter extends CaptureWriter {
    private static final byte[] APPLICATION = "xenids".getBytes(StandardCharsets.UTF_8);
    private int interfaces;

    PcapngWriter(OutputStream out) throws IOException {
        super(out);
        int len = 28 + option(APPLICATION.length) + 4;
        i32(PcapngReader.SHB);
        i32(len);
        i32(0x1A2B3C4D);
        i16(1);
        i16(0);
        i64(-1); // section length not known in advance
        option(4, APPLICATION); // shb_userappl
        i32(0); // opt_endofopt
        i32(len);
    }

    @Override
    public int addInterface(int linkType, String name, String description) throws IOException {
        checkOpen();
        if (linkType < 0 || linkType > 0xFFFF) {
            throw new IllegalArgumentException("link type " + linkType + " out of range");
        }
        if (interfaces >= CaptureReader.MAX_INTERFACES) {
            throw new IllegalStateException("more than " + CaptureReader.MAX_INTERFACES + " interfaces");
        }
        byte[] nm = text(name);
        byte[] desc = text(description);
        int len = 16 + (nm == null ? 0 : option(nm.length)) + (desc == null ? 0 : option(desc.length))
                + option(1) + 4 + 4;
        room(len);
        i32(PcapngReader.IDB);
        i32(len);
        i16(linkType);
        i16(0);
        i32(CaptureReader.MAX_CAPLEN);
        if (nm != null) {
            option(2, nm); // if_name
        }
        if (desc != null) {
            option(3, desc); // if_description
        }
        option(9, new byte[] {9}); // if_tsresol: nanoseconds
        i32(0);
        i32(len);
        return interfaces++;
    }

    @Override
    public void statistics(int interfaceId, long timestampNanos, long received, long dropped) throws IOException {
        checkOpen();
        java.util.Objects.checkIndex(interfaceId, interfaces);
        if (timestampNanos < 0 || received < 0 || dropped < 0) {
            throw new IllegalArgumentException("negative timestamp or count");
        }
        int len = 20 + 2 * option(8) + 4 + 4;
        room(len);
        i32(PcapngReader.ISB);
        i32(len);
        i32(interfaceId);
        i32((int) (timestampNanos >>> 32));
        i32((int) timestampNanos);
        i16(4); // isb_ifrecv
        i16(8);
        i64(received);
        i16(5); // isb_ifdrop
        i16(8);
        i64(dropped);
        i32(0);
        i32(len);
    }

    @Override
    public int interfaceCount() { return interfaces; }

    @Override
    void record(int interfaceId, long ts, byte[] data, int offset, int caplen, int origlen) throws IOException {
        int pad = -caplen & 3;
        int len = 32 + caplen + pad;
        room(28);
        i32(PcapngReader.EPB);
        i32(len);
        i32(interfaceId);
        i32((int) (ts >>> 32));
        i32((int) ts);
        i32(caplen);
        i32(origlen);
        bytes(data, offset, caplen);
        room(pad + 4);
        zeros(pad);
        i32(len);
    }

    /** Bytes an option of {@code valueLength} takes: code, length, value padded to 4. */
    private static int option(int valueLength) {
        return 4 + ((valueLength + 3) & ~3);
    }

    private void option(int code, byte[] value) {
        i16(code);
        i16(value.length);
        System.arraycopy(value, 0, buf, n, value.length);
        n += value.length;
        zeros(-value.length & 3);
    }

    private static byte[] text(String s) {
        if (s == null) {
            return null;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("interface label of " + b.length + " bytes exceeds 65535");
        }
        return b;
    }
}
