package org.xenids.xen.emu;

/**
 * An skb's checksum state ({@code skb->ip_summed}) as Linux gives it by where the packet came
 * from; netback's RX path turns it into the first response's flags (rx.c: CHECKSUM_PARTIAL →
 * NETRXF_csum_blank|NETRXF_data_validated, CHECKSUM_UNNECESSARY → NETRXF_data_validated, else 0).
 *
 * <ul>
 * <li>A guest's TX: netback sets PARTIAL for NETTXF_csum_blank, UNNECESSARY for
 *     NETTXF_data_validated, and forces PARTIAL on GSO (checksum_setup).</li>
 * <li>dom0's own stack: TCP and UDP leave the checksum to the device (the bridge and the vif
 *     offer checksum offload), so PARTIAL; ICMP, ICMPv6, ARP and the TCP control socket's RSTs and
 *     TIME_WAIT ACKs are summed in software, NONE.</li>
 * <li>The uplink NIC: modelled on the common RX-checksum-offload drivers (igb, ixgbe, i40e,
 *     e1000e, virtio_net with VIRTIO_NET_HDR_F_DATA_VALID), which mark TCP and UDP whose checksum the
 *     hardware found good CHECKSUM_UNNECESSARY and leave everything else NONE for the stack.
 *     Drivers reporting CHECKSUM_COMPLETE (mlx5) would give flags 0 here instead. GRO'd super-frames
 *     (GSO) are PARTIAL, as tcp_gro_complete leaves them.</li>
 * </ul>
 */
final class Checksum {
    static final int NONE = 0, UNNECESSARY = 1, COMPLETE = 2, PARTIAL = 3;

    private Checksum() {}

    /** The state a guest's TX request flags give the skb (netback xenvif_tx_submit + checksum_setup). */
    static int ofTxFlags(int flags, boolean gso) {
        if ((flags & org.xenids.xen.abi.Xen.NETTXF_csum_blank) != 0 || gso) {
            return PARTIAL;
        }
        return (flags & org.xenids.xen.abi.Xen.NETTXF_data_validated) != 0 ? UNNECESSARY : NONE;
    }

    /** The first RX response's checksum flags for an skb in state {@code ipSummed} (netback rx.c). */
    static int rxFlags(int ipSummed) {
        return switch (ipSummed) {
            case PARTIAL -> org.xenids.xen.abi.Xen.NETRXF_csum_blank | org.xenids.xen.abi.Xen.NETRXF_data_validated;
            case UNNECESSARY -> org.xenids.xen.abi.Xen.NETRXF_data_validated;
            default -> NONE;
        };
    }

    /**
     * A frame dom0's own network stack sends: PARTIAL for TCP/UDP (and GSO), else NONE; NONE too
     * for a segment of the TCP control socket ({@code software}, see {@link Dom0Tcp}).
     */
    static int ofLocal(byte[] f, int off, int len, boolean gso, boolean software) {
        return !software && (gso || l4(f, off, len, false) >= 0) ? PARTIAL : NONE;
    }

    /** A frame the uplink NIC received: UNNECESSARY for TCP/UDP with a good checksum, PARTIAL for GRO'd ones, else NONE. */
    static int ofNic(byte[] f, int off, int len, boolean gso) {
        if (gso) {
            return PARTIAL;
        }
        return l4(f, off, len, true) == 1 ? UNNECESSARY : NONE;
    }

    /**
     * For an unfragmented TCP or UDP packet over IPv4, or IPv6 without extension headers: 1 when
     * {@code verify} and its checksum is good, else 0; −1 for anything else (malformed, truncated,
     * a fragment, another protocol). Bounded by {@code len}; allocates nothing.
     */
    static int l4(byte[] f, int off, int len, boolean verify) {
        int end = off + len;
        int l3 = off + 14;
        int type = len >= 14 ? u16(f, off + 12) : 0;
        if (type == 0x8100 && len >= 18) {
            type = u16(f, off + 16);
            l3 = off + 18;
        }
        int proto, at, l4len;
        long s = 0;
        if (type == 0x0800 && end - l3 >= 20 && (f[l3] & 0xf0) == 0x40) {
            int ihl = (f[l3] & 0x0f) * 4;
            int total = u16(f, l3 + 2);
            if (ihl < 20 || total < ihl || l3 + total > end || (u16(f, l3 + 6) & 0x3fff) != 0) {
                return -1;
            }
            proto = f[l3 + 9] & 0xff;
            at = l3 + ihl;
            l4len = total - ihl;
            for (int i = 12; i < 20; i += 2) {
                s += u16(f, l3 + i);
            }
        } else if (type == 0x86dd && end - l3 >= 40) {
            proto = f[l3 + 6] & 0xff;
            at = l3 + 40;
            l4len = u16(f, l3 + 4);
            if (at + l4len > end) {
                return -1;
            }
            for (int i = 8; i < 40; i += 2) {
                s += u16(f, l3 + i);
            }
        } else {
            return -1;
        }
        if (!(proto == 6 && l4len >= 20 || proto == 17 && l4len >= 8)) {
            return -1;
        }
        if (!verify) {
            return 0;
        }
        s += proto + l4len;
        int i = 0;
        for (; i + 1 < l4len; i += 2) {
            s += u16(f, at + i);
        }
        if (i < l4len) {
            s += (f[at + i] & 0xff) << 8;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return s == 0xffff ? 1 : 0;
    }

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }
}
