package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;

/** The vif's XenStore handshake, against the real host's xenstore dump. */
class VifHandshakeTest {

    static Map<String, String> parse(List<String> lines, String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : lines) {
            int eq = l.indexOf(" = \"");
            if (eq > 0 && l.startsWith(prefix + "/")) {
                m.put(l.substring(prefix.length() + 1, eq), l.substring(eq + 4, l.length() - 1));
            }
        }
        return m;
    }

    @Test
    void bothEndsReachConnectedWithTheRealHostsKeysInItsOrder() throws IOException {
        XenHost host = new XenHost(1 << 14);
        host.createDomain(0, "Domain-0", 4096);
        Domain guest = host.createDomain(1, "guest", 4096);
        Toolstack.bootGrantTable(host, guest, 4);
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> { });
        List<String> ops = new ArrayList<>();
        host.addListener(c -> ops.add("d" + c.callerDomid() + " " + c.op() + "/" + c.cmd()));
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1, (b, n) -> { });
        host.runPending();
        assertTrue(vif.front().connected());
        assertTrue(vif.back().connected());

        List<String> real = Files.readAllLines(SharedData.file("xen/xenstore-sample.txt"));
        String fe = "/local/domain/1/device/vif/0";
        String be = "/local/domain/0/backend/vif/1/0";
        Map<String, String> realFe = parse(real, fe);
        Map<String, String> realBe = parse(real, be);
        Map<String, String> ourFe = parse(host.xenstore().dump(fe), fe);
        Map<String, String> ourBe = parse(host.xenstore().dump(be), be);
        assertEquals(List.copyOf(realFe.keySet()), List.copyOf(ourFe.keySet()));
        assertEquals(List.copyOf(realBe.keySet()), List.copyOf(ourBe.keySet()));
        assertEquals(realBe, ourBe);
        // Ring refs come out as on the real host (256 TX + 256 RX refs claimed first, from ref 8).
        // Event-channel ports differ: the real guest had console, xenstore and VIRQ ports before.
        Set<String> dynamic = Set.of("event-channel-tx", "event-channel-rx");
        for (var e : realFe.entrySet()) {
            if (!dynamic.contains(e.getKey())) {
                assertEquals(e.getValue(), ourFe.get(e.getKey()), e.getKey());
            }
        }
        assertEquals("520", ourFe.get("tx-ring-ref"));
        assertEquals("521", ourFe.get("rx-ring-ref"));

        // What the hypervisor saw (setup_table came before the listener): two alloc_unbound by the
        // guest, its RX-ring push notification and the two kicks of xennet_connect on the
        // still-unbound ports (dropped by Xen), then dom0 mapping both rings and binding both channels.
        assertEquals(List.of("d1 32/6", "d1 32/6", "d1 32/4", "d1 32/4", "d1 32/4",
                "d0 20/0", "d0 20/0", "d0 32/0", "d0 32/0"), ops);
    }

    @Test
    void multiQueueKeysGoUnderQueueN() {
        XenHost host = new XenHost(1 << 14);
        host.createDomain(0, "Domain-0", 8192).vcpus(4);
        Domain guest = host.createDomain(1, "guest", 8192);
        Toolstack.bootGrantTable(host, guest, 4);
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> { });
        int[] maps = new int[1];
        int[] binds = new int[1];
        host.addListener(c -> {
            if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_map_grant_ref
                    && Gnttab.Map.status(c.args(), 0) == GNTST_okay) {
                maps[0]++;
            }
            if (c.op() == __HYPERVISOR_event_channel_op && c.cmd() == EVTCHNOP_bind_interdomain && c.result() == 0) {
                binds[0]++;
                assertEquals(1, Evtchn.BindInterdomain.remoteDom(c.args(), 0));
            }
        });
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 2, (b, n) -> { });
        host.runPending();
        assertTrue(vif.back().connected());
        XenStore xs = host.xenstore();
        String fe = "/local/domain/1/device/vif/0";
        assertEquals("4", xs.read("/local/domain/0/backend/vif/1/0/multi-queue-max-queues"));
        assertEquals("2", xs.read(fe + "/multi-queue-num-queues"));
        assertEquals(List.of("tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx"),
                xs.directory(fe + "/queue-1"));
        assertEquals(null, xs.read(fe + "/tx-ring-ref"));
        assertEquals(4, maps[0]);
        assertEquals(4, binds[0]);
    }
}
