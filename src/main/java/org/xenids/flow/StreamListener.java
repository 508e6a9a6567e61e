package org.xenids.flow;

/**
 * Receives what the flow table learns, in order: TCP payload reassembled per direction (and
 * UDP datagram payloads), gaps where bytes are known to be missing, and each flow's end.
 * Arrays and the {@link Flow} view are valid only during the call; copy what you keep.
 */
public interface StreamListener {
    /** A listener that ignores everything. */
    StreamListener NONE = new StreamListener() {};

    /**
     * {@code len} bytes of one direction's payload at {@code streamOffset} (bytes of that
     * direction delivered before, gaps included), in order and without duplicates.
     */
    default void payload(Flow flow, boolean toServer, byte[] buf, int off, int len, long streamOffset) {}

    /** {@code length} bytes at {@code streamOffset} of one direction are missing and were skipped. */
    default void gap(Flow flow, boolean toServer, long streamOffset, long length) {}

    /** The flow ended ({@link Flow#endReason()}); its record is final. */
    default void flowEnd(Flow flow) {}
}
