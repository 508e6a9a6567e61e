package org.xenids.cli;

import org.xenids.decode.Decoder;
import org.xenids.flow.Pipeline;
import org.xenids.tap.Tap;

/**
 * The tap's frames into the flow stage, as the guests' stacks see them: the receiver's copy of a
 * guest→guest frame is skipped when it holds the bytes the sender's TX held (it went in as that
 * TX; see {@link GuestSent}), a frame delivered to a guest for
 * another host's Ethernet address is counted, not decoded ({@link GuestMacs}), and the rest is
 * decoded with what the ring flags say of its TCP/UDP checksum and reassembled by its own guest's
 * stack ({@link Tap#reassemblyOwner}).
 */
final class GuestFrames implements Tap.CheckedFrameSink {
    private final Pipeline pipeline;
    private final GuestMacs macs = new GuestMacs();
    /** Receivers' copies of guest→guest frames skipped, and frames for other hosts counted. */
    long echoes, forOtherHosts;

    GuestFrames(Pipeline pipeline) {
        this.pipeline = pipeline;
    }

    /** The guests' addresses, as the host's topology names them (see {@link GuestMacs#guests}). */
    GuestFrames guests(org.xenids.xen.emu.Topology topology) {
        java.util.List<String> macs = new java.util.ArrayList<>();
        for (org.xenids.xen.emu.Topology.Guest g : topology.guests()) {
            for (org.xenids.xen.emu.Topology.Vif v : g.vifs()) {
                macs.add(v.mac());
            }
        }
        this.macs.guests(macs);
        return this;
    }

    @Override
    public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peer,
                      boolean l4Checked, long ts) {
        switch (macs.admit(buf, off, len, domid, vif, direction, peer)) {
            case GuestMacs.ECHO -> echoes++;
            case GuestMacs.OTHER_HOST -> forOtherHosts++; // the guest's stack drops it
            default -> pipeline.frame(buf, off, len, ts, Decoder.LINKTYPE_ETHERNET, l4Checked,
                    Tap.reassemblyOwner(domid, direction));
        }
    }
}
