package org.xenids.tap;

import static org.xenids.xen.abi.Xen.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.TreeMap;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * The shape of a host's netif op stream, from a tap trace: per direction the frames the tap
 * rebuilt and the grant copies, maps and hypercalls behind them (copy lengths, copies per call,
 * maps per TX frame), event sends by backend and frontend. Compares the emulated host with a
 * real one on the same traffic ({@code OpShapeTest}); {@code main} prints it for trace files.
 */
public final class OpShape {
    /** Counts over a trace; histograms are value → occurrences. */
    public long txFrames, rxFrames, txCopies, rxCopies, txMaps, txCopyCalls, rxCopyCalls, mapCalls, mixedCopyCalls;
    /** Event sends on the vif's channels: by the backend on the TX and RX channel, by the frontend on each. */
    public long backendTxSends, backendRxSends, frontendTxSends, frontendRxSends, otherSends;
    /** The frontend's own ports (alloc_unbound by the guest, TX first) and the backend ports bound to them. */
    private final java.util.List<Integer> frontPorts = new java.util.ArrayList<>(), backPorts = new java.util.ArrayList<>();
    public final TreeMap<Integer, Long> txCopyLen = new TreeMap<>(), rxCopyLen = new TreeMap<>(),
            rxCopiesPerCall = new TreeMap<>(), txCopiesPerCall = new TreeMap<>(), mapsPerCall = new TreeMap<>();
    private final int guest;

    private OpShape(int guest) {
        this.guest = guest;
    }

    /** The op shape of the guest {@code guest}'s traffic in a trace. */
    public static OpShape of(InputStream trace, String name, int guest) throws IOException {
        OpShape s = new OpShape(guest);
        Tap[] tap = new Tap[1];
        Trace.replay(trace, name, mem -> {
            tap[0] = new Tap(mem, (buf, off, len, domid, vif, queue, dir, peer, ts) -> {
                if (domid == guest) {
                    if (dir == Tap.TX) {
                        s.txFrames++;
                    } else {
                        s.rxFrames++;
                    }
                }
            }, a -> { });
            return new HypercallListener() {
                @Override
                public boolean allow(Hypercall c, int index) {
                    return tap[0].allow(c, index);
                }

                @Override
                public void completed(Hypercall c) {
                    s.count(c);
                    tap[0].completed(c);
                }
            };
        });
        return s;
    }

    private void count(Hypercall c) {
        MemorySegment a = c.args();
        int n = c.structSize() == 0 ? 0 : (int) Math.min(c.count(), a.byteSize() / c.structSize());
        if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_copy) {
            int tx = 0, rx = 0;
            for (int i = 0; i < n; i++) {
                long at = (long) i * Gnttab.Copy.SIZE;
                int flags = Gnttab.Copy.flags(a, at);
                int len = Gnttab.Copy.len(a, at);
                if ((flags & GNTCOPY_dest_gref) != 0 && Gnttab.Copy.dstDomid(a, at) == guest) {
                    rx++;
                    rxCopyLen.merge(len, 1L, Long::sum);
                } else if ((flags & GNTCOPY_source_gref) != 0 && Gnttab.Copy.srcDomid(a, at) == guest) {
                    tx++;
                    txCopyLen.merge(len, 1L, Long::sum);
                }
            }
            txCopies += tx;
            rxCopies += rx;
            if (tx > 0) {
                txCopyCalls++;
                txCopiesPerCall.merge(tx, 1L, Long::sum);
            }
            if (rx > 0) {
                rxCopyCalls++;
                rxCopiesPerCall.merge(rx, 1L, Long::sum);
            }
            if (tx > 0 && rx > 0) {
                mixedCopyCalls++;
            }
        } else if (c.op() == __HYPERVISOR_grant_table_op && c.cmd() == GNTTABOP_map_grant_ref) {
            int maps = 0;
            for (int i = 0; i < n; i++) {
                long at = (long) i * Gnttab.Map.SIZE;
                if (Gnttab.Map.dom(a, at) == guest && (Gnttab.Map.flags(a, at) & GNTMAP_readonly) != 0) {
                    maps++;
                }
            }
            txMaps += maps;
            if (maps > 0) {
                mapCalls++;
                mapsPerCall.merge(maps, 1L, Long::sum);
            }
        } else if (c.op() == __HYPERVISOR_event_channel_op && c.result() == 0 && n == 1) {
            if (c.cmd() == EVTCHNOP_alloc_unbound && c.callerDomid() == guest) {
                frontPorts.add(org.xenids.xen.abi.Evtchn.AllocUnbound.port(a, 0));
            } else if (c.cmd() == EVTCHNOP_bind_interdomain && org.xenids.xen.abi.Evtchn.BindInterdomain.remoteDom(a, 0) == guest) {
                int i = frontPorts.indexOf(org.xenids.xen.abi.Evtchn.BindInterdomain.remotePort(a, 0));
                if (i >= 0) {
                    while (backPorts.size() <= i) {
                        backPorts.add(-1);
                    }
                    backPorts.set(i, org.xenids.xen.abi.Evtchn.BindInterdomain.localPort(a, 0));
                }
            } else if (c.cmd() == EVTCHNOP_send) {
                int port = org.xenids.xen.abi.Evtchn.PortOp.port(a, 0);
                boolean front = c.callerDomid() == guest;
                int i = (front ? frontPorts : backPorts).indexOf(port);
                // one channel for both rings (no split) counts as TX
                if (i == 0) {
                    if (front) {
                        frontendTxSends++;
                    } else {
                        backendTxSends++;
                    }
                } else if (i == 1) {
                    if (front) {
                        frontendRxSends++;
                    } else {
                        backendRxSends++;
                    }
                } else {
                    otherSends++;
                }
            }
        }
    }

    private static String ratio(long a, long b) {
        return b == 0 ? "-" : String.format(Locale.ROOT, "%.2f", (double) a / b);
    }

    /** Copy lengths grouped: the exact values up to {@code keep} most frequent, the rest summed as "other". */
    static String top(TreeMap<Integer, Long> h, int keep) {
        StringBuilder b = new StringBuilder("{");
        h.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).limit(keep)
                .forEach(e -> b.append(e.getKey()).append('×').append(e.getValue()).append(' '));
        long shown = h.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).limit(keep)
                .mapToLong(java.util.Map.Entry::getValue).sum();
        long all = h.values().stream().mapToLong(Long::longValue).sum();
        if (all > shown) {
            b.append("other×").append(all - shown);
        }
        return b.toString().trim() + "}";
    }

    @Override
    public String toString() {
        return String.join("\n",
                "TX frames " + txFrames + ": copies " + txCopies + " (" + ratio(txCopies, txFrames) + "/frame, lengths "
                        + top(txCopyLen, 6) + ", max " + (txCopyLen.isEmpty() ? 0 : txCopyLen.lastKey()) + "), maps "
                        + txMaps + " (" + ratio(txMaps, txFrames) + "/frame), copy calls " + txCopyCalls + " ("
                        + ratio(txCopies, txCopyCalls) + " copies/call), map calls " + mapCalls + " ("
                        + ratio(txMaps, mapCalls) + " maps/call)",
                "RX frames " + rxFrames + ": copies " + rxCopies + " (" + ratio(rxCopies, rxFrames) + "/frame, lengths "
                        + top(rxCopyLen, 6) + ", max " + (rxCopyLen.isEmpty() ? 0 : rxCopyLen.lastKey()) + "), copy calls "
                        + rxCopyCalls + " (" + ratio(rxCopies, rxCopyCalls) + " copies/call, " + top(rxCopiesPerCall, 4)
                        + ")",
                "vif event sends: backend on TX " + backendTxSends + " (" + ratio(backendTxSends, txFrames)
                        + "/TX frame), on RX " + backendRxSends + " (" + ratio(backendRxSends, rxFrames)
                        + "/RX frame); frontend on TX " + frontendTxSends + " (" + ratio(frontendTxSends, txFrames)
                        + "/TX frame), on RX " + frontendRxSends + "; other sends " + otherSends
                        + "; calls with TX and RX copies " + mixedCopyCalls);
    }

    /** Prints the op shape of each trace file given (guest domid 1 unless {@code -Dguest=N}). */
    public static void main(String[] args) throws IOException {
        int guest = Integer.getInteger("guest", 1);
        for (String f : args) {
            try (InputStream in = f.endsWith(".xz") ? new org.tukaani.xz.XZInputStream(Files.newInputStream(Path.of(f)))
                    : Files.newInputStream(Path.of(f))) {
                System.out.println(f + ":\n" + of(in, f, guest));
            }
        }
    }
}
