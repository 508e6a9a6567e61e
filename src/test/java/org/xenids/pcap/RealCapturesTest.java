package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;

/** The real captures of the dev data set, read as they are stored (xz) and as tools rewrite them. */
class RealCapturesTest {

    static List<String> devCaptures() throws IOException {
        Path dev = SharedData.root().resolve("traffic/dev");
        try (Stream<Path> s = Files.walk(dev)) {
            return s.filter(p -> p.toString().endsWith(".pcap.xz"))
                    .map(p -> SharedData.root().relativize(p).toString()).sorted().toList();
        }
    }

    /** stats.json key of a capture: "train", "test", "test/attack_syn_flood". */
    static String statsKey(String relative) {
        String n = Path.of(relative).getFileName().toString().replace(".pcap.xz", "");
        return n.startsWith("attack_") ? "test/" + n : n.startsWith("train") ? "train" : "test";
    }

    static long count(CaptureReader r) throws IOException {
        long n = 0;
        while (r.next()) {
            n++;
        }
        return n;
    }

    @Test
    void everyDevCaptureReadsAsManyPacketsAndBytesAsStatsJson() throws Exception {
        JsonNode stats = new ObjectMapper().readTree(SharedData.file("traffic/dev/stats.json").toFile()).get("stats");
        List<String> files = devCaptures();
        assertTrue(files.size() >= 11, "dev captures found: " + files);
        for (String f : files) {
            long streamed;
            try (CaptureReader r = CaptureReader.open(SharedData.file(f))) {
                streamed = count(r);
                assertTrue(r.stats().compressed(), f);
                assertEquals(CaptureReader.Format.PCAP, r.stats().format(), f);
                assertEquals(LinkType.ETHERNET, r.interfaceLinkType(0), f);
            }
            long expected = stats.get(statsKey(f)).get("packets").asLong();
            assertEquals(expected, streamed, f + " packets (stats.json)");
            try (CaptureReader r = CaptureReader.open(SharedData.plain(f))) {
                assertEquals(expected, count(r), f + " uncompressed");
                assertEquals(stats.get(statsKey(f)).get("bytes").asLong(), r.stats().capturedBytes(), f + " bytes");
            }
        }
    }

    @Test
    void everyDevCaptureReadsAsManyPacketsAsCapinfosCounts() throws Exception {
        Tools.assumeInstalled("capinfos");
        List<String> files = devCaptures();
        assertTrue(files.size() >= 11, "dev captures found: " + files);
        for (String f : files) {
            try (CaptureReader r = CaptureReader.open(SharedData.file(f))) {
                assertEquals(Tools.capinfosCount(SharedData.plain(f)), count(r), f + " packets (capinfos)");
            }
        }
    }

    @Test
    void timestampsAndLengthsMatchTshark() throws Exception {
        Tools.assumeInstalled("tshark");
        Path plain = SharedData.plain("traffic/dev/test/scenarios/attack_http_exploits.pcap.xz");
        List<String> ours = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(plain)) {
            while (r.next()) {
                ours.add(Frames.tsharkLine(r));
            }
        }
        assertEquals(764, ours.size());
        assertEquals(Tools.tsharkFrames(plain), ours);
    }

    @Test
    void xzStreamAndPlainFileGiveIdenticalRecords() throws Exception {
        String f = "traffic/dev/test/scenarios/attack_nmap_version_scan.pcap.xz";
        List<Frames.Frame> a;
        List<Frames.Frame> b;
        try (CaptureReader r = CaptureReader.open(SharedData.file(f))) {
            a = Frames.all(r);
        }
        try (CaptureReader r = CaptureReader.of(Files.readAllBytes(SharedData.plain(f)))) {
            b = Frames.all(r);
        }
        assertEquals(471, a.size());
        assertEquals(a, b);
        assertFalse(a.getFirst().bytes().length == 0);
    }
}
