package org.xenids.alert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.EveSchema;

class EveWriterTest {
    private static final long TS = 1_795_293_339_485_768_123L;

    private static List<String> write(EveEvent... events) throws Exception {
        var buf = new ByteArrayOutputStream();
        try (EveWriter w = EveWriter.of(buf)) {
            for (EveEvent e : events) {
                w.write(e);
            }
        }
        return buf.toString(StandardCharsets.UTF_8).lines().toList();
    }

    private static final Endpoints TCP = new Endpoints("203.0.113.18", 55024, "10.0.0.12", 80, "TCP");

    @Test
    void timestampHasMicrosecondsAndOffsetWithoutColon() {
        assertEquals("2026-11-21T20:35:39.485768+0000", EveWriter.timestamp(TS));
        assertEquals("1970-01-01T00:00:00.000000+0000", EveWriter.timestamp(0));
    }

    @Test
    void flowAlertAndAnomalyRecordsValidateAgainstSuricatasSchema() throws Exception {
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("domain", "web-1");
        ctx.put("vm_image", "nginx");
        ctx.put("distance", 12.5);
        ctx.put("top_bytes", List.of(0x90, 0x31));
        List<String> lines = write(
                new EveEvent.Flow(TS, 42, TCP, "1:abc=", 10, 8, 1200, 9000, TS - 5_000_000_000L, TS,
                        "closed", "timeout", true, List.of(100), "dom1/vif0"),
                new EveEvent.Alert(TS, 42, TCP, "1:abc=",
                        Signature.detect(9000001, "XENIDS payload anomaly", "Anomalous payload", 2), ctx, null),
                new EveEvent.Alert(TS, 0, null, null,
                        Signature.detect(9100001, "XENIDS hidden process", "Rootkit", 1), Map.of("pid", 4242), null),
                new EveEvent.Anomaly(TS, 0, null, "xen.ring", "tx.gref_not_granted", "ring", 17, "dom3/vif0/tx"));
        assertEquals(4, lines.size());
        EveSchema.assertValid(lines);
    }

    @Test
    void anAnomalysDetailIsItsPacketVariablesInOrderAndValidates() throws Exception {
        Map<String, String> vars = new LinkedHashMap<>();
        vars.put("address", "0xffff8880062a3080");
        vars.put("message", "tasks.prev = 0xffff888012345678, but the list reached it from 0xffff88800617a0d0");
        List<String> lines = write(new EveEvent.Anomaly(TS, 0, null, "vmi", "torn-link", "task-list", 0, null, vars),
                new EveEvent.Anomaly(TS, 0, null, "vmi", "cycle", "children-tree", 0, null));
        EveSchema.assertValid(lines);
        JsonNode n = new ObjectMapper().readTree(lines.get(0));
        assertEquals("{\"type\":\"vmi\",\"event\":\"torn-link\",\"layer\":\"task-list\"}", n.get("anomaly").toString());
        assertEquals("[{\"address\":\"0xffff8880062a3080\"},{\"message\":\"" + vars.get("message") + "\"}]",
                n.get("metadata").get("pktvars").toString());
        assertFalse(new ObjectMapper().readTree(lines.get(1)).has("metadata"), "no detail, no metadata: " + lines.get(1));
        // Where the schema leaves no room: in the anomaly object, or at the top level.
        String inAnomaly = lines.get(1).replace("\"layer\":", "\"message\":\"x\",\"layer\":");
        assertFalse(EveSchema.violations(inAnomaly).isEmpty(), inAnomaly);
        String atTop = lines.get(1).replaceFirst("^\\{", "{\"address\":\"0x1\",");
        assertFalse(EveSchema.violations(atTop).isEmpty(), atTop);
    }

    @Test
    void schemaRejectsExtraTopLevelKeysSoTheValidationIsReal() throws Exception {
        String good = write(new EveEvent.Alert(TS, 0, null, null,
                Signature.detect(9100001, "XENIDS hidden process", "Rootkit", 1), Map.of("pid", 4242), null)).get(0);
        assertEquals(java.util.Set.of(), EveSchema.violations(good), good);
        // The same record with the guest's name at the top level instead of in the alert's context.
        String bad = good.replaceFirst("^\\{", "{\"domain\":\"x\",");
        var v = EveSchema.violations(bad);
        assertEquals(1, v.size(), v.toString());
        assertTrue(v.toString().contains("domain"), v.toString());
    }

    @Test
    void contextKeepsInsertionOrderAndHostAlertHasNoEndpoints() throws Exception {
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("z", 1);
        ctx.put("a", 2);
        String line = write(new EveEvent.Alert(TS, 0, null, null,
                Signature.detect(1, "s", "c", 3), ctx, null)).get(0);
        JsonNode n = new ObjectMapper().readTree(line);
        assertEquals(List.of("z", "a"), iter(n.get("alert").get("context").fieldNames()));
        assertFalse(n.has("src_ip"));
        assertFalse(n.has("flow_id"));
        assertTrue(line.indexOf("\"z\"") < line.indexOf("\"a\""));
    }

    @Test
    void aRingAnomalyAtSlotZeroNamesItsSlotWhereADecodeAnomalyHasNoCode() throws Exception {
        List<String> lines = write(
                new EveEvent.Anomaly(TS, 0, null, "xen.ring", "tx.bad_extra_info", "xen", 0, "dom3/vif0/tx"),
                new EveEvent.Anomaly(TS, 0, null, "xen.ring", "tx.bad_extra_info", "xen", 5, "dom3/vif0/tx"),
                new EveEvent.Anomaly(TS, 0, TCP, "decode", "ipv4.trunc_pkt", null, 0, "dom3/vif0/tx"));
        ObjectMapper m = new ObjectMapper();
        assertEquals(0, m.readTree(lines.get(0)).get("anomaly").get("code").asInt(), lines.get(0));
        assertTrue(m.readTree(lines.get(0)).get("anomaly").get("code").isInt(), lines.get(0));
        assertEquals(5, m.readTree(lines.get(1)).get("anomaly").get("code").asInt(), lines.get(1));
        assertFalse(m.readTree(lines.get(2)).get("anomaly").has("code"), lines.get(2));
        EveSchema.assertValid(lines);
    }

    @Test
    void aStatsRecordNestsItsCountersAtTheDotsAndValidates() throws Exception {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("uptime", 12L);
        c.put("capture.kernel_packets", 1000L);
        c.put("decoder.pkts", 990L);
        c.put("capture.kernel_drops", 3L);
        c.put("decoder.event.ipv4.trunc_pkt", 2L);
        c.put("defrag.ipv6.timeouts", 0L);
        String line = write(new EveEvent.Stats(TS, c)).get(0);
        EveSchema.assertValid(List.of(line));
        assertEquals("{\"timestamp\":\"2026-11-21T20:35:39.485768+0000\",\"event_type\":\"stats\",\"stats\":{"
                + "\"uptime\":12,\"capture\":{\"kernel_packets\":1000,\"kernel_drops\":3},"
                + "\"decoder\":{\"pkts\":990,\"event\":{\"ipv4\":{\"trunc_pkt\":2}}},"
                + "\"defrag\":{\"ipv6\":{\"timeouts\":0}}}}", line);
    }

    @Test
    void schemaRejectsAStatsCounterItDoesNotDefineSoTheValidationIsReal() throws Exception {
        // Suricata's stats object is closed at every level: a counter of xenids' own, at the top of
        // it or inside one of Suricata's objects, or a decoder event Suricata has no name for, has
        // no place in it.
        for (String extra : List.of("xenids_frames", "capture.tap_frames", "decoder.event.ipv4.frag_timeout",
                "flow.evictions")) {
            Map<String, Long> c = new LinkedHashMap<>();
            c.put("capture.kernel_packets", 1000L);
            c.put("flow.total", 7L);
            c.put(extra, 1L);
            String line = write(new EveEvent.Stats(TS, c)).get(0);
            var v = EveSchema.violations(line);
            assertEquals(1, v.size(), line + " " + v);
            assertTrue(v.toString().contains(extra.substring(extra.lastIndexOf('.') + 1)), v.toString());
        }
        Map<String, Long> good = Map.of("capture.kernel_packets", 1000L, "flow.total", 7L);
        assertEquals(java.util.Set.of(), EveSchema.violations(write(new EveEvent.Stats(TS, good)).get(0)));
    }

    @Test
    void aStatsCounterCannotBeBothANumberAndAnObject() {
        assertThrows(IllegalArgumentException.class,
                () -> new EveEvent.Stats(TS, Map.of("flow", 1L, "flow.total", 2L)));
        assertThrows(IllegalArgumentException.class, () -> new EveEvent.Stats(TS, Map.of("flow..total", 2L)));
    }

    private static List<String> iter(java.util.Iterator<String> it) {
        var l = new java.util.ArrayList<String>();
        it.forEachRemaining(l::add);
        return l;
    }
}
