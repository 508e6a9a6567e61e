package org.xenids.xen.abi;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The package's catalogue: every struct layout and constant, for {@code xenids xen layouts} and
 * for the test that checks them against Xen's C headers. Hot paths use the static offsets and
 * accessors of {@link Gnttab}, {@link Evtchn} and {@link Netif} directly.
 *
 * <p>JSON shape ({@link #toJson()}):
 * <pre>{"structs": {"grant_entry_v1": {"size": 8, "fields": {"flags": 0, "domid": 2, "frame": 4}}, …},
 *  "field_sizes": {"grant_entry_v1": {"flags": 2, …}, …},
 *  "constants": {"__HYPERVISOR_grant_table_op": 20, …}}</pre>
 * Struct and field names are C's ({@code offsetof} member designators for nested members);
 * {@code size} is C's {@code sizeof} (for the shared rings: header plus one entry, as
 * {@code ring[1]} declares it).
 */
public final class XenAbi {
    private XenAbi() {}

    private static final List<StructLayout> STRUCTS = List.of(
            Gnttab.EntryV1.LAYOUT, Gnttab.EntryV2.LAYOUT, Gnttab.Copy.LAYOUT, Gnttab.Map.LAYOUT,
            Gnttab.Unmap.LAYOUT, Gnttab.SetupTable.LAYOUT,
            Evtchn.AllocUnbound.LAYOUT, Evtchn.BindInterdomain.LAYOUT, Evtchn.PortOp.SEND,
            Evtchn.PortOp.CLOSE, Evtchn.PortOp.UNMASK,
            Netif.Sring.TX_LAYOUT, Netif.Sring.RX_LAYOUT, Netif.TxRequest.LAYOUT, Netif.TxResponse.LAYOUT,
            Netif.RxRequest.LAYOUT, Netif.RxResponse.LAYOUT, Netif.ExtraInfo.LAYOUT);

    private static final Map<String, Long> CONSTANTS = collectConstants();

    /** All struct layouts, in header order. */
    public static List<StructLayout> structs() {
        return STRUCTS;
    }

    /** All constants of {@link Xen} by C name, in declaration order. */
    public static Map<String, Long> constants() {
        return CONSTANTS;
    }

    /** Read once at class initialisation: the field list of {@link Xen} is the single source. */
    private static Map<String, Long> collectConstants() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Field f : Xen.class.getDeclaredFields()) {
            int mod = f.getModifiers();
            if (Modifier.isPublic(mod) && Modifier.isStatic(mod) && Modifier.isFinal(mod)
                    && f.getType() == int.class) {
                try {
                    m.put(f.getName(), (long) f.getInt(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The whole catalogue as pretty-printed JSON (shape in the class comment). */
    public static String toJson() {
        StringBuilder sb = new StringBuilder(16384);
        sb.append("{\n  \"structs\": {");
        String sep = "\n";
        for (StructLayout s : STRUCTS) {
            sb.append(sep).append("    \"").append(s.name()).append("\": {\"size\": ").append(s.size())
                    .append(", \"fields\": {");
            String fsep = "";
            for (StructLayout.Field f : s.fields()) {
                sb.append(fsep).append('"').append(f.name()).append("\": ").append(f.offset());
                fsep = ", ";
            }
            sb.append("}}");
            sep = ",\n";
        }
        sb.append("\n  },\n  \"field_sizes\": {");
        sep = "\n";
        for (StructLayout s : STRUCTS) {
            sb.append(sep).append("    \"").append(s.name()).append("\": {");
            String fsep = "";
            for (StructLayout.Field f : s.fields()) {
                sb.append(fsep).append('"').append(f.name()).append("\": ").append(f.size());
                fsep = ", ";
            }
            sb.append('}');
            sep = ",\n";
        }
        sb.append("\n  },\n  \"constants\": {");
        sep = "\n";
        for (Map.Entry<String, Long> c : CONSTANTS.entrySet()) {
            sb.append(sep).append("    \"").append(c.getKey()).append("\": ").append(c.getValue());
            sep = ",\n";
        }
        sb.append("\n  }\n}\n");
        return sb.toString();
    }
}
