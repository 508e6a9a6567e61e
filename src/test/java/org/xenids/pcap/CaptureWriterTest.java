package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;

/** The writers, checked by reading their output back with the reader and with Wireshark's tools. */
class CaptureWriterTest {
    static final String CAPTURE = "traffic/dev/test/scenarios/attack_http_exploits.pcap.xz";

    static final class Sink extends ByteArrayOutputStream {}

    static List<Frames.Frame> original() throws IOException {
        try (CaptureReader r = CaptureReader.open(SharedData.file(CAPTURE))) {
            return Frames.all(r);
        }
    }

    /** Writes frames to a pcapng with two interfaces: even frames on "vif3.0-tx", odd on "vif3.0-rx". */
    static void writeTwoInterfaces(Path out, List<Frames.Frame> frames) throws IOException {
        try (CaptureWriter w = CaptureWriter.pcapng(out)) {
            int tx = w.addInterface(LinkType.ETHERNET, "vif3.0-tx", "domain 3 vif 0, guest to host");
            int rx = w.addInterface(LinkType.ETHERNET, "vif3.0-rx", "domain 3 vif 0, host to guest");
            for (int i = 0; i < frames.size(); i++) {
                Frames.Frame f = frames.get(i);
                w.write(i % 2 == 0 ? tx : rx, f.ts(), f.bytes(), 0, f.bytes().length, f.origLen());
            }
            assertEquals(frames.size(), w.records());
        }
    }

    @Test
    void pcapngWithSeveralInterfacesReadsBackIdentically(@TempDir Path dir) throws IOException {
        List<Frames.Frame> frames = original();
        Path out = dir.resolve("two.pcapng");
        writeTwoInterfaces(out, frames);
        try (CaptureReader r = CaptureReader.open(out)) {
            List<Frames.Frame> back = Frames.all(r);
            assertEquals(frames.size(), back.size());
            for (int i = 0; i < frames.size(); i++) {
                Frames.Frame f = frames.get(i);
                assertEquals(new Frames.Frame(f.linkType(), i % 2, f.ts(), f.origLen(), f.bytes()), back.get(i), "frame " + i);
            }
            assertEquals(2, r.interfaceCount());
            assertEquals("vif3.0-rx", r.interfaceName(1));
            assertEquals("domain 3 vif 0, guest to host", r.interfaceDescription(0));
        }
    }

    @Test
    void tsharkReadsOurPcapngAsTheOriginal(@TempDir Path dir) throws Exception {
        Tools.assumeInstalled("tshark");
        List<Frames.Frame> frames = original();
        Path out = dir.resolve("two.pcapng");
        writeTwoInterfaces(out, frames);
        Path plain = SharedData.plain(CAPTURE);
        assertEquals(Tools.tsharkFrames(plain), Tools.tsharkFrames(out));
        List<String> names = Tools.run("tshark", "-n", "-r", out.toString(), "-T", "fields",
                "-e", "frame.interface_id", "-e", "frame.interface_name");
        for (int i = 0; i < names.size(); i++) {
            assertEquals(i % 2 + "\tvif3.0-" + (i % 2 == 0 ? "tx" : "rx"), names.get(i));
        }
        // Frame bytes: editcap rewrites our pcapng as pcap; reading that back gives the original bytes.
        Path pcap = dir.resolve("back.pcap");
        Tools.run("editcap", "-F", "pcap", out.toString(), pcap.toString());
        try (CaptureReader r = CaptureReader.open(pcap)) {
            List<Frames.Frame> back = Frames.all(r);
            assertEquals(frames, back);
        }
    }

    @Test
    void pcapInMicrosAndNanosReadsBackIdentically(@TempDir Path dir) throws Exception {
        List<Frames.Frame> frames = original();
        for (boolean nanos : new boolean[] {false, true}) {
            Path out = rewritten(dir, nanos);
            try (CaptureReader r = CaptureReader.open(out)) {
                assertEquals(frames, Frames.all(r), "the capture is in µs, so both resolutions hold it exactly");
                assertEquals(nanos ? CaptureReader.Format.PCAP_NANOS : CaptureReader.Format.PCAP, r.stats().format());
            }
            if (!nanos) {
                assertArrayEquals(Files.readAllBytes(SharedData.plain(CAPTURE)), Files.readAllBytes(out),
                        "a µs pcap of a tcpdump capture is the same file, byte for byte");
            }
        }
    }

    @Test
    void pcapInMicrosAndNanosIsWhatTsharkReadsInTheOriginal(@TempDir Path dir) throws Exception {
        Tools.assumeInstalled("tshark");
        for (boolean nanos : new boolean[] {false, true}) {
            assertEquals(Tools.tsharkFrames(SharedData.plain(CAPTURE)), Tools.tsharkFrames(rewritten(dir, nanos)));
        }
    }

    /** The capture written again as a pcap in µs or ns. */
    private static Path rewritten(Path dir, boolean nanos) throws IOException {
        Path out = dir.resolve(nanos ? "ns.pcap" : "us.pcap");
        try (CaptureReader r = CaptureReader.open(SharedData.file(CAPTURE));
                CaptureWriter w = CaptureWriter.pcap(out, LinkType.ETHERNET, nanos)) {
            while (r.next()) {
                w.write(0, r);
            }
        }
        return out;
    }

    @Test
    void microsecondPcapTruncatesNanoseconds() throws IOException {
        Sink s = new Sink();
        try (CaptureWriter w = CaptureWriter.pcap(s, LinkType.RAW, false)) {
            w.write(0, 1_700_000_000_123_456_789L, new byte[20], 0, 20);
        }
        try (CaptureReader r = CaptureReader.of(s.toByteArray())) {
            r.next();
            assertEquals(1_700_000_000_123_456_000L, r.timestampNanos());
            assertEquals(LinkType.RAW, r.linkType());
        }
    }

    @Test
    void writersRejectWhatTheReaderWouldReject() throws IOException {
        CaptureWriter w = CaptureWriter.pcapng(new Sink());
        int a = w.addInterface(LinkType.ETHERNET, null, null);
        byte[] d = new byte[CaptureReader.MAX_CAPLEN + 1];
        assertThrows(IllegalArgumentException.class, () -> w.write(a, 0, d, 0, d.length));
        assertThrows(IllegalArgumentException.class, () -> w.write(a, 0, d, 0, 60, 59));
        assertThrows(IllegalArgumentException.class, () -> w.write(a, -1, d, 0, 60));
        assertThrows(IndexOutOfBoundsException.class, () -> w.write(a + 1, 0, d, 0, 60));
        assertThrows(IndexOutOfBoundsException.class, () -> w.write(a, 0, d, d.length - 10, 60));
        assertThrows(IllegalArgumentException.class, () -> w.addInterface(1 << 16, null, null));
        w.close();
        assertThrows(IllegalStateException.class, () -> w.write(a, 0, d, 0, 60));
        CaptureWriter p = CaptureWriter.pcap(new Sink(), LinkType.ETHERNET, true);
        assertThrows(IllegalStateException.class, () -> p.addInterface(LinkType.ETHERNET, "x", null));
        assertThrows(IllegalArgumentException.class, () -> p.write(0, (1L << 32) * 1_000_000_000L, d, 0, 60));
        assertThrows(IndexOutOfBoundsException.class, () -> p.write(1, 0, d, 0, 60));
    }

    @Test
    void largeRecordsBypassTheBufferIntact() throws IOException {
        Sink s = new Sink();
        List<byte[]> written = new ArrayList<>();
        try (CaptureWriter w = CaptureWriter.pcapng(s)) {
            int a = w.addInterface(LinkType.ETHERNET, "a", null);
            for (int len : new int[] {1, CaptureReader.MAX_CAPLEN, 3, CaptureWriter.BUFFER - 10, CaptureWriter.BUFFER + 1, 0}) {
                byte[] f = Captures.frame(len, len);
                written.add(f);
                w.write(a, len, f, 0, len);
            }
        }
        try (CaptureReader r = CaptureReader.of(s.toByteArray())) {
            for (byte[] f : written) {
                r.next();
                assertArrayEquals(f, Frames.current(r).bytes());
                assertEquals(f.length, r.timestampNanos());
            }
        }
    }
}
