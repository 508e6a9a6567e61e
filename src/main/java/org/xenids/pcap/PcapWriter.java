package org.xenids.pcap;

import java.io.IOException;
import java.io.OutputStream;

/** libpcap format: 24-byte header, then a 16-byte header per record. */
final class PcapWriter extends CaptureWriter {
    private final boolean nanos;

    PcapWriter(OutputStream out, int linkType, boolean nanos) throws IOException {
        super(out);
        if (linkType < 0 || linkType > 0xFFFF) {
            throw new IllegalArgumentException("link type " + linkType + " out of range");
        }
        this.nanos = nanos;
        i32(nanos ? 0xA1B23C4D : 0xA1B2C3D4);
        i16(2);
        i16(4);
        i32(0); // thiszone: timestamps are UTC
        i32(0); // sigfigs
        i32(CaptureReader.MAX_CAPLEN);
        i32(linkType);
    }

    @Override
    public int addInterface(int linkType, String name, String description) {
        throw new IllegalStateException("a pcap file has a single interface, given at creation: write pcapng for more");
    }

    @Override
    public void statistics(int interfaceId, long timestampNanos, long received, long dropped) {
        throw new IllegalStateException("pcap files cannot record interface statistics: write pcapng");
    }

    @Override
    public int interfaceCount() { return 1; }

    @Override
    void record(int interfaceId, long ts, byte[] data, int offset, int caplen, int origlen) throws IOException {
        long sec = ts / 1_000_000_000L;
        long frac = ts % 1_000_000_000L;
        if (sec > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("timestamp " + ts + " is past what pcap can hold (2106)");
        }
        room(16);
        i32((int) sec);
        i32((int) (nanos ? frac : frac / 1000));
        i32(caplen);
        i32(origlen);
        bytes(data, offset, caplen);
    }
}
