package org.xenids.cli;

import java.util.Arrays;
import org.xenids.tap.Tap;

/**
 * The Ethernet addresses each guest vif sends from, learned from the frames the tap rebuilt from
 * its TX ring: the addresses its stack takes frames for. A frame delivered to a vif for another
 * unicast address (the bridge floods a frame for an address it has not learned to every port, and
 * a sender can address a frame so on purpose) is one the guest's stack drops (Linux's
 * PACKET_OTHERHOST, dropped in ip_rcv), so it must not stand in for the frames the guest takes,
 * nor be counted again for every guest the flood reached. A vif that has sent nothing yet, or from
 * more than {@value #MAX} addresses (a bridge inside the guest), is not judged. Addresses are
 * learned only from a vif's own TX, which only its guest writes.
 */
final class GuestMacs {
    /** What {@link #admit} says of a frame. */
    static final int DECODE = 0, ECHO = 1, OTHER_HOST = 2;
    private static final int MAX = 8;
    /** By domid·16 + vif: [count, mac…]; count MAX+1 means too many to judge. */
    private long[][] byVif = new long[64][];
    /** The guests' addresses, as the topology names them; what guests sent, to compare their RX copies with. */
    private final MacSet guestMacs = new MacSet();
    private final GuestSent sent = new GuestSent();
    /** The guests' addresses are known (the topology's): only frames to them or to groups are kept. */
    private boolean fixedGuests;

    /**
     * The guests' addresses, when the host's topology names them: only frames to them or to a
     * group are then kept for comparing with RX copies. Without them every frame a guest sends is
     * kept: a guest that has not sent yet has no address the tap knows, and learning addresses
     * from what guests send would let one sending from the gateway's address make every frame to
     * the gateway one to keep anyway.
     */
    void guests(java.util.Collection<String> macs) {
        fixedGuests = true;
        for (String m : macs) {
            guestMacs.add(Long.parseLong(m.replaceAll("[^0-9A-Fa-f]", ""), 16));
        }
    }

    /**
     * What to do with a frame the tap rebuilt: {@link #ECHO} for the receiver's copy of a
     * guest→guest frame holding the bytes the sender's TX held (that TX went into the flows), {@link #OTHER_HOST} for one
     * delivered to a guest for another address (its stack drops it), else {@link #DECODE}; a TX
     * frame teaches its vif's address.
     */
    int admit(byte[] b, int off, int len, int domid, int vif, int direction, int peer) {
        if (direction == Tap.RX && peer >= 0 && len >= 14 && sent.isCopy(peer, b, off, len, (b[off] & 1) != 0)) {
            return ECHO;
        }
        if (direction == Tap.TX) {
            learn(domid, vif, b, off, len);
            if (len >= 14 && (!fixedGuests || (b[off] & 1) != 0 || guestMacs.contains(mac(b, off)))) {
                sent.sent(domid, b, off, len); // maybe to a guest, or to a group: its RX copy is compared with it
            }
            return DECODE;
        }
        return elsewhere(domid, vif, b, off, len) ? OTHER_HOST : DECODE;
    }

    void learn(int domid, int vif, byte[] b, int off, int len) {
        if (len < 14 || (b[off + 6] & 1) != 0 || vif < 0 || vif >= 16) {
            return; // a group address is no source
        }
        int k = domid * 16 + vif;
        if (k >= byVif.length) {
            byVif = Arrays.copyOf(byVif, Math.max(k + 1, byVif.length * 2));
        }
        long[] m = byVif[k] == null ? (byVif[k] = new long[MAX + 1]) : byVif[k];
        long mac = mac(b, off + 6);
        int n = (int) m[0];
        for (int i = 1; i <= Math.min(n, MAX); i++) {
            if (m[i] == mac) {
                return;
            }
        }
        if (n < MAX) {
            m[n + 1] = mac;
        }
        m[0] = Math.min(n + 1, MAX + 1);
    }

    /** Whether a frame delivered to this vif is addressed to another unicast address than any it sends from. */
    boolean elsewhere(int domid, int vif, byte[] b, int off, int len) {
        int k = domid * 16 + vif;
        if (len < 14 || (b[off] & 1) != 0 || vif < 0 || vif >= 16 || k >= byVif.length || byVif[k] == null) {
            return false;
        }
        long[] m = byVif[k];
        if (m[0] == 0 || m[0] > MAX) {
            return false;
        }
        long mac = mac(b, off);
        for (int i = 1; i <= m[0]; i++) {
            if (m[i] == mac) {
                return false;
            }
        }
        return true;
    }

    /** A set of 48-bit addresses (open addressing; −1 is empty). */
    private static final class MacSet {
        private long[] table = new long[64];
        private int size;

        MacSet() {
            Arrays.fill(table, -1);
        }

        boolean contains(long mac) {
            for (int i = slot(mac, table.length); ; i = (i + 1) & (table.length - 1)) {
                if (table[i] == mac) return true;
                if (table[i] == -1) return false;
            }
        }

        void add(long mac) {
            if (contains(mac)) return;
            if (2 * (size + 1) > table.length) {
                long[] old = table;
                table = new long[old.length * 2];
                Arrays.fill(table, -1);
                size = 0;
                for (long m : old) {
                    if (m != -1) add(m);
                }
            }
            int i = slot(mac, table.length);
            while (table[i] != -1) i = (i + 1) & (table.length - 1);
            table[i] = mac;
            size++;
        }

        private static int slot(long mac, int n) {
            return (int) ((mac * 0x9E3779B97F4A7C15L) >>> 40) & (n - 1);
        }
    }

    private static long mac(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = v << 8 | (b[at + i] & 0xFF);
        }
        return v;
    }
}
