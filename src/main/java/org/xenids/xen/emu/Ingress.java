package org.xenids.xen.emu;

import org.xenids.xen.abi.Xen;

/**
 * Where a capture frame enters the host, and the Ethernet addresses it carries there: the vif of
 * the guest that sends it (else dom0's stack or the uplink), the topology's MACs written over the
 * capture's, and the GSO a super-frame is offered with. This follows from the frame, the topology
 * and dom0's connections alone, not from the host's state, so it is kept apart from
 * {@link TrafficDriver}, which hands the frame to the netfront or bridge named here. The answer is
 * left in fields, to be read before the next frame (nothing is allocated per frame).
 */
final class Ingress {
    private final HostAddresses addresses;
    private final Dom0Tcp dom0Tcp = new Dom0Tcp();
    /** The vif index the frame is sent from, or −1 (dom0's stack or the uplink). */
    int srcVif;
    /** From dom0's own stack; then whether its control socket sends it (checksum in software). */
    boolean fromDom0, controlSocket;
    /** The GSO size and type to offer the frame with; 0 for an ordinary frame. */
    int gso, gsoType;

    Ingress(HostAddresses addresses) {
        this.addresses = addresses;
    }

    /** Decides where {@code buf[0, len)} enters and sets its addresses; {@code mss}: a merged segment's, else 0. */
    void route(byte[] buf, int len, int mss) {
        int l3 = 14;
        int type = u16(buf, 12);
        if (type == 0x8100 && len >= 18) {
            type = u16(buf, 16);
            l3 = 18;
        }
        int srcVif = -1, dstVif = -1;
        // Link-local traffic (ARP, link-local or unspecified IP sources, non-IP frames) never
        // crosses a router, so there a guest's MAC names the guest itself; routed traffic keeps
        // the IP rule, since a guest's MAC may be a gateway's that many outside hosts appear behind.
        boolean localSrc = true, localDst = true, fromDom0 = false, controlSocket = false;
        if (type == 0x0800 && len >= l3 + 20) {
            int src = HostAddresses.ipv4(buf, l3 + 12), dst = HostAddresses.ipv4(buf, l3 + 16);
            srcVif = addresses.vif4(src);
            dstVif = addresses.vif4(dst);
            localSrc = HostAddresses.linkLocal4(src);
            localDst = HostAddresses.linkLocal4(dst);
            fromDom0 = addresses.dom0v4(src);
            int ihl = (buf[l3] & 0x0f) * 4;
            if (buf[l3 + 9] == 6 && ihl >= 20 && len >= l3 + ihl + 14 && (fromDom0 || addresses.dom0v4(dst))) {
                controlSocket = dom0Tcp.segment(buf, l3, fromDom0);
            }
        } else if (type == 0x86dd && len >= l3 + 40) {
            srcVif = addresses.vif6(buf, l3 + 8);
            dstVif = addresses.vif6(buf, l3 + 24);
            localSrc = HostAddresses.linkLocal6(buf, l3 + 8);
            localDst = HostAddresses.linkLocal6(buf, l3 + 24);
            fromDom0 = addresses.dom0v6(buf, l3 + 8);
        } else if (type == 0x0806 && len >= l3 + 28) {
            srcVif = addresses.vif4(HostAddresses.ipv4(buf, l3 + 14));
            dstVif = addresses.vif4(HostAddresses.ipv4(buf, l3 + 24));
        }
        if (srcVif < 0 && localSrc) {
            srcVif = addresses.vifOfMac(buf, 6);
        }
        if (dstVif < 0 && localDst) {
            dstVif = addresses.vifOfMac(buf, 0);
        }
        boolean group = (buf[0] & 1) != 0;
        if (srcVif >= 0) {
            System.arraycopy(addresses.vifMac[srcVif], 0, buf, 6, 6);
        } else if (addresses.vifOfMac(buf, 6) >= 0) {
            System.arraycopy(addresses.uplinkMac, 0, buf, 6, 6);
        }
        if (!group) {
            if (dstVif >= 0) {
                System.arraycopy(addresses.vifMac[dstVif], 0, buf, 0, 6);
            } else if (addresses.vifOfMac(buf, 0) >= 0) {
                System.arraycopy(addresses.uplinkMac, 0, buf, 0, 6);
            }
        }
        int gso = 0, gsoType = 0;
        if (len > 1514 && (type == 0x0800 && buf[l3 + 9] == 6 || type == 0x86dd && buf[l3 + 6] == 6)) {
            gso = mss > 0 ? mss : 1448;
            gsoType = type == 0x0800 ? Xen.XEN_NETIF_GSO_TYPE_TCPV4 : Xen.XEN_NETIF_GSO_TYPE_TCPV6;
        }
        this.srcVif = srcVif;
        this.fromDom0 = fromDom0;
        this.controlSocket = controlSocket;
        this.gso = gso;
        this.gsoType = gsoType;
    }

    private static int u16(byte[] buf, int at) {
        return ((buf[at] & 0xff) << 8) | (buf[at + 1] & 0xff);
    }
}
