package org.xenids.vmi.linux;

import java.util.LinkedHashMap;
import java.util.Map;
import org.xenids.alert.EveEvent;

/**
 * Something wrong found while walking guest kernel structures: a cycle, a torn or inconsistent
 * link, a pointer into a hole, a limit reached. {@code view} names the walk ("task-list",
 * "pid-idr", "children-tree", "scan"), {@code address} the guest virtual address involved.
 */
public record Anomaly(String view, String kind, long address, String message) {
    /**
     * The EVE record: type "vmi", event = kind, layer = view, and as its detail the address, the
     * message and the image's name (when not null), in that order.
     */
    public EveEvent.Anomaly eve(long timestampNanos, String image) {
        Map<String, String> vars = new LinkedHashMap<>();
        vars.put("address", String.format("0x%016x", address));
        vars.put("message", message);
        if (image != null) {
            vars.put("image", image);
        }
        return new EveEvent.Anomaly(timestampNanos, 0, null, "vmi", kind, view, 0, null, vars);
    }

    @Override
    public String toString() {
        return view + ": " + kind + " at 0x" + Long.toHexString(address) + ": " + message;
    }
}
