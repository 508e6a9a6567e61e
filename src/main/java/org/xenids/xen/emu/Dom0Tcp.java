package org.xenids.xen.emu;

/**
 * Which of dom0's own IPv4 TCP segments Linux sends from its per-namespace control socket
 * (ip_send_unicast_reply: tcp_v4_send_reset, and tcp_v4_send_ack for a connection in TIME_WAIT),
 * whose checksum is computed in software (CHECKSUM_NONE) instead of left to the device. That is
 * every RST, and every segment of a connection after dom0 closed first (sent its FIN before the
 * peer's) and the peer's FIN arrived. Connections are followed in a fixed table keyed by the
 * 4-tuple; a full table is cleared (counted), as forgetting an old connection only turns its
 * late segments back into ordinary ones.
 */
final class Dom0Tcp {
    private static final int SLOTS = 4096;
    private static final int DOM0_FIN = 1, PEER_FIN = 2, TIME_WAIT = 4;
    private final long[] addrs = new long[SLOTS];
    private final int[] ports = new int[SLOTS]; // (dom0 port << 16 | peer port) + 1; 0 = empty
    private final byte[] state = new byte[SLOTS];
    private int used;
    long clears;

    /**
     * A TCP segment over IPv4 at {@code f[l3..]} (bounds checked by the caller: IPv4 header and 14
     * bytes of TCP header present) between dom0 and a peer; {@code fromDom0} tells its direction.
     * Returns, for dom0's segments, whether the control socket sends it.
     */
    boolean segment(byte[] f, int l3, boolean fromDom0) {
        int l4 = l3 + (f[l3] & 0x0f) * 4;
        int flags = f[l4 + 13] & 0xff;
        boolean fin = (flags & 0x01) != 0, syn = (flags & 0x02) != 0, rst = (flags & 0x04) != 0;
        int src = HostAddresses.ipv4(f, l3 + 12), dst = HostAddresses.ipv4(f, l3 + 16);
        int sport = u16(f, l4), dport = u16(f, l4 + 2);
        long a = fromDom0 ? ((long) src << 32) | (dst & 0xffffffffL) : ((long) dst << 32) | (src & 0xffffffffL);
        int p = (fromDom0 ? (sport << 16) | dport : (dport << 16) | sport) + 1;
        int i = find(a, p, syn || fin);
        int s = i < 0 ? 0 : state[i];
        boolean control = fromDom0 && (rst || (s & TIME_WAIT) != 0);
        if (i >= 0) {
            if (syn) {
                s = 0; // a new connection on the same 4-tuple
            }
            if (fin && fromDom0 && (s & PEER_FIN) == 0) {
                s |= DOM0_FIN;
            } else if (fin && !fromDom0) {
                s |= (s & DOM0_FIN) != 0 ? PEER_FIN | TIME_WAIT : PEER_FIN;
            }
            state[i] = (byte) s;
        }
        return control;
    }

    /** The slot of the connection, added when {@code add}; −1 when absent and not added. */
    private int find(long a, int p, boolean add) {
        int i = (int) ((a * 0x9E3779B97F4A7C15L + p * 0x85EBCA6BL) >>> 52) & (SLOTS - 1);
        for (; ports[i] != 0; i = (i + 1) & (SLOTS - 1)) {
            if (ports[i] == p && addrs[i] == a) {
                return i;
            }
        }
        if (!add) {
            return -1;
        }
        if (used >= SLOTS * 3 / 4) {
            java.util.Arrays.fill(ports, 0);
            used = 0;
            clears++;
            return find(a, p, true);
        }
        addrs[i] = a;
        ports[i] = p;
        state[i] = 0;
        used++;
        return i;
    }

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }
}
