package org.xenids.detect;

/**
 * What a payload is scored as: the VM image its guest runs, the direction, the transport
 * ({@code 6} TCP, {@code 17} UDP) and the service port (the server's port, for both directions).
 * Made once per flow direction, not per packet.
 */
public record Subject(String image, Direction direction, int ipProto, int servicePort) {
    public static final int TCP = 6;
    public static final int UDP = 17;

    public Subject {
        if (image == null || image.isEmpty() || image.length() > 255) {
            throw new IllegalArgumentException("a VM image name (1-255 chars) is required");
        }
        if (direction == null) {
            throw new IllegalArgumentException("a direction is required");
        }
        if (ipProto < 0 || ipProto > 255) {
            throw new IllegalArgumentException("IP protocol out of range: " + ipProto);
        }
        if (servicePort < 0 || servicePort > 65535) {
            throw new IllegalArgumentException("service port out of range: " + servicePort);
        }
    }

    /** Short transport name: tcp, udp, or the protocol number. */
    public String transport() {
        return ipProto == TCP ? "tcp" : ipProto == UDP ? "udp" : Integer.toString(ipProto);
    }
}
