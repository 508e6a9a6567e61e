package org.xenids.xen.emu;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xenids.pcap.CaptureFormatException;
import org.xenids.pcap.CaptureReader;

/**
 * Drives an emulated host with real captures: builds the host a {@link Topology} describes (dom0
 * with a bridge and uplink, each guest with its vifs, handshakes done), then replays pcaps in
 * timestamp order, injecting each frame where it enters the host — the sending guest's netfront
 * when its source address belongs to a guest, the uplink otherwise — so outside→guest,
 * guest→outside and guest→guest traffic all cross the emulated rings.
 *
 * <p>Ethernet addresses follow the topology: a frame from a guest carries that vif's MAC as
 * source, a unicast frame to a guest that vif's MAC as destination (captures made elsewhere, or
 * a client turned into a guest, keep their addresses consistent that way). When a vif comes up
 * its guest announces itself once with a gratuitous ARP, as Linux does on link-up, so the bridge
 * knows where every guest is before the capture starts (counted as announcements).
 */
public final class TrafficDriver {

    /** Told what crossed the host; all buffers are valid only during the call. */
    public interface Observer {
        /** A capture frame as it enters the host (addresses set), from guest {@code fromDomid} or the uplink (−1). */
        default void entered(int fromDomid, byte[] buf, int len) {}

        /** A frame offered to a guest's netfront; {@code accepted} false when the driver refused it (counted). */
        default void transmitted(int domid, byte[] buf, int off, int len, boolean accepted) {}

        /** A frame the guest's network stack received. */
        default void delivered(int domid, byte[] buf, int len) {}

        /** A frame that left the host through the uplink. */
        default void uplink(byte[] buf, int len) {}
    }

    /** Totals of a replay. */
    public record Stats(long frames, long fromGuests, long fromOutside, long notAccepted, long skipped,
                        long announcements, long deliveredToGuests, long toUplink, long coalesced) {}

    private final Topology topology;
    private final XenHost host;
    private final Domain dom0;
    private final Bridge bridge;
    private Observer observer = new Observer() {};
    private java.util.function.LongConsumer beforeFrame;
    private long now;
    private final List<Netfront> fronts = new ArrayList<>();
    private final List<Toolstack.Vif> vifs = new ArrayList<>();
    private final HostAddresses addresses;
    private final Ingress ingress;
    private final int[] vifDomid;
    private final byte[][] vifMac;
    private final byte[] buf = new byte[65535 + 64];
    private long delivered, toUplink, announcements;
    private boolean started;
    private Coalescer coalescer;
    private long fromGuests, fromOutside, notAccepted;
    /** Capture frames taken so far, and those not replayable (cut or impossible lengths). */
    private long frames, skipped;
    /** The current (or last) replay's captures. */
    private CaptureMerge merge;

    /**
     * Merges back-to-back TCP segments of one direction into GSO super-frames of at most
     * {@code maxBytes} (1514..65535) before they enter the host, as GRO and TSO do on a real host.
     */
    public void coalesce(int maxBytes) {
        coalescer = new Coalescer(maxBytes);
    }

    /**
     * The addresses of dom0's own network stack (e.g. a capture made in dom0 of its traffic with a
     * guest): frames from them enter through the bridge device as locally generated packets
     * (TCP/UDP checksums left to the device) instead of arriving from the uplink NIC.
     */
    public void dom0Addresses(List<String> ips) {
        addresses.dom0(ips);
    }

    public TrafficDriver(Topology topology) {
        this.topology = topology;
        int vifs = 0, queues = 1, frames = 4096;
        for (Topology.Guest g : topology.guests()) {
            for (Topology.Vif v : g.vifs()) {
                vifs++;
                queues = Math.max(queues, v.queues());
                frames += 1200 * v.queues() + 64;
            }
        }
        host = new XenHost(Math.max(frames + 8192, 1 << 15));
        host.clock(() -> now);
        dom0 = host.createDomain(0, "Domain-0", frames + 4096);
        dom0.vcpus(queues);
        bridge = new Bridge(dom0, (b, n) -> {
            toUplink++;
            observer.uplink(b, n);
        });
        addresses = new HostAddresses(topology);
        ingress = new Ingress(addresses);
        vifDomid = addresses.vifDomid;
        vifMac = addresses.vifMac;
    }

    /**
     * The drivers' own counters of one vif: netfront TX sent/dropped/errors and RX packets/errors,
     * netback TX forwarded/dropped/failed and RX delivered/dropped, and whether netback disabled it.
     */
    public record VifCounters(int domid, int vif, long frontTx, long frontTxDropped, long frontTxErrors,
                              long frontRx, long frontRxErrors, long backTx, long backTxDropped, long backTxFailed,
                              long backRx, long backRxDropped, boolean disabled) {}

    public List<VifCounters> vifCounters() {
        List<VifCounters> out = new ArrayList<>();
        int[] devid = new int[0x7FF0];
        for (int i = 0; i < vifs.size(); i++) {
            long[] f = vifs.get(i).front().counters();
            long[] b = vifs.get(i).back().counters();
            out.add(new VifCounters(vifDomid[i], devid[vifDomid[i]]++, f[0], f[1], f[2], f[3], f[4],
                    b[0], b[1], b[2], b[3], b[4], b[5] != 0));
        }
        return out;
    }

    /** The host, to register hypercall listeners before {@link #start()} so they see the rings set up. */
    public XenHost host() {
        return host;
    }

    public void observer(Observer o) {
        this.observer = o;
    }

    /** Called with each capture frame's index (from 0) before it enters, e.g. to detach or re-attach a vif mid-replay. */
    public void beforeFrame(java.util.function.LongConsumer hook) {
        this.beforeFrame = hook;
    }

    /** Vif {@code devid} of guest {@code domid} (its two drivers), or null. */
    public Toolstack.Vif vif(int domid, int devid) {
        int k = vifIndex(domid, devid);
        return k < 0 ? null : vifs.get(k);
    }

    /**
     * Takes a guest's vif down ({@link Toolstack#detachVif}); until it is re-attached the
     * guest's frames are refused by its netfront and frames for it dropped by its netback, both
     * counted in {@link #vifCounters()}.
     */
    public void detachVif(int domid, int devid) {
        Toolstack.detachVif(host, requireVif(domid, devid));
    }

    /** Brings a detached vif up again; the guest announces itself (gratuitous ARP) as Linux does on link-up. */
    public void attachVif(int domid, int devid) {
        Toolstack.reattachVif(host, requireVif(domid, devid));
        announce(vifIndex(domid, devid));
    }

    private Toolstack.Vif requireVif(int domid, int devid) {
        Toolstack.Vif v = vif(domid, devid);
        if (v == null) {
            throw new IllegalArgumentException("no vif " + devid + " of domain " + domid);
        }
        return v;
    }

    private int vifIndex(int domid, int devid) {
        for (int k = 0, n = 0; k < vifs.size(); k++) {
            if (vifDomid[k] == domid && n++ == devid) {
                return k;
            }
        }
        return -1;
    }

    /** Boots the guests and connects their vifs; each announces itself once. */
    public void start(long startNanos) {
        if (started) {
            throw new IllegalStateException("already started");
        }
        started = true;
        now = startNanos;
        // Checked before any guest boots: found at the 2,048th queue, it took a minute and gigabytes.
        long queues = topology.guests().stream().flatMap(g -> g.vifs().stream()).mapToLong(Topology.Vif::queues).sum();
        if (2 * queues > Domain.MAX_PORTS - 1) {
            throw new IllegalStateException("the topology's " + topology.guests().size() + " guests have " + queues
                    + " vif queues, which need two of dom0's event channels each; Xen's 2-level ABI gives a domain "
                    + (Domain.MAX_PORTS - 1) + " (at most " + (Domain.MAX_PORTS - 1) / 2 + " vif queues on one host)");
        }
        int k = 0;
        for (Topology.Guest g : topology.guests()) {
            int refs = 8;
            for (Topology.Vif v : g.vifs()) {
                refs += 514 * v.queues();
            }
            Domain d = host.createDomain(g.domid(), g.name(), 2048 + refs * 2 + 64);
            Toolstack.bootGrantTable(host, d, (refs + 511) / 512 + 1);
            int devid = 0;
            for (Topology.Vif v : g.vifs()) {
                int domid = g.domid();
                Toolstack.Vif vif = Toolstack.addVif(host, domid, devid++, Topology.normalMac(v.mac()), bridge,
                        v.queues(), (b, n) -> {
                            delivered++;
                            observer.delivered(domid, b, n);
                        });
                host.runPending();
                if (!vif.front().connected() || !vif.back().connected()) {
                    // The one limit a large topology meets: each vif queue binds two of dom0's ports.
                    String why = host.domain(0).freePort() < 0 ? ": dom0 has no free event channel (Xen's 2-level"
                            + " ABI gives a domain " + (Domain.MAX_PORTS - 1) + " ports; each vif queue takes two)" : "";
                    throw new IllegalStateException("vif " + (devid - 1) + " of " + g.name() + " did not connect" + why);
                }
                fronts.add(vif.front());
                vifs.add(vif);
                k++;
            }
        }
        for (int i = 0; i < fronts.size(); i++) {
            announce(i);
        }
    }

    private void announce(int vif) {
        long ip = addresses.announcedIp4(vif);
        if (ip < 0) {
            return;
        }
        byte[] f = new byte[60];
        Arrays.fill(f, 0, 6, (byte) 0xff);
        System.arraycopy(vifMac[vif], 0, f, 6, 6);
        f[12] = 0x08;
        f[13] = 0x06;
        byte[] arp = {0, 1, 8, 0, 6, 4, 0, 1};
        System.arraycopy(arp, 0, f, 14, 8);
        System.arraycopy(vifMac[vif], 0, f, 22, 6);
        HostAddresses.putIpv4(f, 28, (int) ip);
        HostAddresses.putIpv4(f, 38, (int) ip);
        announcements++;
        send(vif, f, f.length);
    }

    /**
     * Replays the captures (pcap or pcapng, plain or xz; Ethernet) merged by timestamp. {@code progress}
     * is called every 65536 frames with the count so far (may be null).
     */
    public Stats replay(List<Path> captures, java.util.function.LongConsumer progress) throws IOException {
        if (!started) {
            throw new IllegalStateException("start() first");
        }
        merge = new CaptureMerge();
        frames = 0; // this replay's (the traffic counters go on across replays, as before)
        skipped = 0;
        try {
            merge.open(captures);
            try {
                replayMerged(merge, progress);
            } catch (CaptureFormatException e) {
                // A capture broke: what came before it was replayed; merged segments still held go
                // out too, so that the counters and the guests' traffic stop at the same frame.
                if (coalescer != null) {
                    drain(coalescer.flush());
                }
                throw e;
            }
            if (coalescer != null) {
                drain(coalescer.flush());
            }
            return stats();
        } finally {
            merge.close();
        }
    }

    /**
     * Packets each capture of the last replay says its capturer dropped (pcapng interface
     * statistics), as far as it was read; only captures that report some, in the order given.
     */
    public java.util.Map<Path, Long> reportedDrops() {
        return merge == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(merge.reportedDrops);
    }

    /**
     * The replay's counters so far (after a capture broke: up to the damage). Records of another
     * link type than Ethernet after a capture's first are among the frames, as not replayable.
     */
    public Stats stats() {
        long other = merge == null ? 0 : merge.otherLinkTypes;
        return new Stats(frames + other, fromGuests, fromOutside, notAccepted, skipped + other, announcements, delivered, toUplink,
                coalescer == null ? 0 : coalescer.merged);
    }

    private void replayMerged(CaptureMerge merge, java.util.function.LongConsumer progress) throws IOException {
        CaptureReader r;
        while ((r = merge.next()) != null) {
            now = Math.max(now, r.timestampNanos());
            if (beforeFrame != null) {
                beforeFrame.accept(frames);
            }
            int len = r.capturedLength();
            if (len < 14 || len > 65535 || len != r.originalLength()) {
                skipped++; // truncated or impossible frames cannot cross a vif whole
            } else {
                if (coalescer == null) {
                    System.arraycopy(r.array(), r.dataOffset(), buf, 0, len);
                    count(inject(len, 0));
                } else {
                    drain(coalescer.offer(copy(r, len), len));
                }
            }
            frames++;
            if (progress != null && (frames & 0xffff) == 0) {
                progress.accept(frames);
            }
        }
    }

    private byte[] copy(CaptureReader r, int len) {
        System.arraycopy(r.array(), r.dataOffset(), buf, 0, len);
        return buf;
    }

    private void drain(int n) {
        for (int k = 0; k < n; k++) {
            System.arraycopy(coalescer.out[k], 0, buf, 0, coalescer.outLen[k]);
            count(inject(coalescer.outLen[k], coalescer.outMss[k]));
        }
    }

    private void count(int from) {
        if (from == -2) {
            notAccepted++;
        } else if (from >= 0) {
            fromGuests++;
        } else {
            fromOutside++;
        }
    }

    /** Injects {@code buf[0, len)}: the vif index it was sent from, −1 for the uplink, −2 when refused. */
    private int inject(int len, int mss) {
        ingress.route(buf, len, mss);
        int srcVif = ingress.srcVif, gso = ingress.gso, gsoType = ingress.gsoType;
        boolean fromDom0 = ingress.fromDom0, controlSocket = ingress.controlSocket;
        observer.entered(srcVif >= 0 ? vifDomid[srcVif] : -1, buf, len);
        if (srcVif >= 0) {
            return send(srcVif, buf, len, gso, gsoType) ? srcVif : -2;
        }
        if (fromDom0) {
            bridge.fromDom0(buf, 0, len, gso, controlSocket);
        } else {
            bridge.fromUplink(buf, 0, len, gso);
        }
        host.runPending();
        return -1;
    }

    private boolean send(int vif, byte[] f, int len) {
        return send(vif, f, len, 0, 0);
    }

    private boolean send(int vif, byte[] f, int len, int gso, int gsoType) {
        boolean ok = fronts.get(vif).transmit(f, 0, len, gso, gsoType);
        observer.transmitted(vifDomid[vif], f, 0, len, ok);
        host.runPending();
        return ok;
    }
}
