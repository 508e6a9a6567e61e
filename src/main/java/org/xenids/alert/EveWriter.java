package org.xenids.alert;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.xenids.io.OutputFile;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Writes EVE JSON: one object per line, Suricata's field names, valid against Suricata's own
 * schema. Streams straight to the output through Jackson's generator (no tree per event), and
 * counts what it wrote per event type. Thread-safe: network and host pipelines share one log.
 */
public final class EveWriter implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Suricata's format: microseconds and an offset without a colon, e.g. +0000. */
    private static final DateTimeFormatter TS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ").withZone(ZoneOffset.UTC);

    private final OutputStream out;
    private final JsonGenerator gen;
    private long flows;
    private long alerts;
    private long anomalies;

    private EveWriter(OutputStream out) throws IOException {
        this.out = out;
        this.gen = MAPPER.getFactory().createGenerator(out, JsonEncoding.UTF8);
        this.gen.setRootValueSeparator(null);
    }

    /** Writes to {@code file}, replacing it (its missing folders made); a failure names the file. */
    public static EveWriter open(Path file) throws IOException {
        return new EveWriter(OutputFile.open(file));
    }

    /** Writes to a stream the caller owns (closed with this writer). */
    public static EveWriter of(OutputStream out) {
        try {
            return new EveWriter(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Formats a time as EVE does: {@code 2026-11-21T21:30:20.123456+0000}. */
    public static String timestamp(long epochNanos) {
        return TS.format(Instant.ofEpochSecond(Math.floorDiv(epochNanos, 1_000_000_000L),
                Math.floorMod(epochNanos, 1_000_000_000L)));
    }

    public synchronized void write(EveEvent event) {
        try {
            switch (event) {
                case EveEvent.Flow f -> writeFlow(f);
                case EveEvent.Alert a -> writeAlert(a);
                case EveEvent.Anomaly a -> writeAnomaly(a);
                case EveEvent.Stats s -> writeStats(s);
            }
            gen.flush();
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write EVE record: " + e.getMessage(), e);
        }
    }

    public synchronized long flowsWritten() { return flows; }

    public synchronized long alertsWritten() { return alerts; }

    public synchronized long anomaliesWritten() { return anomalies; }

    private void header(long ts, long flowId, String inIface, String type) throws IOException {
        gen.writeStartObject();
        gen.writeStringField("timestamp", timestamp(ts));
        if (flowId != 0) {
            gen.writeNumberField("flow_id", flowId);
        }
        if (inIface != null) {
            gen.writeStringField("in_iface", inIface);
        }
        gen.writeStringField("event_type", type);
    }

    private void endpoints(Endpoints e) throws IOException {
        if (e == null) {
            return;
        }
        gen.writeStringField("src_ip", e.srcIp());
        if (e.srcPort() >= 0) {
            gen.writeNumberField("src_port", e.srcPort());
        }
        gen.writeStringField("dest_ip", e.destIp());
        if (e.destPort() >= 0) {
            gen.writeNumberField("dest_port", e.destPort());
        }
        gen.writeStringField("proto", e.proto());
    }

    private void writeFlow(EveEvent.Flow f) throws IOException {
        header(f.timestampNanos(), f.flowId(), f.inIface(), "flow");
        if (!f.vlan().isEmpty()) {
            gen.writeArrayFieldStart("vlan");
            for (int v : f.vlan()) {
                gen.writeNumber(v);
            }
            gen.writeEndArray();
        }
        endpoints(f.endpoints());
        if (f.communityId() != null) {
            gen.writeStringField("community_id", f.communityId());
        }
        gen.writeObjectFieldStart("flow");
        gen.writeNumberField("pkts_toserver", f.pktsToServer());
        gen.writeNumberField("pkts_toclient", f.pktsToClient());
        gen.writeNumberField("bytes_toserver", f.bytesToServer());
        gen.writeNumberField("bytes_toclient", f.bytesToClient());
        gen.writeStringField("start", timestamp(f.startNanos()));
        gen.writeStringField("end", timestamp(f.endNanos()));
        gen.writeNumberField("age", Math.max(0, (f.endNanos() - f.startNanos()) / 1_000_000_000L));
        if (f.state() != null) {
            gen.writeStringField("state", f.state());
        }
        if (f.reason() != null) {
            gen.writeStringField("reason", f.reason());
        }
        gen.writeBooleanField("alerted", f.alerted());
        gen.writeEndObject();
        gen.writeEndObject();
        flows++;
    }

    private void writeAlert(EveEvent.Alert a) throws IOException {
        header(a.timestampNanos(), a.flowId(), a.inIface(), "alert");
        endpoints(a.endpoints());
        if (a.communityId() != null) {
            gen.writeStringField("community_id", a.communityId());
        }
        Signature s = a.signature();
        gen.writeObjectFieldStart("alert");
        gen.writeStringField("action", s.action());
        gen.writeNumberField("gid", s.gid());
        gen.writeNumberField("signature_id", s.signatureId());
        gen.writeNumberField("rev", s.rev());
        gen.writeStringField("signature", s.signature());
        gen.writeStringField("category", s.category());
        gen.writeNumberField("severity", s.severity());
        if (!a.context().isEmpty()) {
            gen.writeFieldName("context");
            gen.writeObject(a.context());
        }
        gen.writeEndObject();
        gen.writeEndObject();
        alerts++;
    }

    private static final String XEN_RING = "xen.ring";

    private void writeAnomaly(EveEvent.Anomaly a) throws IOException {
        header(a.timestampNanos(), a.flowId(), a.inIface(), "anomaly");
        endpoints(a.endpoints());
        gen.writeObjectFieldStart("anomaly");
        gen.writeStringField("type", a.type());
        gen.writeStringField("event", a.event());
        if (a.layer() != null) {
            gen.writeStringField("layer", a.layer());
        }
        // A ring anomaly's code is the slot (or grant ref) it names, where 0 is a slot like any
        // other; elsewhere 0 means "no code".
        if (a.code() != 0 || XEN_RING.equals(a.type())) {
            gen.writeNumberField("code", a.code());
        }
        gen.writeEndObject();
        if (!a.vars().isEmpty()) {
            // Suricata's schema closes the anomaly object (app_proto, type, event, layer, code)
            // and the top level, so detail such as an address and a message has no field of its
            // own. Suricata's anomaly logger adds the packet's metadata (flowbits, flowvars,
            // pktvars) to an anomaly record; pktvars are the variables of the one packet the record
            // is about, each an object {name: value}, as Suricata writes them. The detail of this one
            // record goes there, so that EVE tooling reads it as it reads Suricata's own.
            gen.writeObjectFieldStart("metadata");
            gen.writeArrayFieldStart("pktvars");
            for (var v : a.vars().entrySet()) {
                gen.writeStartObject();
                gen.writeStringField(v.getKey(), v.getValue());
                gen.writeEndObject();
            }
            gen.writeEndArray();
            gen.writeEndObject();
        }
        gen.writeEndObject();
        anomalies++;
    }

    private void writeStats(EveEvent.Stats s) throws IOException {
        header(s.timestampNanos(), 0, null, "stats");
        // The dotted names as Suricata nests them: "capture.kernel_drops" is "kernel_drops" in
        // the "capture" object.
        Map<String, Object> tree = new LinkedHashMap<>();
        for (Map.Entry<String, Long> c : s.counters().entrySet()) {
            String[] parts = c.getKey().split("\\.");
            Map<String, Object> at = tree;
            for (int i = 0; i < parts.length - 1; i++) {
                @SuppressWarnings("unchecked")
                Map<String, Object> next = (Map<String, Object>) at.computeIfAbsent(parts[i], k -> new LinkedHashMap<>());
                at = next;
            }
            at.put(parts[parts.length - 1], c.getValue());
        }
        gen.writeFieldName("stats");
        writeTree(tree);
        gen.writeEndObject();
    }

    private void writeTree(Map<String, Object> tree) throws IOException {
        gen.writeStartObject();
        for (Map.Entry<String, Object> e : tree.entrySet()) {
            if (e.getValue() instanceof Long n) {
                gen.writeNumberField(e.getKey(), n);
            } else {
                @SuppressWarnings("unchecked")
                Map<String, Object> sub = (Map<String, Object>) e.getValue();
                gen.writeFieldName(e.getKey());
                writeTree(sub);
            }
        }
        gen.writeEndObject();
    }

    @Override
    public synchronized void close() throws IOException {
        gen.close();
        out.close();
    }
}
