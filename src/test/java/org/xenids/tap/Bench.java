package org.xenids.tap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xenids.alert.EveEvent;
import org.xenids.xen.emu.Bridge;
import org.xenids.xen.emu.Domain;
import org.xenids.xen.emu.Toolstack;
import org.xenids.xen.emu.XenHost;

/**
 * A test bench: an emulated host (dom0 with a bridge and uplink, guests with vifs) with a tap on
 * its hypercall stream. Records, as the oracle, what each guest's netfront transmitted and what
 * each guest's stack received, and, separately, what the tap rebuilt.
 */
final class Bench {
    /** One frame with where it was seen. */
    record Seen(int domid, int direction, int peer, byte[] bytes) {
        @Override
        public String toString() {
            return "d" + domid + (direction == Tap.TX ? " tx " : " rx ") + bytes.length + "B peer " + peer;
        }
    }

    final XenHost host = new XenHost(1 << 16);
    final Domain dom0;
    final Bridge bridge;
    final List<byte[]> uplink = new ArrayList<>();
    final List<Seen> delivered = new ArrayList<>();
    final List<Seen> tapped = new ArrayList<>();
    /** Per tapped frame, what the tap said of its TCP/UDP checksum (see {@link Tap.FrameSink}). */
    final List<Boolean> l4Checked = new ArrayList<>();
    final List<EveEvent.Anomaly> anomalies = new ArrayList<>();
    final Tap tap;
    final List<Toolstack.Vif> vifs = new ArrayList<>();

    final Trace.Recorder recorder;

    Bench() {
        this(null);
    }

    /** With {@code trace} non-null, the tap's stream and reads are recorded there. */
    Bench(java.io.OutputStream trace) {
        dom0 = host.createDomain(0, "Domain-0", 1 << 14);
        bridge = new Bridge(dom0, (b, n) -> uplink.add(Arrays.copyOf(b, n)));
        try {
            recorder = trace == null ? null : Trace.recorder(host.memory(), trace);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Tap.FrameSink frames = collector(tapped);
        tap = new Tap(recorder == null ? host.memory() : recorder.memory(), new Tap.CheckedFrameSink() {
            @Override
            public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int dir, int peer,
                              boolean checked, long ts) {
                frames.frame(buf, off, len, domid, vif, queue, dir, peer, ts);
                l4Checked.add(checked);
            }
        }, anomalies::add);
        host.addListener(recorder == null ? tap : recorder.around(tap));
    }

    static Tap.FrameSink collector(List<Seen> into) {
        return (buf, off, len, domid, vif, queue, dir, peer, ts) ->
                into.add(new Seen(domid, dir, peer, Arrays.copyOfRange(buf, off, off + len)));
    }

    /** A guest with one vif of {@code queues} queues; its stack records what it receives. */
    Toolstack.Vif guest(int domid, String mac, int queues) {
        Domain d = host.createDomain(domid, "guest" + domid, 8192);
        Toolstack.bootGrantTable(host, d, 4);
        Toolstack.Vif v = Toolstack.addVif(host, domid, 0, mac, bridge, queues,
                (b, n) -> delivered.add(new Seen(domid, Tap.RX, -1, Arrays.copyOf(b, n))));
        host.runPending();
        vifs.add(v);
        return v;
    }

    /** The guest transmits; recorded as delivered TX when netfront accepted it. */
    boolean send(int domid, byte[] frame, int gsoSize, int gsoType) {
        Toolstack.Vif v = vifs.get(order.indexOf(domid));
        boolean ok = v.front().transmit(frame, 0, frame.length, gsoSize, gsoType);
        if (ok) {
            delivered.add(new Seen(domid, Tap.TX, -1, frame.clone()));
        }
        host.runPending();
        return ok;
    }

    void fromOutside(byte[] frame, int gsoSize) {
        bridge.fromUplink(frame, 0, frame.length, gsoSize);
        host.runPending();
    }

    private final List<Integer> order = new ArrayList<>();

    Toolstack.Vif guestOrdered(int domid, String mac, int queues) {
        order.add(domid);
        return guest(domid, mac, queues);
    }

    /** An Ethernet frame of {@code len} bytes: dst, src, IPv4 ethertype, then a byte pattern from {@code seed}. */
    static byte[] frame(byte[] dst, byte[] src, int len, int seed) {
        byte[] f = new byte[len];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < len; i++) {
            f[i] = (byte) (seed * 31 + i * 7 + (i >>> 8));
        }
        return f;
    }

    static byte[] mac(String s) {
        String[] p = s.split(":");
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) Integer.parseInt(p[i], 16);
        }
        return m;
    }
}
