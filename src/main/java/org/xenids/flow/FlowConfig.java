package org.xenids.flow;

/**
 * Flow table settings. Times are nanoseconds. The defaults follow the label definition of the dev
 * captures: a flow ends after 120 s without packets, and a new TCP connection on the same
 * 5-tuple (a SYN with a new initial sequence number) starts a new flow.
 *
 * @param maxFlows          hard bound of flows held at once; when full the least recently
 *                          active flow is ended early (reason "forced", counted as eviction)
 * @param newTimeout        idle time after which a flow that has not completed a handshake
 *                          (TCP) or not seen a reply (UDP, other) ends
 * @param establishedTimeout idle timeout of established flows
 * @param closedTimeout     idle timeout of TCP flows after FIN from both sides or RST
 * @param split             when a TCP SYN on an existing 5-tuple starts a new flow
 * @param depth             payload bytes of each TCP stream direction delivered (-1: unlimited; 0:
 *                          no payload at all, UDP included); UDP datagrams are delivered whole
 * @param maxPendingBytes   out-of-order bytes buffered per direction (a power of two)
 * @param maxBufferedBytes  out-of-order bytes buffered in the whole table
 * @param communityIdSeed   seed of the Community ID hash (0..65535)
 * @param urgent            what becomes of a TCP stream's urgent bytes
 */
public record FlowConfig(int maxFlows, long newTimeout, long establishedTimeout, long closedTimeout,
                         SplitPolicy split, long depth, int maxPendingBytes, long maxBufferedBytes,
                         int communityIdSeed, UrgentPolicy urgent) {
    private static final long S = 1_000_000_000L;

    /** When a TCP SYN (without ACK) on a known 5-tuple ends the flow and starts a new one. */
    public enum SplitPolicy {
        /** Its sequence number differs from the first one seen from that side (Wireshark's tcp.stream). */
        NEW_ISN,
        /** The flow has seen FIN or RST (the label CSV's wording). */
        AFTER_CLOSE,
        /**
         * Either of the above, except that a new sequence number does not end a connection whose
         * handshake completed and that is not closed: the receiver's stack ignores such a SYN
         * (it answers with a challenge ACK, RFC 5961), while a flow restarted at a sequence number
         * of the sender's choosing would take the real bytes after it for old ones. The policy
         * for detection.
         */
        NEW_ISN_OR_AFTER_CLOSE
    }

    /**
     * What a TCP receiver's application reads of a byte its sender marked urgent (the byte before
     * the urgent pointer, RFC 6093). Linux, like BSD, takes it out of the stream unless the socket
     * has SO_OOBINLINE, which few applications set.
     */
    public enum UrgentPolicy {
        /**
         * Taken out, as Linux's {@code tcp_recvmsg} skips it for an application that reads as data
         * comes (one that reads later finds an earlier urgent byte in line once a newer pointer
         * replaced it: Linux keeps one urgent byte per socket).
         */
        OUT_OF_BAND,
        /** Left in the stream, as an application with SO_OOBINLINE reads it. */
        INLINE
    }

    public FlowConfig {
        if (maxFlows < 1) throw new IllegalArgumentException("maxFlows must be >= 1");
        if (newTimeout <= 0 || establishedTimeout <= 0 || closedTimeout <= 0) {
            throw new IllegalArgumentException("timeouts must be > 0");
        }
        if (split == null) throw new IllegalArgumentException("split policy missing");
        if (urgent == null) throw new IllegalArgumentException("urgent policy missing");
        if (maxPendingBytes < 1024 || Integer.bitCount(maxPendingBytes) != 1) {
            throw new IllegalArgumentException("maxPendingBytes must be a power of two >= 1024");
        }
        if (communityIdSeed < 0 || communityIdSeed > 0xFFFF) {
            throw new IllegalArgumentException("Community ID seed must be 0..65535");
        }
    }

    public static FlowConfig defaults() {
        return new FlowConfig(1 << 18, 120 * S, 120 * S, 120 * S, SplitPolicy.NEW_ISN,
                1 << 20, 1 << 16, 64L << 20, 0, UrgentPolicy.OUT_OF_BAND);
    }

    public FlowConfig withMaxFlows(int n) {
        return new FlowConfig(n, newTimeout, establishedTimeout, closedTimeout, split, depth, maxPendingBytes, maxBufferedBytes, communityIdSeed, urgent);
    }

    public FlowConfig withTimeouts(long newT, long establishedT, long closedT) {
        return new FlowConfig(maxFlows, newT, establishedT, closedT, split, depth, maxPendingBytes, maxBufferedBytes, communityIdSeed, urgent);
    }

    public FlowConfig withSplit(SplitPolicy p) {
        return new FlowConfig(maxFlows, newTimeout, establishedTimeout, closedTimeout, p, depth, maxPendingBytes, maxBufferedBytes, communityIdSeed, urgent);
    }

    public FlowConfig withDepth(long d) {
        return new FlowConfig(maxFlows, newTimeout, establishedTimeout, closedTimeout, split, d, maxPendingBytes, maxBufferedBytes, communityIdSeed, urgent);
    }

    public FlowConfig withBuffers(int perDirection, long total) {
        return new FlowConfig(maxFlows, newTimeout, establishedTimeout, closedTimeout, split, depth, perDirection, total, communityIdSeed, urgent);
    }

    public FlowConfig withCommunityIdSeed(int seed) {
        return new FlowConfig(maxFlows, newTimeout, establishedTimeout, closedTimeout, split, depth, maxPendingBytes, maxBufferedBytes, seed, urgent);
    }

    public FlowConfig withUrgent(UrgentPolicy u) {
        return new FlowConfig(maxFlows, newTimeout, establishedTimeout, closedTimeout, split, depth, maxPendingBytes, maxBufferedBytes, communityIdSeed, u);
    }
}
