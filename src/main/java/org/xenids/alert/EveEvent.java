package org.xenids.alert;

import java.util.List;
import java.util.Map;

/**
 * One EVE JSON record. Only the fields of Suricata's schema appear at the top level; xenids'
 * own detail (domain, VM image, vif, model key, process…) goes in {@code alert.context} so that
 * existing EVE tooling keeps working.
 */
public sealed interface EveEvent {

    /** Event time, nanoseconds since the epoch. */
    long timestampNanos();

    /** A flow record: one per flow when it ends (or is evicted, or the input ends). */
    record Flow(long timestampNanos, long flowId, Endpoints endpoints, String communityId,
                long pktsToServer, long pktsToClient, long bytesToServer, long bytesToClient,
                long startNanos, long endNanos, String state, String reason, boolean alerted,
                List<Integer> vlan, String inIface) implements EveEvent {
        public Flow {
            vlan = vlan == null ? List.of() : List.copyOf(vlan);
        }
    }

    /**
     * An alert. {@code endpoints}, {@code flowId} (0 = none) and {@code communityId} are absent for
     * host alerts (a hidden process has no 5-tuple).
     */
    record Alert(long timestampNanos, long flowId, Endpoints endpoints, String communityId,
                 Signature signature, Map<String, Object> context, String inIface) implements EveEvent {
        public Alert {
            // Insertion order is kept: it is the order a person reads the detail in.
            context = context == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(context));
        }
    }

    /**
     * Something malformed or hostile that is not an attack signature: a decoder event, a bad
     * ring entry, a torn kernel list. {@code type} is the layer family ("decode", "stream",
     * "xen.ring", "vmi"), {@code event} the named malformation; {@code inIface} names where it
     * was seen (e.g. "dom3/vif0/tx"). {@code vars} is this one record's detail, name → value in
     * the order given (e.g. the guest address involved and a sentence saying what is wrong),
     * logged as Suricata's per-packet variables {@code metadata.pktvars}; empty: none.
     */
    record Anomaly(long timestampNanos, long flowId, Endpoints endpoints, String type, String event,
                   String layer, int code, String inIface, Map<String, String> vars) implements EveEvent {
        public Anomaly {
            // No copy for none: a hostile guest can raise an anomaly per request.
            vars = vars == null || vars.isEmpty() ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(vars));
        }

        /** An anomaly without detail beyond its type, event, layer and code. */
        public Anomaly(long timestampNanos, long flowId, Endpoints endpoints, String type, String event,
                       String layer, int code, String inIface) {
            this(timestampNanos, flowId, endpoints, type, event, layer, code, inIface, Map.of());
        }
    }

    /**
     * A run's counters, one {@code stats} record: each counter under its dotted name in Suricata's
     * stats object ("capture.kernel_packets", "decoder.event.ipv4.trunc_pkt"), nested at the dots
     * when written (each object where its first counter comes). Suricata's schema closes every level of that object, so a
     * name it does not define makes the record invalid: the caller maps only what fits.
     */
    record Stats(long timestampNanos, Map<String, Long> counters) implements EveEvent {
        public Stats {
            java.util.Set<String> prefixes = new java.util.HashSet<>();
            for (String name : counters.keySet()) {
                java.util.Objects.requireNonNull(counters.get(name), name);
                String[] parts = name.split("\\.", -1);
                StringBuilder prefix = new StringBuilder();
                for (int i = 0; i < parts.length; i++) {
                    if (parts[i].isEmpty()) {
                        throw new IllegalArgumentException("empty part in counter name '" + name + "'");
                    }
                    prefix.append(i == 0 ? "" : ".").append(parts[i]);
                    if (i < parts.length - 1) {
                        prefixes.add(prefix.toString());
                    }
                }
            }
            for (String name : counters.keySet()) {
                if (prefixes.contains(name)) {
                    // "flow" and "flow.total" cannot both be written: one is a number, the other an object.
                    throw new IllegalArgumentException("counter '" + name + "' is also the start of another's name");
                }
            }
            counters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(counters));
        }
    }
}
