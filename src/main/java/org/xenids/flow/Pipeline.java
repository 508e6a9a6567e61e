package org.xenids.flow;

import org.xenids.decode.Decoder;
import org.xenids.decode.Packet;

/**
 * The shared "frame → decode → flow" step for every frame source (capture files, the Xen tap):
 * frames arrive as (buffer, offset, length, timestamp, link type) and leave as a decoded
 * {@link Packet} accounted to its {@link Flow}. Not thread-safe: one pipeline per thread.
 */
public final class Pipeline {
    private final Decoder decoder;
    private final FlowTable table;
    private long frames, frameBytes;
    private Flow lastFlow;

    public Pipeline(Decoder decoder, FlowTable table) {
        this.decoder = decoder;
        this.table = table;
    }

    public Pipeline(FlowConfig cfg, StreamListener listener) {
        this(new Decoder(), new FlowTable(cfg, listener));
    }

    /** Decodes one frame and accounts it; the packet view is valid until the next frame. */
    public Packet frame(byte[] buf, int off, int len, long tsNanos, int linkType) {
        return frame(buf, off, len, tsNanos, linkType, false);
    }

    /**
     * As {@link #frame(byte[], int, int, long, int)}, telling the decoder whether the frame's
     * receiver checks its TCP/UDP checksum ({@link Decoder#decode(byte[], int, int, long, int, boolean)}).
     */
    public Packet frame(byte[] buf, int off, int len, long tsNanos, int linkType, boolean receiverChecksL4) {
        return frame(buf, off, len, tsNanos, linkType, receiverChecksL4, 0);
    }

    /**
     * As {@link #frame(byte[], int, int, long, int, boolean)}, with the frame's fragment
     * reassembly owner ({@link Decoder#decode(byte[], int, int, long, int, boolean, int)}).
     */
    public Packet frame(byte[] buf, int off, int len, long tsNanos, int linkType, boolean receiverChecksL4,
                        int reassemblyOwner) {
        frames++;
        frameBytes += len;
        Packet p = decoder.decode(buf, off, len, tsNanos, linkType, receiverChecksL4, reassemblyOwner);
        lastFlow = table.process(p);
        return p;
    }

    /** The flow of the last frame (null if none); valid until the next frame. */
    public Flow lastFlow() { return lastFlow; }
    /** Direction of the last frame within {@link #lastFlow()}. */
    public boolean lastToServer() { return table.lastToServer(); }

    /** Ends all flows and gives up unfinished fragmented datagrams (counted): call at the end of the input. */
    public void finish() {
        decoder.finish();
        table.finish();
    }

    public Decoder decoder() { return decoder; }
    public FlowTable table() { return table; }
    public long frames() { return frames; }
    public long frameBytes() { return frameBytes; }
}
