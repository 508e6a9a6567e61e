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

    /**
     * A segment overlapped bytes held out of order and {@code bytes} of them differ: the bytes
     * held first are kept. The segment starts at {@code streamOffset}. Retransmissions carry the
     * same bytes; different ones mean a sender trying two versions of the stream on the receiver,
     * whose stack may keep the other one (Linux keeps a later segment that covers an earlier one).
     */
    default void overlapDiffers(Flow flow, boolean toServer, long streamOffset, long bytes) {}

    /**
     * A later copy of {@code bytes} delivered bytes at {@code streamOffset} came, which its
     * receiver had not acknowledged, and could not be compared with them: no buffer was free to
     * keep them in ({@link FlowTable#unkeptBytes()}). Retransmissions are rare; a sender who first
     * spends the buffers may be sending a second version of the stream. Also when a new connection
     * takes the flow's 5-tuple while such bytes are unacknowledged: the close before it may be one
     * the receiver ignored, and a copy of them would come in the new flow.
     */
    default void copyNotCompared(Flow flow, boolean toServer, long streamOffset, long bytes) {}

    /**
     * A packet of this flow that its receiver's stack drops, so it fed nothing ({@code event}: the
     * decoder's name for why, as {@code tcp.checksum_bad}, or the flow stage's,
     * {@code stream.pkt_invalid_timestamp} for PAWS, {@code stream.pkt_signature_unexpected}). A
     * sender who sends such packets inside a connection may be showing a detector bytes its target
     * never takes.
     */
    default void refused(Flow flow, boolean toServer, String event) {}

    /**
     * The byte at {@code streamOffset} of one direction is one its receiver takes as urgent data
     * (its sender's urgent pointer marks it). With {@link FlowConfig.UrgentPolicy#OUT_OF_BAND}
     * ({@code outOfBand}) it was not delivered, as the receiving application does not read it in
     * line, and the stream's next bytes follow at {@code streamOffset + 1}. Rare in real traffic;
     * a sender may use it to put bytes before a detector that its target's application skips, or,
     * against the other policy, the other way round.
     */
    default void urgentByte(Flow flow, boolean toServer, long streamOffset, boolean outOfBand) {}

    /** The flow ended ({@link Flow#endReason()}); its record is final. */
    default void flowEnd(Flow flow) {}
}
