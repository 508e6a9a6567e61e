package org.xenids.xen.emu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which guest vif owns an address, as the topology says: vifs numbered in topology order, each
 * with its domain, MAC and IPv4/IPv6 addresses, and the uplink's MAC. {@link Ingress} asks it,
 * per frame, where a capture's frame enters the host and which Ethernet addresses it must carry;
 * lookups allocate nothing.
 */
final class HostAddresses {
    final int[] vifDomid;
    final byte[][] vifMac;
    final byte[] uplinkMac;
    private final int[] ip4;       // sorted IPv4 addresses of guests
    private final int[] ip4Vif;    // vif index of each
    private final byte[][] ip6;
    private final int[] ip6Vif;

    HostAddresses(Topology topology) {
        int vifs = 0;
        for (Topology.Guest g : topology.guests()) {
            vifs += g.vifs().size();
        }
        vifDomid = new int[vifs];
        vifMac = new byte[vifs][];
        List<long[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        List<Integer> v6vif = new ArrayList<>();
        int k = 0;
        for (Topology.Guest g : topology.guests()) {
            for (Topology.Vif v : g.vifs()) {
                vifDomid[k] = g.domid();
                vifMac[k] = mac(v.mac());
                for (String ip : v.ips()) {
                    byte[] a = addr(ip);
                    if (a.length == 4) {
                        v4.add(new long[] {ipv4(a, 0), k});
                    } else {
                        v6.add(a);
                        v6vif.add(k);
                    }
                }
                k++;
            }
        }
        v4.sort((x, y) -> Long.compare(x[0], y[0]));
        ip4 = new int[v4.size()];
        ip4Vif = new int[v4.size()];
        for (int i = 0; i < ip4.length; i++) {
            ip4[i] = (int) v4.get(i)[0];
            ip4Vif[i] = (int) v4.get(i)[1];
        }
        ip6 = v6.toArray(new byte[0][]);
        ip6Vif = v6vif.stream().mapToInt(Integer::intValue).toArray();
        uplinkMac = mac(topology.uplinkMac());
    }

    private int[] dom0Ip4 = new int[0];
    private byte[][] dom0Ip6 = new byte[0][];

    /** dom0's own stack's addresses (replacing any given before). */
    void dom0(List<String> ips) {
        List<Integer> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        for (String ip : ips) {
            byte[] a = addr(ip);
            if (a.length == 4) {
                v4.add(ipv4(a, 0));
            } else {
                v6.add(a);
            }
        }
        dom0Ip4 = v4.stream().mapToInt(Integer::intValue).sorted().toArray();
        dom0Ip6 = v6.toArray(new byte[0][]);
    }

    /** Whether IPv4 address {@code a} is dom0's own. */
    boolean dom0v4(int a) {
        return Arrays.binarySearch(dom0Ip4, a) >= 0;
    }

    /** Whether the IPv6 address at {@code b[at, at+16)} is dom0's own. */
    boolean dom0v6(byte[] b, int at) {
        for (byte[] a : dom0Ip6) {
            if (Arrays.equals(a, 0, 16, b, at, at + 16)) {
                return true;
            }
        }
        return false;
    }

    /** An IPv4 address that never crosses a router: unspecified (0.0.0.0) or link-local (169.254/16). */
    static boolean linkLocal4(int a) {
        return a == 0 || (a >>> 16) == 0xa9fe;
    }

    /** An IPv6 address at {@code b[at, at+16)} that never crosses a router: unspecified (::) or link-local (fe80::/10). */
    static boolean linkLocal6(byte[] b, int at) {
        if ((b[at] & 0xff) == 0xfe && (b[at + 1] & 0xc0) == 0x80) {
            return true;
        }
        for (int i = 0; i < 16; i++) {
            if (b[at + i] != 0) {
                return false;
            }
        }
        return true;
    }

    int vifs() {
        return vifDomid.length;
    }

    /** The vif that owns IPv4 address {@code a}, or −1. */
    int vif4(int a) {
        int i = Arrays.binarySearch(ip4, a);
        return i >= 0 ? ip4Vif[i] : -1;
    }

    /** The vif that owns the IPv6 address at {@code b[at, at+16)}, or −1. */
    int vif6(byte[] b, int at) {
        for (int i = 0; i < ip6.length; i++) {
            if (Arrays.equals(ip6[i], 0, 16, b, at, at + 16)) {
                return ip6Vif[i];
            }
        }
        return -1;
    }

    /** The vif whose MAC is at {@code b[at, at+6)}, or −1. */
    int vifOfMac(byte[] b, int at) {
        for (int i = 0; i < vifMac.length; i++) {
            if (Arrays.equals(vifMac[i], 0, 6, b, at, at + 6)) {
                return i;
            }
        }
        return -1;
    }

    /** The last IPv4 address of {@code vif} in address order (the one it announces), or −1 when it has none. */
    long announcedIp4(int vif) {
        long a = -1;
        for (int i = 0; i < ip4Vif.length; i++) {
            if (ip4Vif[i] == vif) {
                a = Integer.toUnsignedLong(ip4[i]);
            }
        }
        return a;
    }

    static int ipv4(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    static void putIpv4(byte[] b, int at, int a) {
        b[at] = (byte) (a >>> 24);
        b[at + 1] = (byte) (a >>> 16);
        b[at + 2] = (byte) (a >>> 8);
        b[at + 3] = (byte) a;
    }

    static byte[] mac(String s) {
        String[] p = Topology.normalMac(s).split(":");
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) Integer.parseInt(p[i], 16);
        }
        return m;
    }

    static byte[] addr(String ip) {
        try {
            return java.net.InetAddress.getByName(Topology.canonicalIp(ip)).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(ip, e);
        }
    }
}
