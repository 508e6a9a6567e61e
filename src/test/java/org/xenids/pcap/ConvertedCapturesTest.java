package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;

/**
 * One real capture rewritten into the other formats (by Wireshark's editcap where it can, by hand
 * for the byte orders no tool writes): every form must give the same records as the original.
 */
class ConvertedCapturesTest {
    static final String CAPTURE = "traffic/dev/test/scenarios/attack_sqlmap_sqli.pcap.xz";
    static final int PACKETS = 6326;
    static List<Frames.Frame> original;
    @TempDir static Path dir;

    @BeforeAll
    static void readOriginal() throws IOException {
        try (CaptureReader r = CaptureReader.open(SharedData.plain(CAPTURE))) {
            original = Frames.all(r);
        }
        assertEquals(PACKETS, original.size());
    }

    static List<Frames.Frame> read(Path p) throws IOException {
        try (CaptureReader r = CaptureReader.open(p)) {
            return Frames.all(r);
        }
    }

    @Test
    void editcapPcapngGivesTheSameRecords() throws Exception {
        Tools.assumeInstalled("editcap");
        Path ng = dir.resolve("e.pcapng");
        Tools.run("editcap", "-F", "pcapng", SharedData.plain(CAPTURE).toString(), ng.toString());
        try (CaptureReader r = CaptureReader.open(ng)) {
            assertEquals(original, Frames.all(r));
            assertEquals(CaptureReader.Format.PCAPNG, r.stats().format());
            assertEquals(1, r.stats().sections());
        }
    }

    @Test
    void editcapNanosecondPcapGivesTheSameRecords() throws Exception {
        Tools.assumeInstalled("editcap");
        Path ns = dir.resolve("e-ns.pcap");
        Tools.run("editcap", "-F", "nsecpcap", SharedData.plain(CAPTURE).toString(), ns.toString());
        try (CaptureReader r = CaptureReader.open(ns)) {
            assertEquals(original, Frames.all(r));
            assertEquals(CaptureReader.Format.PCAP_NANOS, r.stats().format());
        }
    }

    @Test
    void byteSwappedPcapGivesTheSameRecords() throws IOException {
        assertEquals(original, read(swapped()));
    }

    @Test
    void byteSwappedPcapIsOneTsharkReadsAsTheOriginal() throws Exception {
        Tools.assumeInstalled("tshark");
        assertEquals(Tools.tsharkFrames(SharedData.plain(CAPTURE)), Tools.tsharkFrames(swapped()));
    }

    private Path swapped() throws IOException {
        Path sw = dir.resolve("swapped.pcap");
        Files.write(sw, swapPcap(Files.readAllBytes(SharedData.plain(CAPTURE))));
        return sw;
    }

    /** Big-endian and little-endian sections, ns and µs interfaces, in one file. */
    @Test
    void pcapngInBothByteOrdersAcrossSectionsGivesTheSameRecords() throws Exception {
        List<Frames.Frame> back = read(mixedSections());
        int half = original.size() / 2;
        assertEquals(original.size(), back.size());
        for (int i = 0; i < back.size(); i++) {
            Frames.Frame o = original.get(i);
            int iface = i < half ? 0 : 1;
            assertEquals(new Frames.Frame(o.linkType(), iface, o.ts(), o.origLen(), o.bytes()), back.get(i), "frame " + i);
        }
    }

    @Test
    void pcapngInBothByteOrdersIsOneTsharkReadsAsTheOriginal() throws Exception {
        Tools.assumeInstalled("tshark");
        assertEquals(Tools.tsharkFrames(SharedData.plain(CAPTURE)), Tools.tsharkFrames(mixedSections()));
    }

    /** The capture's first half in a big-endian section (ns), the rest in a little-endian one (µs). */
    private Path mixedSections() throws IOException {
        Captures c = Captures.pcapng(ByteOrder.BIG_ENDIAN)
                .idb(LinkType.ETHERNET, 262_144, "be0", 9, 0);
        int half = original.size() / 2;
        for (Frames.Frame f : original.subList(0, half)) {
            c.epb(0, f.ts(), f.bytes().length, f.origLen(), f.bytes());
        }
        c.shb(ByteOrder.LITTLE_ENDIAN, -1).idb(LinkType.ETHERNET, 262_144, "le0", 6, 0);
        for (Frames.Frame f : original.subList(half, original.size())) {
            c.epb(0, f.ts() / 1000, f.bytes().length, f.origLen(), f.bytes());
        }
        Path mixed = dir.resolve("mixed.pcapng");
        Files.write(mixed, c.bytes());
        return mixed;
    }

    @Test
    void mergecapInterfacesKeepTheirRecordsAndTimeOrder() throws Exception {
        Tools.assumeInstalled("mergecap");
        Tools.assumeInstalled("tshark");
        Path a = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        Path b = SharedData.plain("traffic/dev/test/scenarios/attack_http_exploits.pcap.xz");
        Path merged = dir.resolve("merged.pcapng");
        Tools.run("mergecap", "-I", "none", "-F", "pcapng", "-w", merged.toString(), a.toString(), b.toString());
        List<Frames.Frame> fromA = read(a);
        List<Frames.Frame> fromB = read(b);
        List<Frames.Frame> all = read(merged);
        assertEquals(fromA.size() + fromB.size(), all.size());
        assertEquals(fromA, all.stream().filter(f -> f.iface() == 0)
                .map(f -> new Frames.Frame(f.linkType(), 0, f.ts(), f.origLen(), f.bytes())).toList());
        assertEquals(fromB, all.stream().filter(f -> f.iface() == 1)
                .map(f -> new Frames.Frame(f.linkType(), 0, f.ts(), f.origLen(), f.bytes())).toList());
        for (int i = 1; i < all.size(); i++) {
            assertTrue(all.get(i - 1).ts() <= all.get(i).ts(), "merged in time order at " + i);
        }
        List<String> ids = Tools.run("tshark", "-n", "-r", merged.toString(), "-T", "fields", "-e", "frame.interface_id");
        assertEquals(all.stream().map(f -> String.valueOf(f.iface())).toList(), ids);
    }

    /** Rewrites a little-endian pcap as big-endian (header and every record header). */
    static byte[] swapPcap(byte[] le) {
        ByteBuffer in = ByteBuffer.wrap(le).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(le.length).order(ByteOrder.BIG_ENDIAN);
        assertEquals(0xA1B2C3D4, in.getInt(0));
        out.putInt(in.getInt()).putShort(in.getShort()).putShort(in.getShort());
        for (int i = 0; i < 4; i++) {
            out.putInt(in.getInt());
        }
        while (in.hasRemaining()) {
            out.putInt(in.getInt()).putInt(in.getInt());
            int caplen = in.getInt();
            out.putInt(caplen).putInt(in.getInt());
            out.put(le, in.position(), caplen);
            in.position(in.position() + caplen);
        }
        assertTrue(!out.hasRemaining());
        return out.array();
    }
}
