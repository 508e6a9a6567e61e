package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;
import org.xenids.testdata.Tshark;

class PcapCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Distinct tcp.stream and udp.stream values, and the frame count, as tshark sees the capture. */
    static long[] tsharkStreamsAndFrames(Path plain) throws Exception {
        List<String> lines = Tshark.fields(plain, "frame.number", "tcp.stream", "udp.stream", "communityid");
        Set<String> tcp = new HashSet<>(), udp = new HashSet<>();
        for (String l : lines) {
            String[] c = l.split("\\|", -1);
            if (!c[1].isEmpty()) tcp.add(c[1]);
            if (!c[2].isEmpty()) udp.add(c[2]);
        }
        return new long[] {tcp.size(), udp.size(), lines.size()};
    }

    @Test
    void statsJsonCountsPacketsAndFlowsAsTshark() throws Exception {
        Tshark.assumeInstalled();
        String rel = "traffic/dev/test/scenarios/attack_nmap_version_scan.pcap.xz";
        long[] t = tsharkStreamsAndFrames(SharedData.plain(rel));
        String[] r = MainTest.run("pcap", "stats", "--json", SharedData.file(rel).toString());
        assertEquals("0", r[0], r[2]);
        JsonNode s = JSON.readTree(r[1]);
        assertEquals(t[2], s.get("packets").asLong());
        assertEquals(t[0], s.path("flows").path("by_protocol").path("tcp").asLong());
        assertEquals(t[1], s.path("flows").path("by_protocol").path("udp").asLong(0));
        assertEquals(t[0] + t[1], s.path("flows").path("total").asLong());
        assertEquals(t[2], s.path("link_types").path("ETHERNET").asLong());
        assertTrue(s.path("top_talkers").size() > 0);
    }

    @Test
    void flowsEveRecordsValidateAgainstSuricatasSchema(@TempDir Path tmp) throws Exception {
        String rel = "traffic/dev/train/train_benign.pcap.xz";
        Path eve = tmp.resolve("flows.json");
        String[] r = MainTest.run("pcap", "flows", "--eve", eve.toString(), SharedData.file(rel).toString());
        assertEquals("0", r[0], r[2]);
        List<String> lines = Files.readAllLines(eve);
        long labelled = Files.lines(SharedData.file("traffic/dev/train/train_benign.csv")).skip(1).count();
        assertEquals(labelled, lines.size(), "one record per flow of the label CSV");
        EveSchema.assertValid(lines);
        for (String l : lines) {
            JsonNode n = JSON.readTree(l);
            assertEquals("flow", n.get("event_type").asText());
            assertTrue(n.get("community_id").asText().startsWith("1:"), l);
        }
    }

    @Test
    void flowsWithoutEvePrintsATableWithCommunityIds() {
        String[] r = MainTest.run("pcap", "flows", SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString());
        assertEquals("0", r[0], r[2]);
        List<String> rows = r[1].lines().toList();
        assertEquals(6, rows.size(), r[1]);
        assertTrue(rows.get(0).contains("community_id"));
        assertTrue(r[1].contains("1:ntdDw8YVasAVk2zF0laM5DtC2yo="), "tshark's ID of the first connection");
    }

    @Test
    void truncatedCaptureReportsRecordsBeforeTheFaultThenFailsWithOneLine(@TempDir Path tmp) throws Exception {
        Path full = SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz");
        long cut = -1;
        try (CaptureReader rd = CaptureReader.open(full)) {
            for (int i = 0; i < 31 && rd.next(); i++) cut = rd.recordOffset() + 8;
        }
        byte[] bytes = Files.readAllBytes(full);
        Path broken = tmp.resolve("broken.pcap");
        Files.write(broken, Arrays.copyOf(bytes, (int) cut));
        String[] r = MainTest.run("pcap", "stats", "--json", broken.toString());
        assertEquals("1", r[0]);
        JsonNode s = JSON.readTree(r[1]);
        assertEquals(30, s.get("packets").asLong(), "the 30 whole records before the cut are counted");
        assertTrue(s.get("flows").get("total").asLong() > 0);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].startsWith("xenids: broken.pcap: offset "), r[2]);
    }
}
