package org.xenids.alert;

/**
 * The network side of an event: addresses, ports and transport, as EVE names them. Ports are
 * -1 when the protocol has none (ICMP, ARP); then they are left out of the record.
 */
public record Endpoints(String srcIp, int srcPort, String destIp, int destPort, String proto) {
    public Endpoints {
        if (srcIp == null || destIp == null || proto == null) {
            throw new IllegalArgumentException("endpoints need addresses and a protocol");
        }
    }

    /** The same endpoints seen from the other side. */
    public Endpoints reversed() {
        return new Endpoints(destIp, destPort, srcIp, srcPort, proto);
    }
}
