package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;

/**
 * The real Xen 4.17 trace's packets replayed through the emulator: each packet's copies come out
 * with the real flags, lengths, domain sides and statuses (a TCP head as 66 + 62 bytes from two
 * slots, as Linux copies it), every map with flags 0x6, and the recorded bytes arrive unchanged.
 */
class RealTraceReplayTest {

    @Test
    void realTracePacketsGiveTheRealCopyShapesInOrder() throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> recs = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.file("xen/gnttab-gdb-sample.jsonl"))) {
            recs.add(json.readTree(line));
        }
        XenHost host = new XenHost(1 << 15);
        host.createDomain(0, "Domain-0", 8192);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 4096), 4);
        List<byte[]> up = new ArrayList<>();
        List<byte[]> down = new ArrayList<>();
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> up.add(Arrays.copyOf(b, n)));
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1,
                (b, n) -> down.add(Arrays.copyOf(b, n)));
        host.runPending();
        List<String> ours = new ArrayList<>();
        int[] sends = new int[2];
        int[] maps = new int[1];
        host.addListener(c -> {
            if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_copy) {
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * Gnttab.Copy.SIZE;
                    ours.add(shape(Gnttab.Copy.flags(c.args(), at), Gnttab.Copy.len(c.args(), at),
                            Gnttab.Copy.srcDomid(c.args(), at), Gnttab.Copy.dstDomid(c.args(), at),
                            Gnttab.Copy.status(c.args(), at)));
                }
            } else if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_map_grant_ref) {
                for (int i = 0; i < c.count(); i++) {
                    assertEquals(0x6, Gnttab.Map.flags(c.args(), (long) i * Gnttab.Map.SIZE));
                    maps[0]++;
                }
            } else if (c.op() == __HYPERVISOR_event_channel_op && c.cmd() == EVTCHNOP_send) {
                sends[c.callerDomid()]++;
                assertTrue(Evtchn.PortOp.port(c.args(), 0) > 0);
            }
        });
        // Group the trace's copies into packets: a TX head copied from two slots (TCP headers in
        // the linear area, payload in a fragment) is two records whose destinations are adjacent.
        List<List<String>> realPackets = new ArrayList<>();
        List<List<String>> ourPackets = new ArrayList<>();
        List<JsonNode> group = new ArrayList<>();
        int realSends = 0, realMaps = 0, duplicates = 0;
        for (JsonNode r : recs) {
            String ev = r.get("ev").asText();
            if (ev.equals("gnttab_map_grant_ref")) {
                realMaps++;
            }
            if (ev.equals("evtchn_send") && (r.get("port").asInt() == 18 || r.get("port").asInt() == 19
                    || r.get("domid").asInt() == 1)) {
                realSends++;
            }
            if (!ev.equals("gnttab_copy")) {
                continue;
            }
            if (r.get("flags").asInt() == GNTCOPY_dest_gref) {
                replay(List.of(r), realPackets, ourPackets, ours, host, bridge, vif, up, down);
                continue;
            }
            JsonNode last = group.isEmpty() ? null : group.get(group.size() - 1);
            if (last != null && same(last, r)) {
                group.set(group.size() - 1, r); // the probe saw this op twice; keep the later payload
                duplicates++;
            } else if (last != null && r.get("dst").get("offset").asInt()
                    == last.get("dst").get("offset").asInt() + last.get("len").asInt()) {
                group.add(r);
            } else {
                if (!group.isEmpty()) {
                    replay(group, realPackets, ourPackets, ours, host, bridge, vif, up, down);
                }
                group = new ArrayList<>(List.of(r));
            }
        }
        replay(group, realPackets, ourPackets, ours, host, bridge, vif, up, down);
        assertEquals(realPackets, ourPackets);
        int copies = realPackets.stream().mapToInt(List::size).sum();
        assertEquals(114 - duplicates, copies);
        // The maps' flags were checked above: some were made, as in the real trace.
        assertTrue(realMaps > 0 && maps[0] > 0, "maps: real " + realMaps + ", emulated " + maps[0]);
        System.out.printf("real trace: %d copies (%d seen twice by the probe), %d maps, %d vif event sends;"
                + " emulator replay of the same %d packets: %d copies, %d maps, %d event sends (dom0 %d, guest %d)%n",
                copies, duplicates, realMaps, realSends, realPackets.size(),
                ourPackets.stream().mapToInt(List::size).sum(), maps[0],
                sends[0] + sends[1], sends[0], sends[1]);
    }

    private static boolean same(JsonNode a, JsonNode b) {
        return a.get("len").equals(b.get("len")) && a.get("src").equals(b.get("src"))
                && a.get("dst").equals(b.get("dst"));
    }

    /** Sends one packet of the trace through the emulator and records both sides' copy shapes. */
    private static void replay(List<JsonNode> group, List<List<String>> realPackets, List<List<String>> ourPackets,
                               List<String> ours, XenHost host, Bridge bridge, Toolstack.Vif vif,
                               List<byte[]> up, List<byte[]> down) {
        List<String> real = new ArrayList<>();
        java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
        for (JsonNode r : group) {
            real.add(shape(r.get("flags").asInt(), r.get("len").asInt(), r.get("src").get("domid").asInt(),
                    r.get("dst").get("domid").asInt(), r.get("status").asInt()));
            head.writeBytes(hex(r.get("payload_hex").asText()));
        }
        byte[] h = head.toByteArray();
        ours.clear();
        if (group.get(0).get("flags").asInt() == GNTCOPY_dest_gref) {
            bridge.fromUplink(h, 0, h.length, 0);
            host.runPending();
            assertArrayEquals(h, down.get(down.size() - 1));
        } else {
            byte[] f = h;
            if (h.length == 128) {
                // Longer than the copied head: the rest was mapped. Its length is the IP length.
                int ipLen = ((h[16] & 0xff) << 8) | (h[17] & 0xff);
                f = Arrays.copyOf(h, h[12] == 0x08 && h[13] == 0 && ipLen + 14 > 128 ? Math.min(ipLen + 14, 1514) : 1514);
            }
            vif.front().transmit(f, 0, f.length, 0, 0);
            host.runPending();
            assertArrayEquals(f, up.get(up.size() - 1));
        }
        realPackets.add(real);
        ourPackets.add(List.copyOf(ours));
    }

    private static String shape(int flags, int len, int src, int dst, int status) {
        String s = src == DOMID_SELF ? "self" : "d" + src;
        String d = dst == DOMID_SELF ? "self" : "d" + dst;
        return flags + ":" + len + ":" + s + "->" + d + ":" + status;
    }

    private static byte[] hex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }
}
