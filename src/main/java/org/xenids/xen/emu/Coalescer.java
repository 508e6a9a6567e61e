package org.xenids.xen.emu;

/**
 * What GRO/TSO make of a TCP stream: back-to-back IPv4 TCP segments of one direction (same
 * addresses, ports, header sizes and flags ACK, the last may add PSH; sequence numbers contiguous)
 * merged into one super-frame of at most {@code max} bytes, carried through the rings as GSO with
 * the first segment's payload size. The IPv4 total length and header checksum are rewritten; the
 * TCP checksum is left for the receiver to compute, as with CHECKSUM_PARTIAL.
 */
final class Coalescer {
    private final int max;
    private final byte[] pend = new byte[65535 + 64];
    private int pendLen, pendMss;
    private boolean pendOpen;
    /** Frames to inject after {@link #offer}: up to two, in order. */
    final byte[][] out = {new byte[65535 + 64], new byte[65535 + 64]};
    final int[] outLen = new int[2];
    final int[] outMss = new int[2];
    long merged;

    Coalescer(int max) {
        if (max < 1514 || max > 65535) {
            throw new IllegalArgumentException("coalesce limit " + max + " outside 1514..65535");
        }
        this.max = max;
    }

    /** Takes one frame; returns how many frames of {@link #out} are ready. */
    int offer(byte[] f, int len) {
        int n = 0;
        if (pendLen > 0) {
            if (pendOpen && extends_(f, len)) {
                append(f, len);
                return 0;
            }
            n = emitPending(0);
        }
        if (candidate(f, len)) {
            System.arraycopy(f, 0, pend, 0, len);
            pendLen = len;
            pendMss = payload(f, len);
            pendOpen = (f[47] & 0xff) == 0x10;
            return n;
        }
        System.arraycopy(f, 0, out[n], 0, len);
        outLen[n] = len;
        outMss[n] = 0;
        return n + 1;
    }

    /** The frame held back, if any; returns how many frames of {@link #out} are ready. */
    int flush() {
        return pendLen > 0 ? emitPending(0) : 0;
    }

    private int emitPending(int slot) {
        System.arraycopy(pend, 0, out[slot], 0, pendLen);
        outLen[slot] = pendLen;
        outMss[slot] = pendLen > 1514 ? pendMss : 0;
        pendLen = 0;
        return slot + 1;
    }

    /** Plain Ethernet + IPv4 (no options, not fragmented) + TCP with ACK (and maybe PSH) and data. */
    private static boolean candidate(byte[] f, int len) {
        if (len < 55 || f[12] != 0x08 || f[13] != 0x00 || (f[14] & 0xff) != 0x45 || f[23] != 6) {
            return false;
        }
        if ((f[20] & 0x3f) != 0 || f[21] != 0 || ipLen(f) + 14 != len || tcpHeader(f) < 20) {
            return false;
        }
        int flags = f[47] & 0xff;
        return (flags == 0x10 || flags == 0x18) && payload(f, len) > 0;
    }

    private boolean extends_(byte[] f, int len) {
        if (!candidate(f, len) || pendLen + payload(f, len) > max) {
            return false;
        }
        for (int i = 26; i < 38; i++) { // addresses and ports
            if (f[i] != pend[i]) {
                return false;
            }
        }
        if (f[46] != pend[46] || f[14] != pend[14]) {
            return false;
        }
        long pendSeq = u32(pend, 38);
        return u32(f, 38) == ((pendSeq + payload(pend, pendLen)) & 0xffffffffL);
    }

    private void append(byte[] f, int len) {
        int hdr = 14 + 20 + tcpHeader(f);
        int add = len - hdr;
        System.arraycopy(f, hdr, pend, pendLen, add);
        pendLen += add;
        int ipLen = pendLen - 14;
        pend[16] = (byte) (ipLen >>> 8);
        pend[17] = (byte) ipLen;
        pend[47] = f[47]; // PSH of the last segment
        pendOpen = (f[47] & 0xff) == 0x10;
        pend[24] = 0;
        pend[25] = 0;
        int sum = 0;
        for (int i = 14; i < 34; i += 2) {
            sum += ((pend[i] & 0xff) << 8) | (pend[i + 1] & 0xff);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        sum = ~sum & 0xffff;
        pend[24] = (byte) (sum >>> 8);
        pend[25] = (byte) sum;
        merged++;
    }

    private static int ipLen(byte[] f) {
        return ((f[16] & 0xff) << 8) | (f[17] & 0xff);
    }

    private static int tcpHeader(byte[] f) {
        return ((f[46] & 0xff) >>> 4) * 4;
    }

    private static int payload(byte[] f, int len) {
        return len - 14 - 20 - tcpHeader(f);
    }

    private static long u32(byte[] f, int at) {
        return ((f[at] & 0xffL) << 24) | ((f[at + 1] & 0xff) << 16) | ((f[at + 2] & 0xff) << 8) | (f[at + 3] & 0xff);
    }
}
