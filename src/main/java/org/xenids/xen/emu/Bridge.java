package org.xenids.xen.emu;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * dom0's Linux bridge ({@code xenbr0}): learns source MACs per port, forwards to the learned port,
 * floods broadcast, multicast and unknown destinations, and has one uplink port to the outside
 * (a {@link FrameSink} out, {@link #fromUplink} in).
 */
public final class Bridge {

    /** A bridge port: a vif's netback, or the uplink. */
    interface Port {
        void xmit(Skb skb);
    }

    private static final int CHUNK = 2048;
    private static final int NET_IP_ALIGN = 2;
    private static final int PAGE_FRAG_SIZE = 32768;
    /** dom0's TCP page_frag cursor (bytes used of the current compound page). */
    private int pageFrag;

    private final Domain dom0;
    private final List<Port> ports = new ArrayList<>();
    // MAC table: open addressing on the 48-bit address (+1 so 0 means empty), no boxing per frame.
    private static final int MAC_SLOTS = 4096;
    private final long[] macKey = new long[MAC_SLOTS];
    private final Port[] macPort = new Port[MAC_SLOTS];
    private int macCount;
    private long macFlushes;
    private final Port uplink;
    private final FrameSink uplinkSink;
    private final byte[] scratch = new byte[65536 + 64];
    private final java.lang.foreign.MemorySegment scratchSeg = java.lang.foreign.MemorySegment.ofArray(scratch);
    private final ArrayDeque<PooledSkb> pool = new ArrayDeque<>();
    private long forwarded, flooded, toUplink, fromUplink;

    public Bridge(Domain dom0, FrameSink uplinkSink) {
        this.dom0 = dom0;
        this.uplinkSink = uplinkSink;
        this.uplink = skb -> {
            int n = skb.copyTo(scratchSeg);
            toUplink++;
            uplinkSink.frame(scratch, n);
            skb.put();
        };
        ports.add(uplink);
    }

    void addPort(Port p) {
        ports.add(p);
    }

    /**
     * A frame arriving from outside (e.g. a capture being replayed): put in dom0 memory as the
     * NIC driver would (2 KiB buffers at NET_IP_ALIGN, page fragments beyond) and bridged.
     * {@code gsoSize} &gt; 0 marks a TCP super-frame to be passed on as GSO.
     */
    public void fromUplink(byte[] frame, int off, int len, int gsoSize) {
        enter(frame, off, len, gsoSize, false, false);
        fromUplink++;
    }

    /**
     * A frame dom0's own network stack sends through the bridge device: laid out as the uplink's,
     * but with the checksum state of a locally generated packet (TCP/UDP left to the device unless
     * {@code softwareChecksum}).
     */
    void fromDom0(byte[] frame, int off, int len, int gsoSize, boolean softwareChecksum) {
        enter(frame, off, len, gsoSize, true, softwareChecksum);
    }

    private void enter(byte[] frame, int off, int len, int gsoSize, boolean local, boolean software) {
        if (len < 14 || len > 65535 + 14) {
            throw new IllegalArgumentException("frame length " + len + " outside 14.." + (65535 + 14));
        }
        PooledSkb skb = pool.isEmpty() ? newSkb() : pool.poll();
        skb.reset();
        // dom0's own TCP stack (tcp_sendmsg) keeps the headers in the skb's linear head and the
        // payload in page fragments; a NIC driver fills 2 KiB buffers. Netback's RX copies follow
        // that layout (a copy never crosses a source fragment), so the real lab shows a 66-byte
        // head copy and a payload copy per data segment.
        int headers = local ? tcpHeaders(frame, off, len) : -1;
        int head = headers > 0 ? headers : Math.min(len, CHUNK - NET_IP_ALIGN);
        skb.headOff = NET_IP_ALIGN;
        skb.headLen = head;
        java.lang.foreign.MemorySegment src = java.lang.foreign.MemorySegment.ofArray(frame);
        java.lang.foreign.MemorySegment.copy(src, off, dom0.page(skb.headFrame(0)), NET_IP_ALIGN, head);
        int done = head;
        int frag = 0;
        // Where the payload starts in its first page: 0 for a NIC's buffers; for dom0's stack, the
        // socket's page_frag cursor, which packs consecutive segments into a 32 KiB compound page
        // (SKB_FRAG_PAGE_ORDER), so a segment's payload often straddles a 4 KiB boundary.
        int at = 0;
        if (headers > 0 && len > head) {
            if (pageFrag + (len - head) > PAGE_FRAG_SIZE) {
                pageFrag = 0;
            }
            at = pageFrag & 4095;
            pageFrag += len - head;
        }
        while (done < len) {
            int n = Math.min(4096 - at, len - done);
            long f = skb.fragPage(frag);
            java.lang.foreign.MemorySegment.copy(src, off + done, dom0.page(f), at, n);
            skb.addFrag(0, -1, f, at, n);
            frag++;
            done += n;
            at = 0;
        }
        skb.gsoSize = gsoSize;
        skb.gsoType = gsoSize > 0 ? gsoTypeOf(skb) : 0;
        skb.ipSummed = local ? Checksum.ofLocal(frame, off, len, gsoSize > 0, software) : Checksum.ofNic(frame, off, len, gsoSize > 0);
        forward(skb, uplink); // dom0's own frames too: its stack sits on the uplink's side here
    }

    /**
     * Ethernet + IP + TCP header bytes of a TCP segment (IPv4, or IPv6 without extension
     * headers, optionally VLAN-tagged), or −1 for anything else or a malformed header.
     */
    static int tcpHeaders(byte[] f, int off, int len) {
        if (len < 14) {
            return -1;
        }
        int l3 = 14;
        int type = ((f[off + 12] & 0xff) << 8) | (f[off + 13] & 0xff);
        if (type == 0x8100 && len >= 18) {
            type = ((f[off + 16] & 0xff) << 8) | (f[off + 17] & 0xff);
            l3 = 18;
        }
        int l4;
        if (type == 0x0800 && len >= l3 + 20 && (f[off + l3] & 0xf0) == 0x40 && f[off + l3 + 9] == 6) {
            l4 = l3 + (f[off + l3] & 0x0f) * 4;
        } else if (type == 0x86dd && len >= l3 + 40 && f[off + l3 + 6] == 6) {
            l4 = l3 + 40;
        } else {
            return -1;
        }
        if (l4 <= l3 || len < l4 + 20) {
            return -1;
        }
        int end = l4 + ((f[off + l4 + 12] & 0xf0) >>> 4) * 4;
        return end < l4 + 20 || end > len ? -1 : end;
    }

    private PooledSkb newSkb() {
        PooledSkb s = new PooledSkb(dom0);
        s.release = () -> pool.add(s);
        return s;
    }

    /** An uplink skb owning its dom0 buffers, reused through the pool. */
    private static final class PooledSkb extends Skb {
        private final Domain dom0;
        private final long[] pages = new long[MAX_FRAGS];
        private long head;

        PooledSkb(Domain dom0) {
            super(dom0.host.frames);
            this.dom0 = dom0;
        }

        long headFrame(int unused) {
            if (head == 0) {
                head = dom0.allocFrame();
            }
            headFrame = head;
            return head;
        }

        long fragPage(int i) {
            if (pages[i] == 0) {
                pages[i] = dom0.allocFrame();
            }
            return pages[i];
        }
    }

    private static int gsoTypeOf(Skb skb) {
        int et = ((skb.byteAt(12) & 0xff) << 8) | (skb.byteAt(13) & 0xff);
        return et == 0x86dd ? org.xenids.xen.abi.Xen.XEN_NETIF_GSO_TYPE_TCPV6 : org.xenids.xen.abi.Xen.XEN_NETIF_GSO_TYPE_TCPV4;
    }

    /** Learns the source, then forwards or floods; takes over the caller's reference. */
    void forward(Skb skb, Port in) {
        long dst = mac(skb, 0);
        long src = mac(skb, 6);
        if ((src & 0x0100_0000_0000L) == 0) {
            learn(src, in);
        }
        Port out = (dst & 0x0100_0000_0000L) == 0 ? lookup(dst) : null;
        if (out != null) {
            if (out != in) {
                forwarded++;
                out.xmit(skb);
                return;
            }
        } else {
            flooded++;
            for (Port p : ports) {
                if (p != in) {
                    skb.get();
                    p.xmit(skb);
                }
            }
        }
        skb.put();
    }

    private static int slot(long mac) {
        long h = (mac + 1) * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 52) & (MAC_SLOTS - 1);
    }

    private Port lookup(long mac) {
        for (int i = slot(mac); macKey[i] != 0; i = (i + 1) & (MAC_SLOTS - 1)) {
            if (macKey[i] == mac + 1) {
                return macPort[i];
            }
        }
        return null;
    }

    /** Learns a source; a full table is flushed (counted) as a bridge forgets aged entries. */
    private void learn(long mac, Port p) {
        int i = slot(mac);
        for (; macKey[i] != 0; i = (i + 1) & (MAC_SLOTS - 1)) {
            if (macKey[i] == mac + 1) {
                macPort[i] = p;
                return;
            }
        }
        if (macCount >= MAC_SLOTS * 3 / 4) {
            java.util.Arrays.fill(macKey, 0);
            java.util.Arrays.fill(macPort, null);
            macCount = 0;
            macFlushes++;
            i = slot(mac);
        }
        macKey[i] = mac + 1;
        macPort[i] = p;
        macCount++;
    }

    private static long mac(Skb skb, int at) {
        long m = 0;
        for (int i = 0; i < 6; i++) {
            m = (m << 8) | (skb.byteAt(at + i) & 0xff);
        }
        return m;
    }

    /** Frames forwarded to a learned port, flooded, sent out and received on the uplink; MAC table flushes. */
    public long[] counters() {
        return new long[] {forwarded, flooded, toUplink, fromUplink, macFlushes};
    }
}
