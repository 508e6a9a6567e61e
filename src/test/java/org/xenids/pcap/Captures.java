package org.xenids.pcap;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds capture bytes by hand, in either byte order, including the malformed ones the readers
 * must reject: the tests state every field instead of trusting a writer under test.
 */
final class Captures {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteOrder order;

    private Captures(ByteOrder order) {
        this.order = order;
    }

    byte[] bytes() { return out.toByteArray(); }

    int size() { return out.size(); }

    Captures raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    Captures i32(long v) {
        out.writeBytes(ByteBuffer.allocate(4).order(order).putInt((int) v).array());
        return this;
    }

    Captures i16(int v) {
        out.writeBytes(ByteBuffer.allocate(2).order(order).putShort((short) v).array());
        return this;
    }

    // ---- pcap --------------------------------------------------------------------------------

    static Captures pcap(ByteOrder order, boolean nanos, int linkType) {
        return pcap(order, nanos, 262_144, linkType);
    }

    static Captures pcap(ByteOrder order, boolean nanos, long snaplen, int linkType) {
        Captures c = new Captures(order);
        c.i32(nanos ? 0xA1B23C4D : 0xA1B2C3D4).i16(2).i16(4).i32(0).i32(0).i32(snaplen).i32(linkType);
        return c;
    }

    Captures record(long sec, long frac, byte[] data) {
        return record(sec, frac, data.length, data.length, data);
    }

    Captures record(long sec, long frac, long caplen, long origlen, byte[] data) {
        i32(sec).i32(frac).i32(caplen).i32(origlen);
        out.writeBytes(data);
        return this;
    }

    // ---- pcapng ------------------------------------------------------------------------------

    static Captures pcapng(ByteOrder order) {
        return new Captures(order).shb(order, -1);
    }

    /** A section header block (switches the byte order for what follows). */
    Captures shb(ByteOrder newOrder, long sectionLength) {
        order = newOrder;
        i32(0x0A0D0D0A).i32(28).i32(0x1A2B3C4D).i16(1).i16(0);
        i32(order == ByteOrder.BIG_ENDIAN ? sectionLength >>> 32 : sectionLength);
        i32(order == ByteOrder.BIG_ENDIAN ? sectionLength : sectionLength >>> 32);
        return i32(28);
    }

    /** An IDB; {@code tsresol} &lt; 0 leaves the option out; {@code tsoffset} 0 too. */
    Captures idb(int linkType, long snaplen, String name, int tsresol, long tsoffset) {
        ByteArrayOutputStream opts = new ByteArrayOutputStream();
        if (name != null) {
            opts.writeBytes(option(2, name.getBytes(StandardCharsets.UTF_8)));
        }
        if (tsresol >= 0) {
            opts.writeBytes(option(9, new byte[] {(byte) tsresol}));
        }
        if (tsoffset != 0) {
            opts.writeBytes(option(14, ByteBuffer.allocate(8).order(order).putLong(tsoffset).array()));
        }
        if (opts.size() > 0) {
            opts.writeBytes(option(0, new byte[0]));
        }
        int len = 20 + opts.size();
        i32(1).i32(len).i16(linkType).i16(0).i32(snaplen);
        out.writeBytes(opts.toByteArray());
        return i32(len);
    }

    Captures idb(int linkType) {
        return idb(linkType, 0, null, -1, 0);
    }

    Captures epb(int iface, long ts, byte[] data) {
        return epb(iface, ts, data.length, data.length, data);
    }

    Captures epb(int iface, long ts, long caplen, long origlen, byte[] data) {
        int pad = -data.length & 3;
        int len = 32 + data.length + pad;
        i32(6).i32(len).i32(iface).i32(ts >>> 32).i32(ts).i32(caplen).i32(origlen);
        out.writeBytes(data);
        out.writeBytes(new byte[pad]);
        return i32(len);
    }

    /** Obsolete packet block (type 2): 16-bit interface id and a drop count. */
    Captures opb(int iface, int drops, long ts, byte[] data) {
        int pad = -data.length & 3;
        int len = 32 + data.length + pad;
        i32(2).i32(len).i16(iface).i16(drops).i32(ts >>> 32).i32(ts).i32(data.length).i32(data.length);
        out.writeBytes(data);
        out.writeBytes(new byte[pad]);
        return i32(len);
    }

    Captures spb(long origlen, byte[] data) {
        int pad = -data.length & 3;
        int len = 16 + data.length + pad;
        i32(3).i32(len).i32(origlen);
        out.writeBytes(data);
        out.writeBytes(new byte[pad]);
        return i32(len);
    }

    /** Any block: type, then body, with both length fields right. */
    Captures block(int type, byte[] body) {
        int len = 12 + body.length;
        i32(type).i32(len);
        out.writeBytes(body);
        return i32(len);
    }

    private byte[] option(int code, byte[] value) {
        ByteBuffer b = ByteBuffer.allocate(4 + ((value.length + 3) & ~3)).order(order);
        b.putShort((short) code).putShort((short) value.length).put(value);
        return b.array();
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (seed * 31 + i * 7);
        }
        return f;
    }
}
