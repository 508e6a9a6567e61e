package org.xenids.cli;

import java.util.Arrays;

/**
 * The frames guests sent to other guests, as the tap rebuilt them from the senders' TX, kept so
 * that a receiver's RX copy is skipped as the same frame only when it holds the same bytes. The
 * tap names the sender of an RX frame whose every chunk came from that guest, but a sender can
 * rewrite its own granted page between netback's TX map (when the tap read it) and the RX copy
 * out of it: the receiver then gets bytes nobody inspected, which must be decoded as its own.
 * Frames are kept in a bounded ring of bytes (with the topology's addresses, only those to a
 * guest or a group; see {@link GuestMacs#guests}): a frame pushed out before its copy arrives is
 * decoded again, counted twice at worst, never skipped unseen.
 */
final class GuestSent {
    private static final int BYTES = 4 << 20, FRAMES = 4096;
    /** Kept frames looked at, and compared, for one copy. */
    private static final int LOOK = 1024, COMPARED = 8;
    private final byte[] ring = new byte[BYTES];
    /** Absolute write position: the bytes of [pos − BYTES, pos) are still in the ring. */
    private long pos;
    private final long[] at = new long[FRAMES];
    private final int[] length = new int[FRAMES];
    private final int[] sender = new int[FRAMES];
    private int next;

    /** Guest {@code domid} sent {@code b[off, off+len)} towards other guests. */
    void sent(int domid, byte[] b, int off, int len) {
        if (len > BYTES / 4) {
            return; // not kept: its copy is decoded again
        }
        int start = (int) (pos % BYTES);
        if (start + len > BYTES) {
            pos += BYTES - start; // kept whole: from the ring's start
            start = 0;
        }
        System.arraycopy(b, off, ring, start, len);
        int e = next++ & (FRAMES - 1);
        at[e] = pos;
        length[e] = len;
        sender[e] = domid;
        pos += len;
    }

    /**
     * Whether {@code b[off, off+len)} is a frame {@code domid} sent that is still kept, byte for
     * byte. A frame to one guest is taken by its copy (so a sender cannot have a later frame's
     * copy pass as this one's); one to a group stays for every guest it reaches. The look is
     * bounded: the most recent frames only, a few compared (a sender filling the ring with frames
     * alike gets its copies decoded again, not the tap slowed).
     */
    boolean isCopy(int domid, byte[] b, int off, int len, boolean group) {
        int compared = 0;
        for (int k = 1; k <= LOOK && k <= next; k++) {
            int e = (next - k) & (FRAMES - 1);
            if (pos - at[e] > BYTES) {
                return false; // older ones are overwritten too
            }
            if (sender[e] == domid && length[e] == len) {
                int s = (int) (at[e] % BYTES);
                if (Arrays.equals(ring, s, s + len, b, off, off + len)) {
                    if (!group) {
                        sender[e] = -1; // taken
                    }
                    return true;
                }
                if (++compared == COMPARED) {
                    return false;
                }
            }
        }
        return false;
    }
}
