package org.xenids.xen.emu;

/**
 * A packet inside dom0 (Linux's sk_buff as netback and the bridge use it): a linear head in a
 * dom0 frame plus fragments that are either dom0 pages or a guest's pages mapped by netback
 * (with the granting domain and grant ref, so a later RX copy can name them as Linux does).
 * Reference-counted: the owner's release runs when the last holder puts it.
 */
class Skb {
    static final int MAX_FRAGS = 18;

    static final int PAGE = 4096;

    final Frames frames;
    long headFrame;
    /** The frame holding the head's bytes past the end of headFrame's page (a two-page head), or 0. */
    long headFrame2;
    /** Where the head starts in headFrame; headOff + headLen may pass the page only into headFrame2. */
    int headOff, headLen;
    int nfrags;
    final int[] fragDomid = new int[MAX_FRAGS];
    final int[] fragGref = new int[MAX_FRAGS];
    final long[] fragFrame = new long[MAX_FRAGS];
    final int[] fragOff = new int[MAX_FRAGS];
    final int[] fragLen = new int[MAX_FRAGS];
    int gsoSize, gsoType;
    /** Linux's {@code ip_summed}: a {@link Checksum} state, which netback's RX turns into response flags. */
    int ipSummed;
    int users;
    /** Called when the last user puts the skb (netback's zero-copy completion, or a pool return). */
    Runnable release;

    Skb(Frames frames) {
        this.frames = frames;
    }

    void reset() {
        headFrame = headFrame2 = 0;
        headOff = headLen = nfrags = gsoSize = gsoType = 0;
        ipSummed = Checksum.NONE;
        users = 1;
    }

    void addFrag(int domid, int gref, long frame, int off, int len) {
        fragDomid[nfrags] = domid;
        fragGref[nfrags] = gref;
        fragFrame[nfrags] = frame;
        fragOff[nfrags] = off;
        fragLen[nfrags] = len;
        nfrags++;
    }

    int len() {
        int n = headLen;
        for (int i = 0; i < nfrags; i++) {
            n += fragLen[i];
        }
        return n;
    }

    /** Copies the packet's bytes into {@code out} (dom0 reading its own and mapped pages); returns the length. */
    int copyTo(java.lang.foreign.MemorySegment o) {
        int first = Math.min(headLen, PAGE - headOff);
        java.lang.foreign.MemorySegment.copy(frames.page(headFrame), headOff, o, 0, first);
        if (first < headLen) {
            java.lang.foreign.MemorySegment.copy(frames.page(headFrame2), 0, o, first, headLen - first);
        }
        int n = headLen;
        for (int i = 0; i < nfrags; i++) {
            java.lang.foreign.MemorySegment.copy(frames.page(fragFrame[i]), fragOff[i], o, n, fragLen[i]);
            n += fragLen[i];
        }
        return n;
    }

    byte byteAt(int pos) {
        if (pos < headLen) {
            int at = headOff + pos;
            return frames.page(headFrameAt(at)).get(java.lang.foreign.ValueLayout.JAVA_BYTE, at & (PAGE - 1));
        }
        pos -= headLen;
        for (int i = 0; i < nfrags; i++) {
            if (pos < fragLen[i]) {
                return frames.page(fragFrame[i]).get(java.lang.foreign.ValueLayout.JAVA_BYTE, fragOff[i] + pos);
            }
            pos -= fragLen[i];
        }
        throw new IndexOutOfBoundsException(pos);
    }

    /** The frame holding the head's byte at {@code at} bytes from the start of headFrame's page. */
    long headFrameAt(int at) {
        return at < PAGE ? headFrame : headFrame2;
    }

    void get() {
        users++;
    }

    void put() {
        if (--users == 0 && release != null) {
            release.run();
        }
    }
}
