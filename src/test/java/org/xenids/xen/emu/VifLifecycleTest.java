package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Netif;

/**
 * A vif's life beyond its first connection: queues chosen per flow as Linux does, teardown in
 * Linux's hypercalls (xenbus Closing → Closed), reconnect, and a netfront that survives a
 * hostile backend's responses.
 */
class VifLifecycleTest {
    static final byte[] MAC1 = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
    static final byte[] OUTSIDE = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

    final XenHost host = new XenHost(1 << 15);
    final List<byte[]> uplink = new ArrayList<>();
    final List<byte[]> guest = new ArrayList<>();
    final List<String> ops = new ArrayList<>();
    Bridge bridge;

    Toolstack.Vif vif(int queues) {
        host.createDomain(0, "Domain-0", 16384).vcpus(4);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 8192), 6);
        bridge = new Bridge(host.domain(0), (b, n) -> uplink.add(Arrays.copyOf(b, n)));
        Toolstack.Vif v = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, queues,
                (b, n) -> guest.add(Arrays.copyOf(b, n)));
        host.runPending();
        assertTrue(v.front().connected() && v.back().connected());
        host.addListener(c -> {
            StringBuilder s = new StringBuilder("d" + c.callerDomid() + " ");
            if (c.op() == __HYPERVISOR_event_channel_op) {
                String name = switch (c.cmd()) {
                    case EVTCHNOP_close -> "close";
                    case EVTCHNOP_bind_interdomain -> "bind";
                    case EVTCHNOP_alloc_unbound -> "alloc";
                    case EVTCHNOP_send -> "send";
                    default -> "evtchn" + c.cmd();
                };
                if (name.equals("send")) {
                    return;
                }
                s.append(name).append(c.result() == 0 ? "" : " " + c.result());
            } else if (c.cmd() == GNTTABOP_unmap_grant_ref) {
                s.append("unmap");
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * Gnttab.Unmap.SIZE;
                    s.append(" h").append(Gnttab.Unmap.handle(c.args(), at))
                            .append(Gnttab.Unmap.status(c.args(), at) == GNTST_okay ? "" : "!");
                }
            } else if (c.cmd() == GNTTABOP_map_grant_ref) {
                s.append("map");
                for (int i = 0; i < c.count(); i++) {
                    long at = (long) i * Gnttab.Map.SIZE;
                    s.append(" h").append(Gnttab.Map.handle(c.args(), at))
                            .append((Gnttab.Map.flags(c.args(), at) & GNTMAP_readonly) != 0 ? "r" : "w");
                }
            } else {
                return;
            }
            ops.add(s.toString());
        });
        return v;
    }

    /** A TCP/IPv4 frame of flow (client port {@code sport}) between the outside and the guest; {@code in} = to the guest. */
    static byte[] tcp(int sport, boolean in, int len) {
        byte[] f = new byte[len];
        System.arraycopy(in ? MAC1 : OUTSIDE, 0, f, 0, 6);
        System.arraycopy(in ? OUTSIDE : MAC1, 0, f, 6, 6);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = (byte) ((len - 14) >> 8);
        f[17] = (byte) (len - 14);
        f[22] = 64;
        f[23] = 6;
        byte[] guestIp = {10, 0, 0, 12}, clientIp = {(byte) 203, 0, 113, 7};
        System.arraycopy(in ? clientIp : guestIp, 0, f, 26, 4);
        System.arraycopy(in ? guestIp : clientIp, 0, f, 30, 4);
        int src = in ? sport : 80, dst = in ? 80 : sport;
        f[34] = (byte) (src >> 8);
        f[35] = (byte) src;
        f[36] = (byte) (dst >> 8);
        f[37] = (byte) dst;
        f[46] = 0x50;
        for (int i = 54; i < len; i++) {
            f[i] = (byte) (i * 13 + sport);
        }
        return f;
    }

    @Test
    void flowsSpreadOverTheQueuesBothWaysAndEachFlowKeepsItsQueue() {
        Toolstack.Vif v = vif(4);
        bridge.fromUplink(tcp(1, true, 60), 0, 60, 0); // the bridge learns where the outside is
        host.runPending();
        for (int p = 1000; p < 1064; p++) {
            assertTrue(v.front().transmit(tcp(p, false, 200), 0, 200, 0, 0));
            host.runPending();
            bridge.fromUplink(tcp(p, true, 300), 0, 300, 0);
            host.runPending();
        }
        long[] sent = v.front().queueSent();
        long[][] back = v.back().queueCounters();
        for (int q = 0; q < 4; q++) {
            assertTrue(sent[q] > 0, "TX queue " + q + ": " + Arrays.toString(sent));
            assertTrue(back[q][1] > 0, "RX queue " + q);
            assertEquals(sent[q], back[q][0], "netback forwards what each queue carried");
        }
        assertEquals(64, uplink.size());
        assertEquals(65, guest.size());
        // One flow, many packets: all on one queue each way.
        long[] s0 = sent.clone();
        long[] r0 = Arrays.stream(back).mapToLong(x -> x[1]).toArray();
        for (int i = 0; i < 10; i++) {
            v.front().transmit(tcp(4242, false, 100 + i), 0, 100 + i, 0, 0);
            host.runPending();
            bridge.fromUplink(tcp(4242, true, 100 + i), 0, 100 + i, 0);
            host.runPending();
        }
        long[] s1 = v.front().queueSent();
        long[] r1 = Arrays.stream(v.back().queueCounters()).mapToLong(x -> x[1]).toArray();
        int txMoved = 0, rxMoved = 0;
        for (int q = 0; q < 4; q++) {
            txMoved += s1[q] != s0[q] ? 1 : 0;
            rxMoved += r1[q] != r0[q] ? 1 : 0;
        }
        assertEquals(1, txMoved, "one flow, one TX queue");
        assertEquals(1, rxMoved, "one flow, one RX queue");
    }

    @Test
    void flowHashIsSipHashOverBothDirectionsAlikeAndFragmentsHaveNoPorts() {
        // SipHash-2-4 reference vector: key 00..0f, message 00..0e.
        FlowHash h = new FlowHash(0x0706050403020100L, 0x0f0e0d0c0b0a0908L);
        byte[] m = new byte[15];
        for (int i = 0; i < m.length; i++) {
            m[i] = (byte) i;
        }
        assertEquals(0xa129ca6149be45e5L, h.sip(m, 15));
        assertEquals(0x726fdb47dd0e0e31L, h.sip(m, 0));
        FlowHash k = FlowHash.forBoot(3);
        assertEquals(k.hash(tcp(5000, true, 80), 0, 80), k.hash(tcp(5000, false, 80), 0, 80), "both directions");
        assertTrue(k.hash(tcp(5000, true, 80), 0, 80) != k.hash(tcp(5001, true, 80), 0, 80), "ports count");
        byte[] a = tcp(5000, true, 80), b = tcp(5001, true, 80);
        a[20] = b[20] = 0x20; // MF: a first fragment; the dissector takes no ports from it
        assertEquals(k.hash(a, 0, 80), k.hash(b, 0, 80));
        assertTrue(k.hash(tcp(5000, true, 80), 0, 80) != FlowHash.forBoot(4).hash(tcp(5000, true, 80), 0, 80),
                "each boot has its own key");
    }

    @Test
    void teardownUnmapsTheRingsClosesTheChannelsAndEndsAccessThenAReconnectMapsAnew() {
        Toolstack.Vif v = vif(2);
        Domain g = host.domain(1);
        XenStore xs = host.xenstore();
        String fe = "/local/domain/1/device/vif/0/";
        int[] ringRefs = new int[4];
        for (int q = 0; q < 2; q++) {
            ringRefs[2 * q] = Integer.parseInt(xs.read(fe + "queue-" + q + "/tx-ring-ref"));
            ringRefs[2 * q + 1] = Integer.parseInt(xs.read(fe + "queue-" + q + "/rx-ring-ref"));
        }
        assertTrue(v.front().transmit(tcp(7, false, 3000), 0, 3000, 0, 0));
        host.runPending();
        ops.clear();

        Toolstack.detachVif(host, v);
        // netback per queue: both channels closed, then both ring pages unmapped in one call; then netfront's closes.
        assertEquals(List.of("d0 close", "d0 close", "d0 unmap h h", "d0 close", "d0 close", "d0 unmap h h",
                "d1 close", "d1 close", "d1 close", "d1 close"),
                ops.stream().map(o -> o.replaceAll(" h\\d+", " h")).toList(), "ops (handles elided; '!' = failed)");
        assertEquals(String.valueOf(XenbusStateClosed), xs.read(fe + "state"));
        assertEquals(String.valueOf(XenbusStateClosed), xs.read("/local/domain/0/backend/vif/1/0/state"));
        for (int ref : ringRefs) {
            assertEquals(0, g.grantFlags(ref) & GTF_type_mask, "ring grant " + ref + " ended");
        }
        assertFalse(v.front().transmit(tcp(7, false, 100), 0, 100, 0, 0));
        assertEquals(1, v.front().counters()[1], "refused while down, counted");
        bridge.fromUplink(tcp(7, true, 100), 0, 100, 0);
        host.runPending();
        assertEquals(1, v.back().counters()[4], "dropped while down, counted");

        ops.clear();
        Toolstack.reattachVif(host, v);
        assertEquals(List.of("d1 alloc", "d1 alloc", "d1 alloc", "d1 alloc"), ops.subList(0, 4));
        assertEquals(4, ops.stream().filter(s -> s.startsWith("d0 map") && s.endsWith("w")).count(), "ops: " + ops);
        assertEquals(4, ops.stream().filter(s -> s.equals("d0 bind")).count(), "ops: " + ops);
        int before = uplink.size();
        byte[] f = tcp(9, false, 5000);
        assertTrue(v.front().transmit(f, 0, f.length, 0, 0));
        host.runPending();
        assertArrayEquals(f, uplink.get(before));
        byte[] in = tcp(9, true, 5000);
        bridge.fromUplink(in, 0, in.length, 0);
        host.runPending();
        assertArrayEquals(in, guest.get(guest.size() - 1));
    }

    /** A hostile backend answers on the guest's TX ring: writes response {@code id} at rsp_prod (advanced by {@code extra} more). */
    void hostileTxResponse(int id, int extra) {
        Domain g = host.domain(1);
        int ref = Integer.parseInt(host.xenstore().read("/local/domain/1/device/vif/0/tx-ring-ref"));
        long frame = Integer.toUnsignedLong(Gnttab.EntryV1.frame(g.entryPage(ref), Domain.entryOffset(ref)));
        MemorySegment ring = g.page(frame);
        int prod = Netif.Sring.rspProd(ring, 0);
        Netif.TxResponse.set(ring, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), id, NETIF_RSP_OKAY);
        Netif.Sring.rspProd(ring, 0, prod + 1 + extra);
        int port = Integer.parseInt(host.xenstore().read("/local/domain/1/device/vif/0/event-channel-tx"));
        host.setPending(g, port);
        host.runPending();
    }

    @Test
    void aResponseForNoPendingRequestBreaksTheDeviceInsteadOfOverrunningTheFreeList() {
        Toolstack.Vif v = vif(1);
        hostileTxResponse(5, 0); // every id is free: answering one would push the free list past the ring
        assertTrue(v.front().broken());
        assertEquals(1, v.front().counters()[6]);
        assertFalse(v.front().transmit(tcp(1, false, 100), 0, 100, 0, 0));
        assertEquals(1, v.front().counters()[1], "a broken device's frame is dropped, counted");
        hostileTxResponse(7, 0);
        assertEquals(1, v.front().counters()[6], "a broken device reads no more responses");
        // A reconnect resets the indicator.
        Toolstack.detachVif(host, v);
        Toolstack.reattachVif(host, v);
        assertFalse(v.front().broken());
        assertTrue(v.front().transmit(tcp(1, false, 100), 0, 100, 0, 0));
    }

    @Test
    void aResponseIdOutsideTheRingBreaksTheDevice() {
        Toolstack.Vif v = vif(1);
        hostileTxResponse(300, 0);
        assertTrue(v.front().broken());
        assertEquals(1, v.front().counters()[6]);
    }

    @Test
    void moreResponsesThanTheRingHoldsBreakTheDeviceWithoutLooping() {
        Toolstack.Vif v = vif(1);
        hostileTxResponse(0, 100_000);
        assertTrue(v.front().broken());
        assertEquals(1, v.front().counters()[6]);
    }
}
