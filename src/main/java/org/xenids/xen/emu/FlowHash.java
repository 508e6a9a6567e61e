package org.xenids.xen.emu;

/**
 * Linux's software flow hash ({@code skb_get_hash} of a packet without a hash yet): the flow
 * dissector's keys — ethertype, IP protocol, IPv6 flow label, ports, addresses — made the same
 * for both directions ({@code __flow_hash_consistentify}), then SipHash-2-4 under the kernel's
 * per-boot random key ({@code hashrnd}); 0 becomes 1. Each emulated kernel has its own key, so,
 * as on real hosts, which queue a flow takes is stable for the flow but differs between boots.
 * Fragments carry no ports, and an IPv6 packet with a flow label stops at the label
 * (FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL), as in the kernel. The keys are hashed in a packed
 * layout of the same fields, not the kernel struct's padding: the key is random anyway.
 *
 * <p>Reads at most the first {@link #HEADER} bytes of a frame; allocates nothing per packet.
 */
final class FlowHash {
    /** Bytes of a frame the dissector looks at (Ethernet, VLAN, IPv6 with extension headers, ports). */
    static final int HEADER = 128;

    private final long k0, k1;
    private final byte[] m = new byte[48];

    FlowHash(long k0, long k1) {
        this.k0 = k0;
        this.k1 = k1;
    }

    /** A kernel's key derived from a boot number (the emulator is deterministic). */
    static FlowHash forBoot(long boot) {
        return new FlowHash(mix(boot * 0x9E3779B97F4A7C15L + 1), mix(boot * 0xC2B2AE3D27D4EB4FL + 2));
    }

    /** Linux's reciprocal_scale: {@code hash} scaled into 0..n−1 (skb_tx_hash's pick). */
    static int reciprocalScale(int hash, int n) {
        return (int) (((hash & 0xffffffffL) * n) >>> 32);
    }

    /** The flow hash of frame {@code f[off, off+len)} (never 0). */
    int hash(byte[] f, int off, int len) {
        java.util.Arrays.fill(m, (byte) 0);
        int n = Math.min(len, HEADER);
        int proto = n >= 14 ? u16(f, off + 12) : 0;
        int l3 = 14;
        while ((proto == 0x8100 || proto == 0x88a8) && l3 + 4 <= n) {
            proto = u16(f, off + l3 + 2);
            l3 += 4;
        }
        // m: n_proto u16 @0, ip_proto u8 @2, flow label u32 @4, ports @8 (src, dst), addrs @12.
        m[0] = (byte) (proto >>> 8);
        m[1] = (byte) proto;
        int used = 4;
        int l4 = -1, ipProto = 0, addrLen = 0;
        if (proto == 0x0800 && l3 + 20 <= n && (f[off + l3] & 0xf0) == 0x40) {
            int ihl = (f[off + l3] & 0x0f) * 4;
            ipProto = f[off + l3 + 9] & 0xff;
            System.arraycopy(f, off + l3 + 12, m, 12, 8);
            addrLen = 4;
            boolean frag = (u16(f, off + l3 + 6) & 0x3fff) != 0; // MF or an offset
            if (!frag && ihl >= 20) {
                l4 = l3 + ihl;
            }
        } else if (proto == 0x86dd && l3 + 40 <= n && (f[off + l3] & 0xf0) == 0x60) {
            ipProto = f[off + l3 + 6] & 0xff;
            System.arraycopy(f, off + l3 + 8, m, 12, 32);
            addrLen = 16;
            int label = ((f[off + l3 + 1] & 0x0f) << 16) | u16(f, off + l3 + 2);
            if (label != 0) {
                putInt(m, 4, label);
            } else {
                l4 = l3 + 40;
                // Hop-by-hop, routing, destination options; a fragment header ends the look (no ports).
                for (int k = 0; k < 8 && l4 >= 0; k++) {
                    if ((ipProto == 0 || ipProto == 43 || ipProto == 60) && l4 + 8 <= n) {
                        int next = f[off + l4] & 0xff;
                        l4 += 8 + (f[off + l4 + 1] & 0xff) * 8;
                        ipProto = next;
                    } else if (ipProto == 44) {
                        ipProto = l4 + 8 <= n ? f[off + l4] & 0xff : ipProto;
                        l4 = -1;
                    } else {
                        break;
                    }
                }
            }
        }
        m[2] = (byte) ipProto;
        if (l4 >= 0 && l4 + 4 <= n && (ipProto == 6 || ipProto == 17 || ipProto == 33 || ipProto == 132
                || ipProto == 136)) {
            System.arraycopy(f, off + l4, m, 8, 4);
        }
        if (addrLen > 0) {
            consistentify(addrLen);
            used = 12 + 2 * addrLen;
        } else {
            used = 12;
        }
        int h = (int) sip(m, used);
        return h == 0 ? 1 : h;
    }

    /** Both directions of a flow hash alike: the smaller address (as the kernel compares them) first, ports likewise. */
    private void consistentify(int addrLen) {
        boolean swap;
        if (addrLen == 4) {
            swap = Integer.compareUnsigned(le32(m, 16), le32(m, 12)) < 0;
        } else {
            swap = java.util.Arrays.compareUnsigned(m, 28, 44, m, 12, 28) < 0;
        }
        if (swap) {
            for (int i = 0; i < addrLen; i++) {
                byte t = m[12 + i];
                m[12 + i] = m[12 + addrLen + i];
                m[12 + addrLen + i] = t;
            }
        }
        int src = (m[8] & 0xff) | (m[9] & 0xff) << 8;   // ports compared as the u16 the kernel loads
        int dst = (m[10] & 0xff) | (m[11] & 0xff) << 8;
        if (dst < src) {
            byte a = m[8], b = m[9];
            m[8] = m[10];
            m[9] = m[11];
            m[10] = a;
            m[11] = b;
        }
    }

    /** SipHash-2-4 of {@code b[0, len)}. */
    long sip(byte[] b, int len) {
        long v0 = k0 ^ 0x736f6d6570736575L, v1 = k1 ^ 0x646f72616e646f6dL;
        long v2 = k0 ^ 0x6c7967656e657261L, v3 = k1 ^ 0x7465646279746573L;
        int end = len & ~7;
        for (int i = 0; i <= end; i += 8) {
            long w;
            if (i < end) {
                w = le64(b, i);
            } else {
                w = (long) len << 56;
                for (int j = 0; j < (len & 7); j++) {
                    w |= (b[i + j] & 0xffL) << (8 * j);
                }
            }
            v3 ^= w;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= w;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    private static long le64(byte[] b, int at) {
        return (le32(b, at) & 0xffffffffL) | ((long) le32(b, at + 4) << 32);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
