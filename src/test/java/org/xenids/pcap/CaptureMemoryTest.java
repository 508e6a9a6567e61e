package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bounded memory: no allocation per record, and files larger than 4 GiB in a fixed buffer. */
class CaptureMemoryTest {
    static final int RECORDS = 100_000;

    static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    static long drain(CaptureReader r) throws IOException {
        long sum = 0;
        while (r.next()) {
            sum += r.array()[r.dataOffset()] + r.capturedLength() + r.timestampNanos() + r.interfaceId();
        }
        return sum;
    }

    static byte[] pcapng(int records) {
        Captures c = Captures.pcapng(ByteOrder.LITTLE_ENDIAN).idb(LinkType.ETHERNET, 0, "a", 9, 0)
                .idb(LinkType.RAW, 0, "b", 0x80 | 20, 0);
        for (int i = 0; i < records; i++) {
            c.epb(i & 1, 1_000_000_000L + i, Captures.frame(60 + (i & 63), i));
        }
        return c.bytes();
    }

    static byte[] pcap(int records) {
        Captures c = Captures.pcap(ByteOrder.BIG_ENDIAN, true, LinkType.ETHERNET);
        for (int i = 0; i < records; i++) {
            c.record(1_700_000_000L + i, i, Captures.frame(60 + (i & 63), i));
        }
        return c.bytes();
    }

    @Test
    void readingAllocatesNothingPerRecord(@TempDir Path dir) throws IOException {
        for (byte[] capture : new byte[][] {pcapng(RECORDS), pcap(RECORDS)}) {
            Path file = dir.resolve("c");
            Files.write(file, capture);
            for (int round = 0; round < 3; round++) { // warm-up rounds let the JIT settle first
                long before = allocated();
                try (CaptureReader r = CaptureReader.of(capture)) {
                    drain(r);
                    assertEquals(RECORDS, r.records());
                }
                long inMemory = allocated() - before;
                before = allocated();
                try (CaptureReader r = CaptureReader.open(file)) {
                    drain(r);
                }
                long fromFile = allocated() - before;
                if (round == 2) {
                    assertTrue(inMemory < 16 * 1024, "in-memory read of " + RECORDS + " records allocated " + inMemory + " bytes");
                    assertTrue(fromFile < CaptureReader.DEFAULT_BUFFER + 64 * 1024,
                            "file read of " + RECORDS + " records allocated " + fromFile + " bytes");
                }
            }
        }
    }

    @Test
    void writingAllocatesNothingPerRecord() throws IOException {
        byte[] frame = Captures.frame(1514, 1);
        for (int round = 0; round < 3; round++) {
            long before = allocated();
            try (CaptureWriter ng = CaptureWriter.pcapng(OutputStream.nullOutputStream());
                    CaptureWriter p = CaptureWriter.pcap(OutputStream.nullOutputStream(), 1, true)) {
                int a = ng.addInterface(LinkType.ETHERNET, "dom1.vif0.tx", null);
                int b = ng.addInterface(LinkType.ETHERNET, "dom1.vif0.rx", null);
                for (int i = 0; i < RECORDS; i++) {
                    ng.write((i & 1) == 0 ? a : b, 1_000L * i, frame, 0, 60 + (i & 1023));
                    p.write(0, 1_000L * i, frame, 0, 60 + (i & 1023));
                }
            }
            long used = allocated() - before;
            if (round == 2) {
                assertTrue(used < 2 * CaptureWriter.BUFFER + 16 * 1024, "writing " + 2 * RECORDS + " records allocated " + used);
            }
        }
    }

    /** A pcap of {@code records} identical 1514-byte frames, generated as it is read. */
    static final class Generated extends InputStream {
        private final byte[] header = Captures.pcap(ByteOrder.LITTLE_ENDIAN, false, LinkType.ETHERNET).bytes();
        private final byte[] record = Captures.pcap(ByteOrder.LITTLE_ENDIAN, false, LinkType.ETHERNET)
                .record(1_700_000_000L, 1, Captures.frame(1514, 5)).bytes();
        private final long total;
        private long at;

        Generated(long records) {
            total = 24 + records * (record.length - 24);
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (at >= total) {
                return -1;
            }
            int n = 0;
            while (n < len && at < total) {
                int k;
                if (at < 24) {
                    k = (int) Math.min(len - n, 24 - at);
                    System.arraycopy(header, (int) at, b, off + n, k);
                } else {
                    int phase = (int) ((at - 24) % (record.length - 24));
                    k = (int) Math.min(Math.min(len - n, record.length - 24 - phase), total - at);
                    System.arraycopy(record, 24 + phase, b, off + n, k);
                }
                n += k;
                at += k;
            }
            return n;
        }
    }

    @Test
    void capturesLargerThan4GiBStreamInAFixedBuffer() throws IOException {
        long records = (5L << 30) / 1530; // 5 GiB of 1530-byte records
        try (CaptureReader r = CaptureReader.open(new Generated(records), "generated.pcap")) {
            byte[] buffer = null;
            long last = -1;
            while (r.next()) {
                if (buffer == null) {
                    buffer = r.array();
                }
                last = r.recordOffset();
            }
            assertEquals(records, r.records());
            assertEquals(24 + (records - 1) * 1530, last, "offsets past 4 GiB stay exact");
            assertEquals(records * 1514, r.stats().capturedBytes());
            assertTrue(buffer == r.array() && buffer.length == CaptureReader.DEFAULT_BUFFER, "one buffer, never grown");
        }
    }
}
