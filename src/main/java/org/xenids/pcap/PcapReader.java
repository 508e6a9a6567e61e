package org.xenids.pcap;

import java.io.IOException;

/**
 * Classic libpcap files: a 24-byte header (magic gives byte order and µs/ns resolution), then
 * records of a 16-byte header and the captured bytes.
 */
final class PcapReader extends CaptureReader {
    private final boolean big;
    private final boolean nanos;
    private final long fracToNanos;

    PcapReader(Source src, boolean compressed) throws IOException {
        super(src, compressed);
        if (!src.ensure(24)) {
            throw fail(0, "truncated pcap header: " + src.available() + " of 24 bytes");
        }
        byte[] b = src.buf;
        int p = src.pos;
        int magic = Source.i32(b, p, true);
        big = magic == 0xA1B2C3D4 || magic == 0xA1B23C4D;
        nanos = magic == 0xA1B23C4D || magic == 0x4D3CB2A1;
        fracToNanos = nanos ? 1 : 1000;
        int major = Source.u16(b, p + 4, big);
        int minor = Source.u16(b, p + 6, big);
        if (major != 2) {
            throw fail(4, "unsupported pcap version " + major + "." + minor);
        }
        long snaplen = Source.u32(b, p + 16, big);
        // libpcap writes 0 or 65535 or 262144; anything past this is no real writer's.
        if (snaplen > 1L << 24) {
            throw fail(16, "absurd snaplen " + snaplen);
        }
        // The top bits carry FCS information, not the link type.
        int network = Source.i32(b, p + 20, big) & 0xFFFF;
        addInterface(network, null, null, 20);
        linkType = network;
        src.pos += 24;
    }

    @Override
    boolean advance() throws IOException {
        Source s = src;
        long start = s.offset();
        steps++;
        if (!s.ensure(16)) {
            if (s.available() == 0) {
                return false;
            }
            throw fail(start, "truncated record header: " + s.available() + " of 16 bytes");
        }
        byte[] b = s.buf;
        int p = s.pos;
        long caplen = Source.u32(b, p + 8, big);
        if (caplen > MAX_CAPLEN) {
            throw fail(start, "record length " + caplen + " exceeds snaplen " + MAX_CAPLEN);
        }
        int total = 16 + (int) caplen;
        if (!s.ensure(total)) {
            throw fail(start, "truncated record: length " + caplen + ", only "
                    + (s.available() - 16) + " bytes left");
        }
        b = s.buf;
        p = s.pos;
        long sec = Source.u32(b, p, big);
        long frac = Source.u32(b, p + 4, big);
        timestampNanos = sec * 1_000_000_000L + frac * fracToNanos;
        capturedLength = (int) caplen;
        long orig = Source.u32(b, p + 12, big);
        originalLength = (int) Math.min(orig, Integer.MAX_VALUE);
        recordOffset = start;
        dataOffset = p + 16;
        s.pos = p + total;
        return true;
    }

    @Override
    Format format() { return nanos ? Format.PCAP_NANOS : Format.PCAP; }
}
