package org.xenids.xen.emu;

/** Receives whole Ethernet frames (a guest's network stack, or the host's uplink). */
@FunctionalInterface
public interface FrameSink {
    /** {@code buf[0..len)} is the frame; valid only during the call. */
    void frame(byte[] buf, int len);
}
