package org.xenids.detect.payl;

import org.xenids.detect.Direction;

/**
 * Which payloads a model covers: VM image, direction, transport and service port ({@code -1} =
 * every port of the image), payload lengths {@code lenLo..lenHi} inclusive. Printed as e.g.
 * {@code web/to_server/tcp/80/len:256-383}, or {@code web/to_server/any/len:all}.
 */
public record ModelKey(String image, Direction direction, int ipProto, int port, int lenLo, int lenHi) {
    public ModelKey {
        if (image == null || direction == null || lenLo < 1 || lenHi < lenLo || port < -1 || port > 65535) {
            throw new IllegalArgumentException("bad model key: " + image + " " + direction + " " + port
                    + " " + lenLo + "-" + lenHi);
        }
    }

    public boolean allLengths() {
        return lenLo == 1 && lenHi == Integer.MAX_VALUE;
    }

    @Override
    public String toString() {
        String svc = port < 0 ? "any"
                : (ipProto == 6 ? "tcp" : ipProto == 17 ? "udp" : Integer.toString(ipProto)) + "/" + port;
        String len = allLengths() ? "all" : lenLo + "-" + (lenHi == Integer.MAX_VALUE ? "" : Integer.toString(lenHi));
        return image + "/" + direction.label() + "/" + svc + "/len:" + len;
    }
}
