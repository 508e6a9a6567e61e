package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Collectors;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Le;
import org.xenids.xen.abi.Netif;
import org.xenids.xen.emu.Domain;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * A host with a hostile guest, dom1, that drives its rings by hand, and a normal guest, dom2,
 * whose traffic must go on being seen; the tap watches both.
 */
final class HostileGuest {
    static final byte[] GW = TapFramesTest.GW;

    final Bench b;
    final Domain evil;
    final MemorySegment tx, rx;
    final int txPort, rxPort;
    final MemorySegment args;
    final org.xenids.xen.emu.Toolstack.Vif vif1;

    HostileGuest() {
        this(null);
    }

    /** With {@code trace} non-null, the tap's stream and reads are recorded there. */
    HostileGuest(java.io.OutputStream trace) {
        b = new Bench(trace);
        vif1 = b.guestOrdered(1, TapFramesTest.MAC1, 1);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        evil = b.host.domain(1);
        String fe = "/local/domain/1/device/vif/0/";
        tx = evil.page(grantedFrame(Integer.parseInt(b.host.xenstore().read(fe + "tx-ring-ref"))));
        rx = evil.page(grantedFrame(Integer.parseInt(b.host.xenstore().read(fe + "rx-ring-ref"))));
        txPort = Integer.parseInt(b.host.xenstore().read(fe + "event-channel-tx"));
        rxPort = Integer.parseInt(b.host.xenstore().read(fe + "event-channel-rx"));
        args = evil.page(evil.allocFrame());
        // The hostile guest drives its rings by hand: its own netfront must not see the answers.
        evil.mask(txPort);
        evil.mask(rxPort);
    }

    long grantedFrame(int ref) {
        long[] gt = new long[64];
        b.host.memory().grantTableFrames(1, gt);
        MemorySegment e = MemorySegment.ofArray(new byte[8]);
        b.host.memory().read(1, gt[ref / 512], (ref % 512) * 8, e);
        return Integer.toUnsignedLong(Le.u32(e, 4));
    }

    /** Writes TX requests {gref, offset, flags, size} from req_prod on, publishes and kicks. */
    void txRequests(int... gofs) {
        int prod = Netif.Sring.reqProd(tx, 0);
        for (int i = 0; i < gofs.length; i += 4) {
            long at = Netif.Sring.entry(prod++, 256, Netif.TxRequest.SIZE);
            Netif.TxRequest.set(tx, at, gofs[i], gofs[i + 1], gofs[i + 2], i / 4, gofs[i + 3]);
        }
        Netif.Sring.reqProd(tx, 0, prod);
        kick(txPort);
    }

    /** Publishes requests up to {@code prod} and kicks, without letting the backend run yet. */
    void publishAndKick(int prod) {
        Netif.Sring.reqProd(tx, 0, prod);
        Evtchn.PortOp.set(args, 0, txPort);
        b.host.hypercall(1, __HYPERVISOR_event_channel_op, EVTCHNOP_send, args, 1);
    }

    Tap.Counters counters(int domid) {
        return b.tap.counters().stream().filter(k -> k.domid() == domid).findFirst().orElseThrow();
    }

    void kick(int port) {
        Evtchn.PortOp.set(args, 0, port);
        b.host.hypercall(1, __HYPERVISOR_event_channel_op, EVTCHNOP_send, args, 1);
        b.host.runPending();
    }

    /** A valid frame granted by dom1 at a fresh page: returns its gref. */
    int grantFrame(int len) {
        return grantFrame(len, 5);
    }

    /** The same, its bytes after the Ethernet header made from {@code seed}. */
    int grantFrame(int len, int seed) {
        long f = evil.allocFrame();
        byte[] fr = Bench.frame(GW, Bench.mac(TapFramesTest.MAC1), len, seed);
        MemorySegment.copy(fr, 0, evil.page(f), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, len);
        int ref = evil.claimGrantRefs(1);
        evil.grantAccess(ref, 0, f, true);
        return ref;
    }

    List<String> events() {
        return b.anomalies.stream().map(a -> a.inIface() + " " + a.event() + " " + a.code())
                .collect(Collectors.toList());
    }

    /** dom2 still gets its frames rebuilt. */
    void othersGoOn() {
        int before = b.tapped.size();
        b.send(2, Bench.frame(GW, Bench.mac(TapFramesTest.MAC2), 1514, 9), 0, 0);
        b.fromOutside(Bench.frame(Bench.mac(TapFramesTest.MAC2), GW, 700, 10), 0);
        List<Bench.Seen> after = b.tapped.subList(before, b.tapped.size());
        assertEquals(2, after.stream().filter(s -> s.domid() == 2).count(), () -> "dom2 after: " + after);
    }

    /** dom{@code domid}'s TX frames the tap rebuilt so far. */
    List<Bench.Seen> txOf(int domid) {
        return b.tapped.stream().filter(f -> f.domid() == domid && f.direction() == Tap.TX).toList();
    }

    /**
     * Netback sent {@code n} frames out the uplink since {@code uplinkBefore} ({@code what}), and
     * every TX frame of dom1 the tap rebuilt is one of them byte for byte; returns those frames.
     */
    List<Bench.Seen> rebuiltFromSent(int uplinkBefore, int n, String what) {
        List<String> sent = b.uplink.stream().skip(uplinkBefore).map(java.util.Arrays::toString).toList();
        assertEquals(n, sent.size(), what);
        List<Bench.Seen> rebuilt = txOf(1);
        for (Bench.Seen f : rebuilt) {
            assertTrue(sent.contains(java.util.Arrays.toString(f.bytes())),
                    () -> "rebuilt " + f.bytes().length + " bytes netback did not send; sent "
                            + b.uplink.stream().skip(uplinkBefore).map(x -> x.length).toList() + " " + events()
                            + " " + counters(1));
        }
        return rebuilt;
    }

    /** As {@link #rebuiltFromSent}, and each of the {@code n} packets was rebuilt, counted lost or is still held. */
    void rebuiltOnlyAsSent(int uplinkBefore, int n, String what) {
        List<Bench.Seen> rebuilt = rebuiltFromSent(uplinkBefore, n, what);
        assertEquals(n, rebuilt.size() + counters(1).lost() + b.tap.unfinished().txPackets(),
                () -> "each packet rebuilt, counted lost or still held: " + counters(1) + " " + events());
    }

    /**
     * The requests up to {@code prod} published and kicked (the tap reads them), then {@code
     * rewrite} run before netback reads them and, with {@code putBack} non-null, that run as
     * netback's first grant op is about to apply (the requests back as they were); netback then
     * runs and must have sent one frame of {@code sentLen} bytes.
     */
    void rewrittenAfterTheKick(int prod, Runnable rewrite, Runnable putBack, int sentLen) {
        publishAndKick(prod);
        rewrite.run();
        if (putBack != null) {
            atNetbacksFirst(-1, -1, putBack);
        }
        int uplinkBefore = b.uplink.size();
        b.host.runPending();
        assertEquals(1, b.uplink.stream().skip(uplinkBefore).filter(f -> f.length == sentLen).count(), "netback sent it");
    }

    /**
     * Runs {@code change} (the guest, on another vCPU) as op {@code index} of netback's first call
     * of grant-table command {@code cmd} (−1: any) is about to apply.
     */
    void atNetbacksFirst(int cmd, int index, Runnable change) {
        boolean[] done = new boolean[1];
        b.host.addListener(new HypercallListener() {
            @Override
            public boolean allow(Hypercall c, int i) {
                if (!done[0] && (index < 0 || i == index) && c.callerDomid() == 0
                        && c.op() == __HYPERVISOR_grant_table_op && (cmd < 0 || c.cmd() == cmd)) {
                    done[0] = true;
                    change.run();
                }
                return true;
            }

            @Override
            public void completed(Hypercall c) {
            }
        });
    }
}
