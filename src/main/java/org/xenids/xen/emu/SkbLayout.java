package org.xenids.xen.emu;

/**
 * Where a Linux guest's sk_buff puts a frame's bytes before netfront grants them, as TX slots
 * (offset in a page, size): the pages and offsets the real trace shows, so the emulated ring
 * carries the same slot shapes as a real one.
 */
final class SkbLayout {
    private static final int PAGE = 4096;

    /** The slots of the last layout: offset in its page and size. */
    final int[] slotOff = new int[20];
    final int[] slotSize = new int[20];
    private int txCounter;
    /** Running offset of the per-socket page fragment TCP payload is written from (32 KiB). */
    private int fragOffset;

    /**
     * Where Linux's skb puts the bytes, as slots (offset, size): a TCP segment with payload has
     * its headers in the linear area (1 KiB slab objects, data at +254) and the payload in page
     * fragments that advance through a 32 KiB page_frag (the real trace: 66 header bytes at 3326,
     * payload at 0, then 2896 = 2 × 1448); anything else is linear (512-byte objects, data at
     * NET_IP_ALIGN). Every piece is split at 4 KiB page boundaries. Returns the number of slots.
     */
    int layout(byte[] f, int off, int len) {
        int hdr = tcpHeaderEnd(f, off, len);
        int n = 0;
        if (hdr > 0 && hdr < len) {
            slotOff[n] = 254 + 1024 * (txCounter++ & 3);
            slotSize[n++] = hdr;
            int rem = len - hdr;
            if (fragOffset + rem > 32768) {
                fragOffset = 0;
            }
            while (rem > 0) {
                int o = fragOffset & (PAGE - 1);
                int piece = Math.min(rem, PAGE - o);
                slotOff[n] = o;
                slotSize[n++] = piece;
                fragOffset += piece;
                rem -= piece;
            }
        } else {
            int o = 2 + 512 * (txCounter++ & 7);
            int done = 0;
            while (done < len) {
                int piece = Math.min(len - done, PAGE - o);
                slotOff[n] = o;
                slotSize[n++] = piece;
                done += piece;
                o = 0;
            }
        }
        return n;
    }

    /** End of the TCP header of an Ethernet/IPv4 or IPv6 TCP frame, or 0 when it is not one. */
    private static int tcpHeaderEnd(byte[] f, int off, int len) {
        if (len < 14 + 40) {
            return 0;
        }
        int type = ((f[off + 12] & 0xff) << 8) | (f[off + 13] & 0xff);
        int l4;
        if (type == 0x0800 && (f[off + 14] & 0xf0) == 0x40 && f[off + 23] == 6) {
            l4 = 14 + (f[off + 14] & 0x0f) * 4;
        } else if (type == 0x86dd && f[off + 20] == 6) {
            l4 = 14 + 40;
        } else {
            return 0;
        }
        if (l4 + 20 > len) {
            return 0;
        }
        int end = l4 + ((f[off + l4 + 12] & 0xf0) >> 4) * 4;
        return end >= l4 + 20 && end <= len ? end : 0;
    }
}
