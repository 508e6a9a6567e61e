package org.xenids.pcap;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.DeltaOptions;
import org.tukaani.xz.FilterOptions;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.X86Options;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;
import org.xenids.testdata.SharedData;

/**
 * xz-compressed captures cut short or damaged: the reader hands out every record whose bytes the
 * compressed data present determine, the same records as reading what {@code xzcat} decodes of
 * the same bytes, then fails once, on one line naming the file and the decompressed offset where
 * the data end.
 */
class XzCapturesTest {
    static final String SMALL = "traffic/dev/test/scenarios/attack_http_exploits.pcap.xz";
    static final String MIXED = "traffic/dev/test/test_mixed.pcap.xz";

    /** What a reading delivered: a digest per record, then the error if any. */
    record Reading(List<Long> records, CaptureFormatException error) {
        static Reading of(CaptureReaderOpener open) throws IOException {
            List<Long> recs = new ArrayList<>();
            CaptureReader r;
            try {
                r = open.open();
            } catch (CaptureFormatException e) {
                return new Reading(recs, e);
            }
            try (r) {
                while (r.next()) {
                    long h = r.recordOffset() * 31 + r.timestampNanos();
                    h = h * 31 + r.originalLength();
                    for (int i = r.dataOffset(), end = i + r.capturedLength(); i < end; i++) {
                        h = h * 31 + r.array()[i];
                    }
                    recs.add(h);
                }
            } catch (CaptureFormatException e) {
                assertEquals(recs.size(), r.records());
                assertSame(e, assertThrows(CaptureFormatException.class, r::next), "the same error again");
                return new Reading(recs, e);
            }
            return new Reading(recs, null);
        }
    }

    interface CaptureReaderOpener {
        CaptureReader open() throws IOException;
    }

    static Path cut(Path dir, byte[] whole, int length) throws IOException {
        Path f = dir.resolve("cut" + length + ".pcap.xz");
        Files.write(f, Arrays.copyOf(whole, length));
        return f;
    }

    /**
     * Checks one cut against what xzcat decodes of it, read as a plain capture: the same records,
     * then, where xzcat found the file damaged, one error at the offset where its output ends
     * (for a cut inside a stream: "xz stream is truncated", with the compressed length).
     */
    static void sameAsXzcat(Path cutFile, boolean insideAStream) throws Exception {
        Tools.Xzcat xzcat = Tools.xzcat(cutFile);
        byte[] plain = xzcat.out();
        String name = cutFile.getFileName().toString();
        Reading viaXzcat = Reading.of(() -> CaptureReader.of(plain, 0, plain.length, "plain"));
        Reading direct = Reading.of(() -> CaptureReader.open(cutFile));
        assertEquals(viaXzcat.records().size(), direct.records().size(), name + ": records");
        assertEquals(viaXzcat.records(), direct.records(), name + ": the same records");
        CaptureFormatException e = direct.error();
        if (xzcat.ok()) { // cut between streams: the xz data are whole, the capture may not be
            assertEquals(viaXzcat.error() == null, e == null, name + ": " + e);
            if (e != null) {
                assertEquals(viaXzcat.error().offset(), e.offset());
                assertEquals(viaXzcat.error().detail(), e.detail());
            }
            return;
        }
        assertNotNull(e, name + ": a cut file must fail");
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertEquals(plain.length, e.offset(), name + ": the error names where the decompressed data end: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(name + ": offset " + plain.length + ": xz"), e.getMessage());
        if (insideAStream) {
            assertTrue(e.detail().startsWith("xz stream is truncated: the compressed file ends at byte "
                    + Files.size(cutFile) + ", in "), e.getMessage());
        }
    }

    @Test
    void realCapturesCutAnywhereDeliverWhatXzcatDecodes(@TempDir Path dir) throws Exception {
        Tools.assumeInstalled("xzcat");
        byte[] small = Files.readAllBytes(SharedData.file(SMALL));
        // In the stream header, the block header, the LZMA2 data (its first chunk, then later
        // ones), the block padding and check, the index and the stream footer.
        for (int c : new int[] {6, 11, 12, 20, 31, 32, 37, 38, 100, 1000, 5000, 12000, 18000, 24000, 24369,
                24370, 24371, 24372, 24379, 24380, 24385, 24392, 24400, 24403}) {
            sameAsXzcat(cut(dir, small, c), true);
        }
        byte[] mixed = Files.readAllBytes(SharedData.file(MIXED));
        // Inside block 1, at the end of block 1's check (the start of block 2), and in block 2.
        for (int c : new int[] {1_000_000, 2_870_560, 3_000_000}) {
            Path f = cut(dir, mixed, c);
            sameAsXzcat(f, true);
            Files.delete(f);
        }
    }

    /**
     * Without xzcat: the records handed out from a cut file are the whole file's first ones,
     * every record that ends before the reported offset is among them, the next one does not
     * fit before it, and the data reach at least as far as xz-java's own stream decodes.
     */
    @Test
    void aCutCaptureHandsOutEveryWholeRecordBeforeTheEndOfItsData(@TempDir Path dir) throws Exception {
        byte[] whole = Files.readAllBytes(SharedData.file(SMALL));
        byte[] full = Files.readAllBytes(SharedData.plain(SMALL));
        List<Long> ends = new ArrayList<>(); // where each record of the whole capture ends
        List<Long> all;
        try (CaptureReader r = CaptureReader.of(full)) {
            while (r.next()) {
                ends.add(r.recordOffset() + 16 + r.capturedLength());
            }
        }
        all = Reading.of(() -> CaptureReader.of(full)).records();
        for (int c : new int[] {12000, 3000, 9000, 15000, 21000, 24100}) {
            Path f = cut(dir, whole, c);
            Reading read = Reading.of(() -> CaptureReader.open(f));
            long end = read.error().offset();
            int n = read.records().size();
            assertEquals(all.subList(0, n), read.records(), "cut at " + c);
            assertTrue(n == 0 ? end < ends.get(0) : ends.get(n - 1) <= end && end < ends.get(n), "cut at " + c
                    + ": " + n + " records, data end at " + end);
            assertTrue(end >= xzJavaDecodes(Arrays.copyOf(whole, c)), "cut at " + c + ": " + end);
            if (c == 12000) {
                // The reported cut: inside the first LZMA2 chunk, so xz-java's stream decodes
                // nothing of it and the reader handed out no record "at offset 0". (The records
                // and the offset themselves are checked against xzcat in the test above.)
                assertTrue(n > 0 && end > 0, n + " records, data end at " + end);
            }
        }
    }

    /** Decompressed bytes xz-java's stream gives from {@code cut}, read a byte at a time until it fails. */
    static long xzJavaDecodes(byte[] cut) throws IOException {
        long n = 0;
        try (InputStream in = new XZInputStream(new java.io.ByteArrayInputStream(cut))) {
            while (in.read() >= 0) {
                n++;
            }
        } catch (EOFException expected) {
            return n;
        }
        throw new AssertionError("a cut stream decoded to its end");
    }

    /**
     * Made here with every container feature the reader follows: chunks stored uncompressed
     * (random bytes), blocks ended early, every check type, the delta filter, two streams with
     * padding between them. Whole, it reads as the plain capture; cut at every few bytes, and at
     * every byte around the ends of the streams, as what xzcat decodes of the cut.
     */
    @Test
    void everyCutOfAManyFeaturedXzFileDeliversWhatXzcatDecodes(@TempDir Path dir) throws Exception {
        int randomFrames = 40;
        byte[] plain = syntheticCapture(randomFrames, 400);
        int randomEnd = 24 + randomFrames * (16 + 1500);
        int a = randomEnd + (plain.length - randomEnd) / 3;
        int b = randomEnd + 2 * (plain.length - randomEnd) / 3;
        ByteArrayOutputStream xz = new ByteArrayOutputStream();
        try (XZOutputStream out = new XZOutputStream(xz, new LZMA2Options(), XZ.CHECK_CRC32)) {
            out.write(plain, 0, randomEnd);
            out.endBlock();
            out.write(plain, randomEnd, a - randomEnd);
        }
        int stream1End = xz.size();
        xz.write(new byte[8]); // stream padding
        try (XZOutputStream out = new XZOutputStream(xz,
                new FilterOptions[] {new DeltaOptions(4), new LZMA2Options()}, XZ.CHECK_SHA256)) {
            out.write(plain, a, b - a);
        }
        int stream2End = xz.size();
        try (XZOutputStream out = new XZOutputStream(xz, new LZMA2Options(), XZ.CHECK_NONE)) {
            out.write(plain, b, plain.length - b);
        }
        byte[] whole = xz.toByteArray();
        assertTrue(storedChunks(whole) > 0, "the random frames are stored, not compressed");
        Path f = dir.resolve("whole.pcap.xz");
        Files.write(f, whole);
        Reading read = Reading.of(() -> CaptureReader.open(f));
        assertNull(read.error());
        assertEquals(Reading.of(() -> CaptureReader.of(plain)), read);
        assertEquals(randomFrames + 400, read.records().size());
        if (Tools.installed("xzcat")) {
            assertArrayEquals(plain, Tools.xzcat(f).out());
            java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>();
            for (int c = 6; c < whole.length; c += 1 + c / 100) {
                cuts.add(c);
            }
            for (int c = -14; c <= 24; c++) {
                cuts.add(stream1End + c);
                cuts.add(stream2End + c);
            }
            for (int c : cuts) {
                Path cutFile = cut(dir, whole, c);
                sameAsXzcat(cutFile, false);
                Files.delete(cutFile);
            }
        }
        // In place and streamed through a small buffer, a cut gives the same records and error.
        for (int c : new int[] {100, randomEnd / 2, whole.length / 2, whole.length - 10}) {
            CaptureReaderFuzzTest.check(Arrays.copyOf(whole, c));
        }
    }

    /** LZMA2 chunks stored uncompressed in the first block of an xz file. */
    static int storedChunks(byte[] xz) {
        int p = 12 + ((xz[12] & 0xFF) + 1) * 4;
        int stored = 0;
        while (true) {
            int control = xz[p] & 0xFF;
            if (control == 0) {
                return stored;
            }
            int unc = ((xz[p + 1] & 0xFF) << 8 | (xz[p + 2] & 0xFF)) + 1;
            if (control < 0x80) {
                stored++;
                p += 3 + unc;
            } else {
                int comp = ((xz[p + 3] & 0xFF) << 8 | (xz[p + 4] & 0xFF)) + 1;
                p += 5 + (control >= 0xC0 ? 1 : 0) + comp;
            }
        }
    }

    /** Random frames first (which LZMA2 stores as they are), then frames that compress well. */
    static byte[] syntheticCapture(int randomFrames, int records) {
        Random rnd = new Random(7);
        Captures c = Captures.pcap(LITTLE_ENDIAN, false, LinkType.ETHERNET);
        for (int i = 0; i < randomFrames; i++) {
            byte[] frame = new byte[1500];
            rnd.nextBytes(frame);
            c.record(CaptureReaderTest.T0, i, frame);
        }
        for (int i = 0; i < records; i++) {
            c.record(CaptureReaderTest.T0 + 1 + i, i, Captures.frame(60 + i % 200, i));
        }
        return c.bytes();
    }

    /**
     * Any byte of a real xz capture changed: the reading ends in one error on one line naming
     * the file, and stops there; damage to the container is named as xz's. Work stays bounded
     * by what the headers allow (a changed chunk size can add at most 2 MiB).
     */
    @Test
    void aDamagedXzCaptureFailsOnOneLineAtTheFault() throws Exception {
        byte[] whole = Files.readAllBytes(SharedData.file(SMALL));
        long plainLength = Files.size(SharedData.plain(SMALL));
        List<Integer> at = new ArrayList<>();
        for (int i = 6; i < whole.length; i += 97) {
            at.add(i);
        }
        for (int i = 6; i < 40; i++) {
            at.add(i); // stream header, block header, first chunk header
        }
        for (int i = 24365; i < whole.length; i++) {
            at.add(i); // end of the data, padding, check, index, footer
        }
        for (int i : at) {
            for (int flip : new int[] {0x01, 0x80, 0xFF}) {
                byte[] bad = whole.clone();
                bad[i] ^= (byte) flip;
                String name = "bad" + i + ".pcap.xz";
                Reading read = Reading.of(() -> CaptureReader.of(bad, 0, bad.length, name));
                CaptureFormatException e = read.error();
                assertNotNull(e, "byte " + i + " ^ " + flip + " went unnoticed");
                assertEquals(1, e.getMessage().lines().count(), e.getMessage());
                assertTrue(e.getMessage().startsWith(name + ": offset "), e.getMessage());
                assertTrue(e.offset() <= plainLength + (2 << 20), e.getMessage());
                if (i < 32 || i >= 24370) {
                    assertTrue(e.detail().startsWith("xz"), e.getMessage());
                }
            }
        }
    }

    @Test
    void containerFaultsAreNamedOnOneLineAfterTheRecordsBeforeThem(@TempDir Path dir) throws Exception {
        byte[] plain = syntheticCapture(0, 60);
        int records = 60;
        byte[] whole = xz(plain, new LZMA2Options());

        // Garbage after the stream: all records, then the error.
        byte[] garbage = Arrays.copyOf(whole, whole.length + 8);
        garbage[whole.length] = 1;
        Reading read = Reading.of(() -> CaptureReader.of(garbage, 0, garbage.length, "g.xz"));
        assertEquals(records, read.records().size());
        assertEquals("g.xz: offset " + plain.length + ": xz data are corrupt: data after the end of stream 1 "
                + "is not another xz stream (in stream 2's header)", read.error().getMessage());

        // Stream padding that is not a multiple of four bytes.
        byte[] padded = Arrays.copyOf(whole, whole.length + 3);
        read = Reading.of(() -> CaptureReader.of(padded, 0, padded.length, "p.xz"));
        assertEquals(records, read.records().size());
        assertTrue(read.error().detail().contains("not a multiple of four"), read.error().getMessage());

        // A filter the reader does not apply (x86 BCJ): refused before any data, on one line.
        byte[] bcj = xz(plain, new X86Options(), new LZMA2Options());
        read = Reading.of(() -> CaptureReader.of(bcj, 0, bcj.length, "x.xz"));
        assertEquals(0, read.records().size());
        assertTrue(read.error().getMessage().startsWith("x.xz: offset 0: xz: unsupported filter chain: filter 0x4"),
                read.error().getMessage());

        // A dictionary over the memory limit (4 GiB - 1 declared): refused before it is reserved.
        byte[] huge = whole.clone();
        int hs = blockHeaderDictByte(huge);
        huge[hs] = 40;
        fixBlockHeaderCrc(huge);
        read = Reading.of(() -> CaptureReader.of(huge, 0, huge.length, "d.xz"));
        assertTrue(read.error().getMessage().startsWith("d.xz: offset 0: xz: block 1 needs a 4096 MiB "
                + "dictionary, over the 100 MiB memory limit"), read.error().getMessage());

        // A block header declaring fewer bytes than the block holds: nothing past them is handed out.
        int declared = plain.length - 1000;
        byte[] sized = withDeclaredSizes(whole, declared);
        read = Reading.of(() -> CaptureReader.of(sized, 0, sized.length, "s.xz"));
        assertEquals(declared, read.error().offset(), read.error().getMessage());
        assertTrue(read.error().detail().contains("holds more than the " + declared + " bytes its header declares"),
                read.error().getMessage());

        // Declaring the true sizes makes a longer header the index does not list: all records, then that.
        byte[] relisted = withDeclaredSizes(whole, plain.length);
        read = Reading.of(() -> CaptureReader.of(relisted, 0, relisted.length, "i.xz"));
        assertEquals(records, read.records().size());
        assertEquals(plain.length, read.error().offset());
        assertTrue(read.error().detail().startsWith("xz data are corrupt: the index does not match the blocks"),
                read.error().getMessage());

        // A corrupt block check: the records, then the check named.
        byte[] check = whole.clone();
        check[indexStart(check) - 1] ^= 1; // the last byte of the block's CRC64
        read = Reading.of(() -> CaptureReader.of(check, 0, check.length, "c.xz"));
        assertEquals(records, read.records().size());
        assertTrue(read.error().detail().startsWith("xz data are corrupt: CRC64 mismatch"), read.error().getMessage());
    }

    /**
     * Empty blocks whose dictionaries alternate between 64 and 96 MiB: each block could make the
     * reader reserve and clear its dictionary anew (before, 8.5 ms a 16-byte block: minutes for a
     * megabyte). Now a dictionary as large as needed is kept, and the file fails at once.
     */
    @Test
    void emptyBlocksOfAlternatingDictionariesCostLittle() throws Exception {
        int blocks = 4000;
        java.io.ByteArrayOutputStream d = new java.io.ByteArrayOutputStream();
        d.write(new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0, 0, 0});
        d.write(le32(crc(new byte[] {0, 0})));
        for (int i = 0; i < blocks; i++) {
            // header size 2 (12 bytes), one filter: LZMA2 with a dictionary of 64 (28) or 96 (29) MiB
            byte[] h = {2, 0, 0x21, 1, (byte) (i % 2 == 0 ? 28 : 29), 0, 0, 0};
            d.write(h);
            d.write(le32(crc(h)));
            d.write(new byte[] {0, 0, 0, 0}); // the LZMA2 end marker, padded to 4 bytes
        }
        java.io.ByteArrayOutputStream idx = new java.io.ByteArrayOutputStream();
        idx.write(0);
        vli(idx, blocks);
        for (int i = 0; i < blocks; i++) {
            vli(idx, 13);
            vli(idx, 0);
        }
        while (idx.size() % 4 != 0) {
            idx.write(0);
        }
        byte[] index = idx.toByteArray();
        d.write(index);
        d.write(le32(crc(index)));
        byte[] footer = {0, 0, 0, 0, 0, 0};
        footer[0] = (byte) ((index.length + 4) / 4 - 1);
        footer[1] = (byte) (((index.length + 4) / 4 - 1) >>> 8);
        d.write(le32(crc(footer)));
        d.write(footer);
        d.write(new byte[] {'Y', 'Z'});
        byte[] file = d.toByteArray();
        long t0 = System.nanoTime();
        CaptureFormatException e = assertThrows(CaptureFormatException.class, () -> {
            try (CaptureReader r = CaptureReader.open(new Source.StreamSource("blocks.pcap.xz",
                    new java.io.ByteArrayInputStream(file), 1 << 16, CaptureReader.MAX_BLOCK))) {
                while (r.next()) {
                    // nothing: the stream holds no byte
                }
            }
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().startsWith("blocks.pcap.xz: offset 0"), e.getMessage());
        assertTrue(seconds < 10, blocks + " empty blocks took " + seconds + " s");
    }

    private static long crc(byte[] b) {
        java.util.zip.CRC32 c = new java.util.zip.CRC32();
        c.update(b);
        return c.getValue();
    }

    private static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    static byte[] xz(byte[] plain, FilterOptions... filters) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (XZOutputStream out = new XZOutputStream(b, filters)) {
            out.write(plain);
        }
        return b.toByteArray();
    }

    /** Offset of the LZMA2 dictionary byte in the first block header (one filter, no sizes). */
    static int blockHeaderDictByte(byte[] xz) {
        assertEquals(0, xz[13], "block flags: one filter, no sizes");
        assertEquals(0x21, xz[14], "LZMA2");
        assertEquals(1, xz[15], "one properties byte");
        return 16;
    }

    static void fixBlockHeaderCrc(byte[] xz) {
        int size = ((xz[12] & 0xFF) + 1) * 4;
        CRC32 crc = new CRC32();
        crc.update(xz, 12, size - 4);
        long v = crc.getValue();
        for (int i = 0; i < 4; i++) {
            xz[12 + size - 4 + i] = (byte) (v >>> (8 * i));
        }
    }

    /** The stream with its first block's header rewritten to declare both sizes. */
    static byte[] withDeclaredSizes(byte[] xz, long uncompressed) {
        int oldSize = ((xz[12] & 0xFF) + 1) * 4;
        int dict = xz[blockHeaderDictByte(xz)];
        // The compressed size, from the index: the block's unpadded size less its header and CRC64.
        int index = indexStart(xz);
        assertEquals(0, xz[index]);
        assertEquals(1, xz[index + 1], "one block");
        long unpadded = 0;
        for (int i = 0, p = index + 2; ; i++, p++) {
            unpadded |= (long) (xz[p] & 0x7F) << (7 * i);
            if ((xz[p] & 0x80) == 0) {
                break;
            }
        }
        long compressed = unpadded - oldSize - 8;
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        h.write(0);
        h.write(0xC0);
        vli(h, compressed);
        vli(h, uncompressed);
        h.writeBytes(new byte[] {0x21, 1, (byte) dict});
        while ((h.size() + 4) % 4 != 0) {
            h.write(0);
        }
        byte[] header = Arrays.copyOf(h.toByteArray(), h.size() + 4);
        header[0] = (byte) (header.length / 4 - 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(xz, 0, 12);
        out.writeBytes(header);
        out.write(xz, 12 + oldSize, xz.length - 12 - oldSize);
        byte[] r = out.toByteArray();
        fixBlockHeaderCrc(r);
        return r;
    }

    /** Where the index starts: before the footer, by the footer's backward size. */
    static int indexStart(byte[] xz) {
        int f = xz.length - 12;
        long backward = ((xz[f + 4] & 0xFFL) | (xz[f + 5] & 0xFFL) << 8 | (xz[f + 6] & 0xFFL) << 16
                | (xz[f + 7] & 0xFFL) << 24);
        return (int) (f - (backward + 1) * 4);
    }

    static void vli(ByteArrayOutputStream out, long v) {
        while (v >= 0x80) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }
}
