package org.xenids.flow;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec):
 * {@code "1:" + base64(sha1(seed16 · addrA · addrB · proto · 0 · portA · portB))}, the endpoints
 * ordered so both directions hash alike; ICMP/ICMPv6 use type and the matching reply type (or
 * code) as ports, and types without a reply are hashed one-way. Addresses are given as two longs
 * (IPv4 as IPv4-mapped, as in {@code Packet}). Not thread-safe (reuses its digest).
 */
public final class CommunityId {
    private final int seed;
    private final MessageDigest sha1;
    private final byte[] in = new byte[2 + 16 + 16 + 2 + 4];

    public CommunityId(int seed) {
        if (seed < 0 || seed > 0xFFFF) throw new IllegalArgumentException("seed must be 0..65535");
        this.seed = seed;
        try {
            sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 missing from this JDK", e);
        }
    }

    public int seed() {
        return seed;
    }

    /** The Community ID of a flow, as its initiator→responder tuple. */
    public String of(Flow f) {
        if (f.protocol() == 1 || f.protocol() == 58) {
            return hash(f.protocol(), f.clientHi, f.clientLo, f.serverHi, f.serverLo, f.icmpType, f.icmpCode);
        }
        return hash(f.protocol(), f.clientHi, f.clientLo, f.serverHi, f.serverLo, f.clientPort, f.serverPort);
    }

    /**
     * The Community ID of one tuple; for ICMP (1) and ICMPv6 (58) the ports are type and code.
     * Protocols without ports (other than ICMP) ignore them.
     */
    public String hash(int proto, long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort) {
        boolean v4 = srcHi == 0 && (srcLo >>> 32) == 0xFFFFL && dstHi == 0 && (dstLo >>> 32) == 0xFFFFL;
        boolean ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
        boolean oneWay = false;
        int sp = srcPort, dp = dstPort;
        if (proto == 1 || proto == 58) {
            int reply = proto == 1 ? icmpReply(srcPort) : icmp6Reply(srcPort);
            if (reply >= 0) dp = reply; else oneWay = true; // dp stays the code
        }
        boolean swap = false;
        if (!oneWay) {
            int c = Long.compareUnsigned(srcHi, dstHi);
            if (c == 0) c = Long.compareUnsigned(srcLo, dstLo);
            swap = c > 0 || (c == 0 && sp > dp);
        }
        int n = 0;
        byte[] b = in;
        b[n++] = (byte) (seed >>> 8);
        b[n++] = (byte) seed;
        n = addr(b, n, swap ? dstHi : srcHi, swap ? dstLo : srcLo, v4);
        n = addr(b, n, swap ? srcHi : dstHi, swap ? srcLo : dstLo, v4);
        b[n++] = (byte) proto;
        b[n++] = 0;
        if (ports) {
            int a = swap ? dp : sp, z = swap ? sp : dp;
            b[n++] = (byte) (a >>> 8);
            b[n++] = (byte) a;
            b[n++] = (byte) (z >>> 8);
            b[n++] = (byte) z;
        }
        sha1.reset();
        sha1.update(b, 0, n);
        return "1:" + Base64.getEncoder().encodeToString(sha1.digest());
    }

    private static int addr(byte[] b, int n, long hi, long lo, boolean v4) {
        if (!v4) {
            for (int i = 7; i >= 0; i--) b[n++] = (byte) (hi >>> (8 * i));
        }
        for (int i = v4 ? 3 : 7; i >= 0; i--) b[n++] = (byte) (lo >>> (8 * i));
        return n;
    }

    /** ICMPv4 request/reply pairs of the spec, or -1 for a one-way type. */
    private static int icmpReply(int type) {
        return switch (type) {
            case 8 -> 0; case 0 -> 8;       // echo
            case 13 -> 14; case 14 -> 13;   // timestamp
            case 15 -> 16; case 16 -> 15;   // information
            case 10 -> 9; case 9 -> 10;     // router solicitation / advertisement
            case 17 -> 18; case 18 -> 17;   // address mask
            default -> -1;
        };
    }

    private static int icmp6Reply(int type) {
        return switch (type) {
            case 128 -> 129; case 129 -> 128; // echo
            case 133 -> 134; case 134 -> 133; // router solicitation / advertisement
            case 135 -> 136; case 136 -> 135; // neighbor solicitation / advertisement
            case 130 -> 131; case 131 -> 130; // multicast listener query / report
            case 139 -> 140; case 140 -> 139; // node information query / response
            case 144 -> 145; case 145 -> 144; // home agent address discovery
            default -> -1;
        };
    }
}
