package org.xenids.xen.emu;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;
import org.xenids.xen.abi.Xen;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * What a tap trace shows of a guest's RX responses and event sends, measured from outside the tap
 * by watching the memory reads it makes: the guest frame the tap reads most 8-byte ring entries
 * from is the RX ring (TX entries are 12 bytes); when the tap hands over an RX frame, its last
 * response is the entry read last, and its first response is found by walking back over
 * NETRXF_more_data (and a GSO extra slot). Gives, per kind of frame (TCP, UDP, ICMP, ICMPv6, ARP,
 * other), the first response's checksum flags, and how many RX frames fall between two backend
 * sends on the guest's RX channel and how many TX frames between two frontend kicks on its TX channel.
 * With the environment variable RXFLAGS_DEBUG set, TCP frames are keyed by their TCP flags and
 * length ("TCP/10/66"), to tell which segments carry which flags.
 */
final class RxFlagsOfTrace {
    private static final int RING = 256, ENTRY = 8, ENTRIES = 64;

    /** kind → (first response's flags &amp; (csum_blank|data_validated)) → frames. */
    final TreeMap<String, TreeMap<Integer, Long>> csumFlags = new TreeMap<>();
    /** RX frames the tap handed over between two sends of the backend on the RX channel → times. */
    final TreeMap<Integer, Long> rxFramesPerBackendSend = new TreeMap<>();
    /** TX frames the tap handed over between two kicks of the frontend on the TX channel → times. */
    final TreeMap<Integer, Long> txFramesPerFrontendKick = new TreeMap<>();

    private final int guest;
    private long rxFrame = -1;
    private final long[] entry = new long[RING];
    private int lastSlot = -1;
    private int rxSince, txSince;
    private int frontTxPort = -1, frontRxPort = -1, backRxPort = -1;

    private RxFlagsOfTrace(int guest) {
        this.guest = guest;
    }

    static RxFlagsOfTrace of(Callable<InputStream> trace, String name, int guest) throws Exception {
        RxFlagsOfTrace r = new RxFlagsOfTrace(guest);
        Map<Long, Long> reads = new java.util.HashMap<>();
        try (InputStream in = trace.call()) { // first pass: which guest frame is the RX ring
            replay(in, name, mem -> new Watch(mem) {
                @Override
                void seen(int domid, long frame, int offset, byte[] b, int at, int len) {
                    if (domid == guest && len == ENTRY && offset >= ENTRIES && (offset - ENTRIES) % ENTRY == 0) {
                        reads.merge(frame, 1L, Long::sum);
                    }
                }
            }, (buf, off, len, domid, vif, queue, dir, peer, ts) -> { }, c -> { });
        }
        r.rxFrame = reads.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        try (InputStream in = trace.call()) {
            replay(in, name, mem -> new Watch(mem) {
                @Override
                void seen(int domid, long frame, int offset, byte[] b, int at, int len) {
                    if (domid == guest && frame == r.rxFrame && len == ENTRY && offset >= ENTRIES
                            && offset < ENTRIES + RING * ENTRY && (offset - ENTRIES) % ENTRY == 0) {
                        int slot = (offset - ENTRIES) / ENTRY;
                        r.entry[slot] = MemorySegment.ofArray(b).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at);
                        r.lastSlot = slot;
                    }
                }
            }, r::frame, r::event);
        }
        return r;
    }

    private static int flags(long e) {
        return (int) (e >>> 32) & 0xffff;
    }

    private static int status(long e) {
        return (short) (e >>> 48);
    }

    private void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int dir, int peer, long ts) {
        if (domid != guest) {
            return;
        }
        if (dir == Tap.TX) {
            txSince++;
            return;
        }
        rxSince++;
        int s = lastSlot;
        for (int n = 0; n < RING && s >= 0; n++) {
            int p = (s - 1) & (RING - 1), pp = (s - 2) & (RING - 1);
            if (status(entry[p]) > 0 && (flags(entry[p]) & Xen.NETRXF_more_data) != 0) {
                s = p;
            } else if (status(entry[p]) <= 0 && status(entry[pp]) > 0
                    && (flags(entry[pp]) & (Xen.NETRXF_extra_info | Xen.NETRXF_more_data))
                    == (Xen.NETRXF_extra_info | Xen.NETRXF_more_data)) {
                s = pp;
            } else {
                break;
            }
        }
        int f = s < 0 ? -1 : flags(entry[s]) & (Xen.NETRXF_csum_blank | Xen.NETRXF_data_validated);
        csumFlags.computeIfAbsent(kind(buf, off, len), k -> new TreeMap<>()).merge(f, 1L, Long::sum);
    }

    private void event(Hypercall c) {
        if (c.op() != Xen.__HYPERVISOR_event_channel_op || c.result() != 0 || c.count() != 1) {
            return;
        }
        MemorySegment a = c.args();
        if (c.cmd() == Xen.EVTCHNOP_alloc_unbound && c.callerDomid() == guest) {
            int port = org.xenids.xen.abi.Evtchn.AllocUnbound.port(a, 0);
            if (frontTxPort < 0) {
                frontTxPort = port;
            } else if (frontRxPort < 0) {
                frontRxPort = port;
            }
        } else if (c.cmd() == Xen.EVTCHNOP_bind_interdomain
                && org.xenids.xen.abi.Evtchn.BindInterdomain.remoteDom(a, 0) == guest
                && org.xenids.xen.abi.Evtchn.BindInterdomain.remotePort(a, 0) == frontRxPort) {
            backRxPort = org.xenids.xen.abi.Evtchn.BindInterdomain.localPort(a, 0);
        } else if (c.cmd() == Xen.EVTCHNOP_send) {
            int port = org.xenids.xen.abi.Evtchn.PortOp.port(a, 0);
            if (c.callerDomid() == guest && port == frontTxPort) {
                txFramesPerFrontendKick.merge(txSince, 1L, Long::sum);
                txSince = 0;
            } else if (c.callerDomid() != guest && port == backRxPort) {
                rxFramesPerBackendSend.merge(rxSince, 1L, Long::sum);
                rxSince = 0;
            }
        }
    }

    private static String kind(byte[] b, int off, int len) {
        int l3 = off + 14;
        int type = len >= 14 ? ((b[off + 12] & 0xff) << 8) | (b[off + 13] & 0xff) : 0;
        if (type == 0x8100 && len >= 18) {
            type = ((b[off + 16] & 0xff) << 8) | (b[off + 17] & 0xff);
            l3 += 4;
        }
        int proto = type == 0x0800 && len >= l3 - off + 20 ? b[l3 + 9] & 0xff
                : type == 0x86dd && len >= l3 - off + 40 ? b[l3 + 6] & 0xff : -1;
        if (proto == 6 && System.getenv("RXFLAGS_DEBUG") != null) {
            int l4 = l3 + (type == 0x0800 ? (b[l3] & 0x0f) * 4 : 40);
            return "TCP/" + Integer.toHexString(b[l4 + 13] & 0xff) + "/" + len;
        }
        return type == 0x0806 ? "ARP" : proto == 6 ? "TCP" : proto == 17 ? "UDP" : proto == 1 ? "ICMP"
                : proto == 58 ? "ICMPv6" : proto == 0 && type == 0x86dd ? "IPv6-hop-by-hop" : "other";
    }

    /** Replays {@code in} into a tap reading through {@code watch}; {@code calls} sees every completed call after the tap. */
    private static void replay(InputStream in, String name, java.util.function.Function<DomainMemory, Watch> watch,
                               Tap.FrameSink sink, java.util.function.Consumer<Hypercall> calls) throws IOException {
        Trace.replay(in, name, mem -> {
            Tap tap = new Tap(watch.apply(mem), sink, a -> { });
            return new HypercallListener() {
                @Override
                public boolean allow(Hypercall c, int index) {
                    return tap.allow(c, index);
                }

                @Override
                public void completed(Hypercall c) {
                    tap.completed(c);
                    calls.accept(c);
                }
            };
        });
    }

    /** A memory that passes every read through and reports the successful ones. */
    private abstract static class Watch implements DomainMemory {
        private final DomainMemory m;

        Watch(DomainMemory m) {
            this.m = m;
        }

        abstract void seen(int domid, long frame, int offset, byte[] b, int at, int len);

        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            boolean ok = m.read(domid, frame, offset, dst);
            if (ok && dst.byteSize() <= 64) {
                byte[] b = dst.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                seen(domid, frame, offset, b, 0, b.length);
            }
            return ok;
        }

        @Override
        public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
            boolean ok = m.read(domid, frame, offset, dst, dstOff, len);
            if (ok) {
                seen(domid, frame, offset, dst, dstOff, len);
            }
            return ok;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            return m.grantTableFrames(domid, out);
        }
    }

    @Override
    public String toString() {
        return "RX frames' first-response checksum flags by kind " + csumFlags + "; RX frames per backend RX send "
                + rxFramesPerBackendSend + "; TX frames per frontend TX kick " + txFramesPerFrontendKick;
    }
}
