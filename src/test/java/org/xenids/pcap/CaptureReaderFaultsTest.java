package org.xenids.pcap;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * Malformed captures: one-line errors naming the file and offset, after every record before the
 * fault has been delivered, with the counters covering exactly those.
 */
class CaptureReaderFaultsTest {
    static final long T0 = CaptureReaderTest.T0;

    /** Reads all it can; returns the error after checking records delivered and counters. */
    static CaptureFormatException failure(byte[] capture, String name, int recordsBefore) throws IOException {
        try (CaptureReader r = CaptureReader.of(capture, 0, capture.length, name)) {
            int n = 0;
            CaptureFormatException e = null;
            try {
                while (r.next()) {
                    n++;
                }
            } catch (CaptureFormatException thrown) {
                e = thrown;
            }
            assertTrue(e != null, "no error for " + name);
            assertEquals(recordsBefore, n, "records delivered before the fault");
            assertEquals(recordsBefore, r.records());
            assertSame(e, assertThrows(CaptureFormatException.class, r::next), "the error is sticky");
            assertEquals(recordsBefore, r.stats().records());
            assertEquals(1, e.getMessage().lines().count());
            assertTrue(e.getMessage().startsWith(name + ": offset " + e.offset() + ": "), e.getMessage());
            return e;
        }
    }

    static CaptureFormatException headerFailure(byte[] capture, String name) {
        return assertThrows(CaptureFormatException.class, () -> CaptureReader.of(capture, 0, capture.length, name));
    }

    static Captures goodPcap() {
        return Captures.pcap(LITTLE_ENDIAN, false, LinkType.ETHERNET)
                .record(T0, 0, Captures.frame(60, 1)).record(T0, 1, Captures.frame(70, 2));
    }

    static Captures goodPcapng(java.nio.ByteOrder order) {
        return Captures.pcapng(order).idb(LinkType.ETHERNET)
                .epb(0, 1, Captures.frame(60, 1)).epb(0, 2, Captures.frame(61, 2));
    }

    @Test
    void recordLengthPastSnaplenFailsNamingFileAndOffset() throws IOException {
        byte[] f = goodPcap().record(T0, 2, 0xFFFF_FFFFL, 60, new byte[60]).bytes();
        CaptureFormatException e = failure(f, "train.pcap", 2);
        assertEquals("train.pcap: offset " + (24 + 76 + 86) + ": record length 4294967295 exceeds snaplen 262144", e.getMessage());
    }

    @Test
    void truncatedRecordFailsNamingFileAndOffset() throws IOException {
        byte[] whole = goodPcap().bytes();
        byte[] cut = Arrays.copyOf(whole, whole.length - 5);
        CaptureFormatException e = failure(cut, "cut.pcap", 1);
        assertEquals(24 + 76, e.offset());
        assertTrue(e.detail().startsWith("truncated record: length 70"), e.detail());
        CaptureFormatException header = failure(Arrays.copyOf(whole, 24 + 76 + 9), "cuthdr.pcap", 1);
        assertEquals("truncated record header: 9 of 16 bytes", header.detail());
    }

    @Test
    void truncatedFilesBeforeTheFirstRecordFail() {
        assertEquals("empty file, no capture header", headerFailure(new byte[0], "e").detail());
        assertTrue(headerFailure(new byte[] {(byte) 0xD4, (byte) 0xC3}, "two").detail().contains("too short"));
        assertTrue(headerFailure(Arrays.copyOf(goodPcap().bytes(), 20), "h").detail().startsWith("truncated pcap header"));
    }

    @Test
    void wrongMagicFails() {
        byte[] f = goodPcap().bytes();
        f[0] = 0x12;
        CaptureFormatException e = headerFailure(f, "x.pcap");
        assertEquals("x.pcap: offset 0: not a pcap or pcapng file: magic 0x12C3B2A1", e.getMessage());
        byte[] gz = {0x1F, (byte) 0x8B, 8, 0, 0, 0, 0, 0};
        assertTrue(headerFailure(gz, "x.gz").detail().contains("gzip"));
    }

    @Test
    void absurdSnaplenOrVersionInPcapHeaderFails() {
        byte[] f = Captures.pcap(BIG_ENDIAN, false, 0xFFFF_FFF0L, LinkType.ETHERNET).bytes();
        assertEquals("absurd snaplen 4294967280", headerFailure(f, "s").detail());
        byte[] v = goodPcap().bytes();
        v[4] = 1;
        assertEquals("unsupported pcap version 1.4", headerFailure(v, "v").detail());
    }

    @Test
    void zeroLengthBlockFails() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).i32(6).i32(0).i32(0).bytes();
        assertEquals("block length 0 is less than 12", failure(f, "z.pcapng", 2).detail());
    }

    @Test
    void blockLengthNotMultipleOfFourFails() throws IOException {
        byte[] f = goodPcapng(BIG_ENDIAN).i32(6).i32(33).raw(new byte[40]).bytes();
        assertEquals("block length 33 is not a multiple of 4", failure(f, "m", 2).detail());
    }

    @Test
    void trailingLengthMismatchFails() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).i32(0x12345).i32(16).i32(0).i32(20).bytes();
        assertEquals("trailing block length 20 differs from leading length 16", failure(f, "t", 2).detail());
        byte[] g = goodPcapng(LITTLE_ENDIAN).i32(6).i32(32).raw(new byte[20]).i32(36).bytes();
        assertEquals("trailing block length 36 differs from leading length 32", failure(g, "t", 2).detail());
    }

    @Test
    void blockLengthPastTheEndFails() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).i32(6).i32(1 << 12).raw(new byte[100]).bytes();
        CaptureFormatException e = failure(f, "p", 2);
        assertTrue(e.detail().startsWith("truncated EPB block: length 4096, only 108 bytes left"), e.detail());
        byte[] g = goodPcapng(LITTLE_ENDIAN).i32(0x777).i32(0xFFFF_FFF0L).raw(new byte[100]).bytes();
        assertTrue(failure(g, "q", 2).detail().startsWith("truncated 0x00000777 block: length 4294967280"));
        byte[] h = goodPcapng(LITTLE_ENDIAN).i32(6).i32(0x7FFF_FFF0).raw(new byte[100]).bytes();
        assertEquals("EPB block length 2147483632 exceeds limit " + CaptureReader.MAX_BLOCK, failure(h, "r", 2).detail());
    }

    @Test
    void packetLengthsPastTheirBlockFail() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).epb(0, 3, 100, 100, Captures.frame(60, 3)).bytes();
        assertEquals("record length 100 exceeds block data of 60 bytes", failure(f, "c", 2).detail());
        byte[] g = goodPcapng(LITTLE_ENDIAN).epb(0, 3, 0x8000_0000L, 100, Captures.frame(60, 3)).bytes();
        assertEquals("record length 2147483648 exceeds snaplen 262144", failure(g, "c", 2).detail());
        byte[] h = Captures.pcapng(LITTLE_ENDIAN).idb(1).spb(100, Captures.frame(60, 3)).bytes();
        assertEquals("record length 100 exceeds block data of 60 bytes", failure(h, "s", 0).detail());
    }

    @Test
    void packetsOfUndescribedInterfacesFail() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).epb(1, 3, Captures.frame(60, 3)).bytes();
        assertEquals("EPB interface id 1 not described (section has 1 interfaces)", failure(f, "i", 2).detail());
        // A new section forgets the interfaces of the previous one.
        byte[] g = goodPcapng(LITTLE_ENDIAN).shb(BIG_ENDIAN, -1).epb(0, 3, Captures.frame(60, 3)).bytes();
        assertEquals("EPB interface id 0 not described (section has 0 interfaces)", failure(g, "j", 2).detail());
        byte[] h = Captures.pcapng(BIG_ENDIAN).spb(10, Captures.frame(10, 3)).bytes();
        assertEquals("SPB before any interface description in its section", failure(h, "k", 0).detail());
    }

    @Test
    void badSectionHeadersFail() throws IOException {
        byte[] f = goodPcapng(LITTLE_ENDIAN).i32(0x0A0D0D0A).i32(28).i32(0x11223344).raw(new byte[16]).bytes();
        assertEquals("bad byte-order magic 0x44332211 in section header", failure(f, "b", 2).detail());
        byte[] g = goodPcapng(LITTLE_ENDIAN).i32(0x0A0D0D0A).i32(28).i32(0x1A2B3C4D).i16(2).i16(0)
                .raw(new byte[8]).i32(28).bytes();
        assertEquals("unsupported pcapng version 2.0", failure(g, "v", 2).detail());
    }

    @Test
    void badInterfaceOptionsFail() throws IOException {
        // if_tsresol claims 200 bytes in a 24-byte block.
        byte[] f = goodPcapng(LITTLE_ENDIAN).i32(1).i32(24).i16(1).i16(0).i32(0).i16(9).i16(200).i32(24).bytes();
        assertEquals("interface option 9 length 200 runs past the block", failure(f, "o", 2).detail());
    }

    @Test
    void interfacesPastTheBoundFail() throws IOException {
        Captures c = Captures.pcapng(LITTLE_ENDIAN).idb(LinkType.ETHERNET).epb(0, 1, Captures.frame(20, 1));
        for (int i = 1; i <= CaptureReader.MAX_INTERFACES; i++) {
            c.idb(LinkType.ETHERNET);
        }
        CaptureFormatException e = failure(c.bytes(), "many", 1);
        assertEquals("more than " + CaptureReader.MAX_INTERFACES + " interfaces", e.detail());
        assertEquals(28 + 20 + 52 + (CaptureReader.MAX_INTERFACES - 1) * 20L, e.offset());
    }

    /**
     * Lengths cannot send the reader back or keep it in place: every block moves it forward by its
     * length (≥ 12), and a section length pointing backwards is not followed.
     */
    @Test
    void blockAndSectionLengthsCannotMakeTheReaderLoop() throws IOException {
        byte[] f = Captures.pcapng(LITTLE_ENDIAN).shb(LITTLE_ENDIAN, -28).idb(LinkType.ETHERNET)
                .epb(0, 1, Captures.frame(8, 1)).shb(LITTLE_ENDIAN, -1000).idb(LinkType.ETHERNET)
                .epb(0, 2, Captures.frame(8, 2)).bytes();
        try (CaptureReader r = CaptureReader.of(f)) {
            assertEquals(2, CaptureReaderTest.FramesCount.of(r));
            assertEquals(3, r.stats().sections());
        }
    }

    @Test
    void corruptOrTruncatedXzFailsAsAFormatError(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream xz = new ByteArrayOutputStream();
        byte[] plain = goodPcap().bytes();
        try (XZOutputStream out = new XZOutputStream(xz, new LZMA2Options())) {
            out.write(plain);
        }
        byte[] whole = xz.toByteArray();
        Path ok = dir.resolve("ok.pcap.xz");
        Files.write(ok, whole);
        try (CaptureReader r = CaptureReader.open(ok)) {
            assertEquals(2, CaptureReaderTest.FramesCount.of(r));
            assertTrue(r.stats().compressed());
        }
        // A capture larger than the reader's buffer, cut short: the records decoded before the cut
        // are delivered, then the error at the end of the decompressed data. Cut in its last 30
        // bytes (block check, index, footer), all of its data are there: every record comes out.
        Captures big = Captures.pcap(LITTLE_ENDIAN, false, LinkType.ETHERNET);
        for (int i = 0; i < 2000; i++) {
            big.record(T0 + i, i, Captures.frame(200, i));
        }
        ByteArrayOutputStream bigXz = new ByteArrayOutputStream();
        try (XZOutputStream out = new XZOutputStream(bigXz, new LZMA2Options())) {
            out.write(big.bytes());
        }
        Path cut = dir.resolve("cut.pcap.xz");
        Files.write(cut, Arrays.copyOf(bigXz.toByteArray(), bigXz.size() - 30));
        try (CaptureReader r = CaptureReader.open(cut)) {
            CaptureFormatException e = assertThrows(CaptureFormatException.class, () -> CaptureReaderTest.FramesCount.of(r));
            assertTrue(e.getMessage().startsWith("cut.pcap.xz: offset " + big.size() + ": xz stream is truncated"), e.getMessage());
            assertEquals(2000, r.records());
        }
        Files.write(cut, Arrays.copyOf(bigXz.toByteArray(), bigXz.size() / 2));
        try (CaptureReader r = CaptureReader.open(cut)) {
            CaptureFormatException e = assertThrows(CaptureFormatException.class, () -> CaptureReaderTest.FramesCount.of(r));
            assertTrue(e.getMessage().startsWith("cut.pcap.xz: offset "), e.getMessage());
            assertTrue(r.records() > 0 && r.records() < 2000, "records before the cut: " + r.records());
            assertTrue(e.offset() >= r.recordOffset() + 16 + 200 && e.offset() < r.recordOffset() + 2 * (16 + 200),
                    "the data end inside the record after the last one delivered: " + e.getMessage());
        }
        byte[] bad = whole.clone();
        bad[whole.length / 2] ^= 0x55;
        CaptureFormatException e = assertThrows(CaptureFormatException.class, () -> {
            try (CaptureReader r = CaptureReader.of(bad, 0, bad.length, "bad.xz")) {
                CaptureReaderTest.FramesCount.of(r);
            }
        });
        assertTrue(e.detail().startsWith("xz"), e.getMessage());
    }
}
