package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.tap.Tap;
import org.xenids.xen.abi.Xen;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * The rings' notification holdoff (io/ring.h RING_PUSH_*_AND_CHECK_NOTIFY against req_event /
 * rsp_event, re-armed by RING_FINAL_CHECK_*): while the other end has not yet run for earlier
 * requests or responses, pushing more sends no event, and the tap, which reads the rings, still
 * rebuilds every frame. On a real host that is how the lab's guest sends 0.43 TX kicks per frame;
 * the traffic driver lets each end run after every frame, which re-arms the event every time.
 */
class RingNotifyTest {
    private static final byte[] MAC1 = {0x00, 0x16, 0x3e, 0, 0, 1}, MAC2 = {0x00, 0x16, 0x3e, 0, 0, 2};

    @Test
    void framesPushedBeforeTheBackendRunsShareOneKickAndOneRxNotificationAndAreAllRebuilt() {
        Topology t = new Topology("fe:ff:ff:ff:ff:ff", List.of(
                new Topology.Guest(1, "a", "a", List.of(new Topology.Vif("00:16:3e:00:00:01", List.of("10.0.0.1"), 1))),
                new Topology.Guest(2, "b", "b", List.of(new Topology.Vif("00:16:3e:00:00:02", List.of("10.0.0.2"), 1)))));
        TrafficDriver d = new TrafficDriver(t);
        long[] sends = new long[3]; // by domain 0, 1, 2
        long[] txFrames = new long[3], rxFrames = new long[3];
        Tap tap = new Tap(d.host().memory(), (buf, off, len, domid, vif, queue, dir, peer, ts) -> {
            (dir == Tap.TX ? txFrames : rxFrames)[domid]++;
        }, a -> { });
        d.host().addListener(tap);
        d.host().addListener(new HypercallListener() {
            @Override
            public void completed(Hypercall c) {
                if (c.op() == Xen.__HYPERVISOR_event_channel_op && c.cmd() == Xen.EVTCHNOP_send) {
                    sends[c.callerDomid()]++;
                }
            }
        });
        d.start(0);
        Netfront a = d.vif(1, 0).front();
        // b learned at the bridge by its announcement; a's frames go to b only
        long[] s0 = sends.clone(), tx0 = txFrames.clone(), rx0 = rxFrames.clone();
        for (int i = 0; i < 3; i++) {
            byte[] f = frame(i);
            assertEquals(true, a.transmit(f, 0, f.length, 0, 0));
        }
        d.host().runPending();
        assertEquals(1, sends[1] - s0[1], "a's TX kicks for 3 frames pushed before netback ran");
        assertEquals(3, txFrames[1] - tx0[1], "a's TX frames rebuilt");
        assertEquals(3, rxFrames[2] - rx0[2], "b's RX frames rebuilt");
        // netback answered a's 3 requests with one TX notification and filled b's ring in one
        // rx action: one RX notification
        assertEquals(2, sends[0] - s0[0], "netback's notifications (a's TX responses, b's RX)");

        // one frame at a time, each end running in between: a kick and a notification per frame
        s0 = sends.clone();
        for (int i = 0; i < 3; i++) {
            byte[] f = frame(i);
            a.transmit(f, 0, f.length, 0, 0);
            d.host().runPending();
        }
        assertEquals(3, sends[1] - s0[1], "a's TX kicks, one frame per backend run");
        assertEquals(6, sends[0] - s0[0], "netback's notifications, one frame per run");
        assertEquals(6, txFrames[1] - tx0[1]);
        assertEquals(6, rxFrames[2] - rx0[2]);
    }

    /** A UDP datagram from a to b over IPv4 (checksum left 0: none, as UDP over IPv4 allows). */
    private static byte[] frame(int i) {
        byte[] f = new byte[60 + i];
        System.arraycopy(MAC2, 0, f, 0, 6);
        System.arraycopy(MAC1, 0, f, 6, 6);
        f[12] = 0x08;
        int ip = 14, len = f.length - ip;
        f[ip] = 0x45;
        f[ip + 2] = (byte) (len >> 8);
        f[ip + 3] = (byte) len;
        f[ip + 8] = 64;
        f[ip + 9] = 17;
        HostAddresses.putIpv4(f, ip + 12, 0x0a000001);
        HostAddresses.putIpv4(f, ip + 16, 0x0a000002);
        int udp = ip + 20;
        f[udp] = 0x30;
        f[udp + 2] = 0x30;
        f[udp + 5] = (byte) (len - 20);
        return f;
    }
}
