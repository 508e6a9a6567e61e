package org.xenids.pcap;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the readers deliver from well-formed captures of every supported shape. */
class CaptureReaderTest {
    static final long T0 = 1_700_000_000L; // seconds since the epoch

    static byte[] pcapOf(ByteOrder order, boolean nanos) {
        return Captures.pcap(order, nanos, LinkType.ETHERNET)
                .record(T0, nanos ? 123_456_789 : 123_456, Captures.frame(60, 1))
                .record(T0 + 1, nanos ? 5 : 0, 40, 1514, Captures.frame(40, 2))
                .bytes();
    }

    @Test
    void pcapInBothByteOrdersAndBothResolutionsGivesTheSameRecords() throws IOException {
        for (ByteOrder order : List.of(LITTLE_ENDIAN, BIG_ENDIAN)) {
            for (boolean nanos : new boolean[] {false, true}) {
                try (CaptureReader r = CaptureReader.of(pcapOf(order, nanos))) {
                    String what = order + (nanos ? " ns" : " µs");
                    assertTrue(r.next(), what);
                    assertEquals(T0 * 1_000_000_000L + (nanos ? 123_456_789 : 123_456_000), r.timestampNanos(), what);
                    assertEquals(LinkType.ETHERNET, r.linkType());
                    assertEquals(60, r.capturedLength());
                    assertEquals(60, r.originalLength());
                    assertEquals(24, r.recordOffset());
                    assertEquals(40, r.dataOffset());
                    assertArrayEquals(Captures.frame(60, 1), Arrays.copyOfRange(r.array(), 40, 100));
                    assertTrue(r.next());
                    assertEquals((T0 + 1) * 1_000_000_000L + (nanos ? 5 : 0), r.timestampNanos(), what);
                    assertEquals(40, r.capturedLength());
                    assertEquals(1514, r.originalLength());
                    assertEquals(24 + 16 + 60, r.recordOffset());
                    assertFalse(r.next());
                    assertFalse(r.next(), "the end stays the end");
                    CaptureReader.Stats s = r.stats();
                    assertEquals(nanos ? CaptureReader.Format.PCAP_NANOS : CaptureReader.Format.PCAP, s.format());
                    assertEquals(2, s.records());
                    assertEquals(100, s.capturedBytes());
                    assertEquals(1574, s.originalBytes());
                    assertEquals(1, s.snappedRecords());
                }
            }
        }
    }

    @Test
    void linkTypesAreReportedAsTheirNumbers() throws IOException {
        for (int lt : new int[] {LinkType.NULL, LinkType.ETHERNET, LinkType.RAW_12, LinkType.RAW_14,
                LinkType.RAW, LinkType.LOOP, LinkType.LINUX_SLL, LinkType.LINUX_SLL2}) {
            try (CaptureReader r = CaptureReader.of(Captures.pcap(LITTLE_ENDIAN, false, lt)
                    .record(T0, 0, Captures.frame(20, lt)).bytes())) {
                assertTrue(r.next());
                assertEquals(lt, r.linkType());
            }
        }
        // The pcap header's top bits carry the FCS length, not the link type.
        try (CaptureReader r = CaptureReader.of(Captures.pcap(LITTLE_ENDIAN, false, (1 << 26) | (4 << 28) | 1)
                .record(T0, 0, Captures.frame(20, 1)).bytes())) {
            assertTrue(r.next());
            assertEquals(LinkType.ETHERNET, r.linkType());
        }
    }

    @Test
    void pcapngSectionsKeepTheirOwnByteOrderAndInterfaces() throws IOException {
        byte[] f = Captures.pcapng(LITTLE_ENDIAN)
                .idb(LinkType.ETHERNET, 0, "eth0", -1, 0)
                .epb(0, T0 * 1_000_000L, Captures.frame(60, 1))
                .shb(BIG_ENDIAN, -1)
                .idb(LinkType.LINUX_SLL, 0, "any", 9, 0)
                .idb(LinkType.RAW, 0, "tun0", 9, 0)
                .epb(1, T0 * 1_000_000_000L + 7, Captures.frame(33, 2))
                .epb(0, T0 * 1_000_000_000L + 8, Captures.frame(44, 3))
                .bytes();
        try (CaptureReader r = CaptureReader.of(f)) {
            assertTrue(r.next());
            assertEquals(0, r.interfaceId());
            assertEquals(LinkType.ETHERNET, r.linkType());
            assertEquals(T0 * 1_000_000_000L, r.timestampNanos());
            assertTrue(r.next());
            assertEquals(2, r.interfaceId(), "ids are global: section 2's interface 1 is the third");
            assertEquals(LinkType.RAW, r.linkType());
            assertEquals(T0 * 1_000_000_000L + 7, r.timestampNanos());
            assertEquals(33, r.capturedLength());
            assertArrayEquals(Captures.frame(33, 2), Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + 33));
            assertTrue(r.next());
            assertEquals(1, r.interfaceId());
            assertEquals(LinkType.LINUX_SLL, r.linkType());
            assertFalse(r.next());
            assertEquals(3, r.interfaceCount());
            assertEquals("tun0", r.interfaceName(2));
            assertNull(r.interfaceDescription(2));
            assertEquals(2, r.stats().sections());
            assertEquals(CaptureReader.Format.PCAPNG, r.stats().format());
        }
    }

    @Test
    void timestampResolutionsInBothFormsAndOffsetsBecomeEpochNanos() throws IOException {
        long sec = T0;
        byte[] f = Captures.pcapng(BIG_ENDIAN)
                .idb(LinkType.ETHERNET, 0, null, 3, 0)              // milliseconds
                .idb(LinkType.ETHERNET, 0, null, 0x80 | 20, 0)      // 2^-20 s
                .idb(LinkType.ETHERNET, 0, null, 12, 0)             // picoseconds
                .idb(LinkType.ETHERNET, 0, null, 6, -3600)          // µs, 1 h earlier
                .idb(LinkType.ETHERNET, 0, null, 0x80 | 0, 0)       // whole seconds, 2^0
                .idb(LinkType.ETHERNET)                             // default: µs
                .epb(0, sec * 1000 + 250, Captures.frame(10, 0))
                .epb(1, (sec << 20) + (1 << 19), Captures.frame(10, 1))
                .epb(2, 10_000_000L * 1_000_000_000_000L + 1_500, Captures.frame(10, 2)) // ≥ 2^63: unsigned
                .epb(3, sec * 1_000_000 + 1, Captures.frame(10, 3))
                .epb(4, sec, Captures.frame(10, 4))
                .epb(5, sec * 1_000_000 + 2, Captures.frame(10, 5))
                .bytes();
        long base = sec * 1_000_000_000L;
        long[] expected = {base + 250_000_000L, base + 500_000_000L, 10_000_000L * 1_000_000_000L + 1, base - 3_600_000_000_000L + 1_000,
            base, base + 2_000};
        try (CaptureReader r = CaptureReader.of(f)) {
            for (long e : expected) {
                assertTrue(r.next());
                assertEquals(e, r.timestampNanos(), "interface " + r.interfaceId());
            }
            assertFalse(r.next());
        }
    }

    @Test
    void simplePacketsTakeTheirSnaplenFromTheFirstInterface() throws IOException {
        byte[] f = Captures.pcapng(LITTLE_ENDIAN)
                .idb(LinkType.ETHERNET, 64, null, -1, 0)
                .spb(1514, Captures.frame(64, 1))
                .spb(42, Captures.frame(42, 2))
                .bytes();
        try (CaptureReader r = CaptureReader.of(f)) {
            assertTrue(r.next());
            assertEquals(64, r.capturedLength());
            assertEquals(1514, r.originalLength());
            assertEquals(0, r.timestampNanos(), "an SPB carries no time");
            assertTrue(r.next());
            assertEquals(42, r.capturedLength());
            assertArrayEquals(Captures.frame(42, 2), Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + 42));
            assertFalse(r.next());
        }
    }

    @Test
    void obsoletePacketBlocksAreReadAndTheirDropsCounted() throws IOException {
        byte[] f = Captures.pcapng(LITTLE_ENDIAN).idb(LinkType.ETHERNET)
                .opb(0, 3, T0 * 1_000_000, Captures.frame(50, 1))
                .opb(0, 2, T0 * 1_000_000 + 1, Captures.frame(51, 2))
                .bytes();
        try (CaptureReader r = CaptureReader.of(f)) {
            assertEquals(2, FramesCount.of(r));
            assertEquals(5, r.stats().reportedDrops());
        }
    }

    @Test
    void unknownBlocksOfAnySizeAreSkippedAndCountedByType() throws IOException {
        byte[] huge = new byte[CaptureReader.MAX_BLOCK + 4096]; // larger than any block held in memory
        byte[] f = Captures.pcapng(LITTLE_ENDIAN).idb(LinkType.ETHERNET)
                .block(4, new byte[16])             // name resolution
                .epb(0, 1, Captures.frame(60, 1))
                .block(0x0A, huge)                  // decryption secrets
                .block(0x40000BAD, new byte[8])     // custom
                .block(0x12345678, new byte[0])
                .block(4, new byte[4])
                .epb(0, 2, Captures.frame(61, 2))
                .bytes();
        for (int buffer : new int[] {0, 4096}) {
            try (CaptureReader r = buffer == 0 ? CaptureReader.of(f)
                    : CaptureReader.open(new Source.StreamSource("s", new ByteArrayInputStream(f), buffer, CaptureReader.MAX_BLOCK))) {
                assertEquals(2, FramesCount.of(r));
                CaptureReader.Stats s = r.stats();
                assertEquals(5, s.skippedBlocks());
                assertEquals(Map.of("NRB", 2L, "DSB", 1L, "custom", 1L, "0x12345678", 1L), s.skippedByType());
                if (buffer > 0) {
                    assertTrue(r.array().length <= CaptureReader.MAX_BLOCK, "skipping never buffers a whole block");
                }
            }
        }
    }

    @Test
    void interfaceStatisticsReportDropsOnce() throws IOException {
        CaptureWriterTest.Sink sink = new CaptureWriterTest.Sink();
        try (CaptureWriter w = CaptureWriter.pcapng(sink)) {
            int a = w.addInterface(LinkType.ETHERNET, "a", null);
            w.write(a, 1, Captures.frame(60, 1), 0, 60);
            w.statistics(a, 2, 10, 4);
            w.statistics(a, 3, 20, 7); // cumulative: 7 in all, not 11
        }
        try (CaptureReader r = CaptureReader.of(sink.toByteArray())) {
            assertEquals(1, FramesCount.of(r));
            assertEquals(7, r.stats().reportedDrops());
            assertEquals(0, r.stats().skippedBlocks());
        }
    }

    @Test
    void recordsLargerThanTheBufferGrowItUpToTheBound() throws IOException {
        byte[] big = Captures.frame(CaptureReader.MAX_CAPLEN, 9);
        byte[] f = Captures.pcap(LITTLE_ENDIAN, false, LinkType.ETHERNET)
                .record(T0, 0, Captures.frame(100, 1)).record(T0, 1, big).record(T0, 2, Captures.frame(100, 2)).bytes();
        try (CaptureReader r = CaptureReader.open(new Source.StreamSource("s", new ByteArrayInputStream(f), 1024, CaptureReader.MAX_BLOCK))) {
            assertTrue(r.next());
            assertTrue(r.next());
            assertEquals(CaptureReader.MAX_CAPLEN, r.capturedLength());
            assertArrayEquals(big, Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + big.length));
            assertTrue(r.next());
            assertFalse(r.next());
            assertTrue(r.array().length <= CaptureReader.MAX_BLOCK);
        }
    }

    @Test
    void inMemoryVariantsReadInPlaceWithTheSameCursor() throws IOException {
        byte[] f = pcapOf(LITTLE_ENDIAN, true);
        byte[] padded = new byte[f.length + 20];
        System.arraycopy(f, 0, padded, 7, f.length);
        List<Frames.Frame> expected;
        try (CaptureReader r = CaptureReader.of(f)) {
            expected = Frames.all(r);
        }
        try (CaptureReader r = CaptureReader.of(padded, 7, f.length, "slice")) {
            assertTrue(r.next());
            assertEquals(padded, r.array(), "no copy");
            assertEquals(7 + 40, r.dataOffset());
            assertEquals(24, r.recordOffset(), "offsets count from the start of the capture");
        }
        try (CaptureReader r = CaptureReader.of(MemorySegment.ofArray(padded).asSlice(7, f.length), "heap")) {
            assertEquals(expected, Frames.all(r));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment native_ = arena.allocate(f.length);
            MemorySegment.copy(f, 0, native_, ValueLayout.JAVA_BYTE, 0, f.length);
            try (CaptureReader r = CaptureReader.of(native_, "native")) {
                assertEquals(expected, Frames.all(r));
            }
        }
    }

    /** Counts what is left in a reader. */
    static final class FramesCount {
        static long of(CaptureReader r) throws IOException {
            long n = 0;
            while (r.next()) {
                n++;
            }
            return n;
        }
    }
}
