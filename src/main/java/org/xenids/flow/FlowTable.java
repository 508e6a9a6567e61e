package org.xenids.flow;

import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Packet;

/**
 * Bidirectional flow table keyed by protocol, addresses, ports and VLAN ids. Flows are pooled
 * objects found through an int-linked hash table and kept on three least-recently-used lists
 * (new / established / closed), one per timeout ({@link FlowPool}), so expiry and eviction are
 * O(1) per flow and nothing is allocated per packet once the pool has grown. This class decides
 * what happens to each packet's flow; the pool only holds them. Every flow that ends — by
 * timeout, by a new TCP connection on its tuple, by eviction when {@link FlowConfig#maxFlows()}
 * is reached, or by {@link #finish()} — is handed to {@link StreamListener#flowEnd}. Not
 * thread-safe.
 */
public final class FlowTable {
    private static final int NEW = 0, ESTABLISHED = 1, CLOSED = 2;

    final FlowConfig cfg;
    final StreamListener listener;
    final CommunityId communityId;
    final long depth;
    /**
     * Bytes of one direction's reassembly window (a power of two): {@link FlowConfig#maxPendingBytes()},
     * or less when the depth is smaller, since nothing past the depth is ever held. Small windows
     * let many more streams hold data out of order from the same pool, which is what a sender who
     * wants one stream's hole given up has to exhaust.
     */
    final int window;
    /**
     * Delivered bytes inside the depth are kept until their receiver acknowledges them, to compare
     * a later copy with: when the depth fits the window, so that every byte inside it, delivered
     * or held, has a place of its own in a stream's buffer.
     */
    final boolean keepDelivered;
    /** {@link FlowConfig.UrgentPolicy#OUT_OF_BAND}: a receiver's urgent bytes are not delivered. */
    final boolean urgentOutOfBand;

    /** The flows, their hash chains and their queues (one per class above), up to {@link FlowConfig#maxFlows()}. */
    private final FlowPool pool;
    private final long[] timeouts;
    private long clock = Long.MIN_VALUE;
    private long nextId = 1;
    private boolean lastToServer;

    /** Reassembly windows, {@link FlowConfig#maxBufferedBytes()} in all. */
    final WindowPool windows;

    private long created, live, evictions, timedOut, reused, shutdown, notFlowed, icmpErrorsFolded, receiverDropped,
            synIgnored;
    private long sumOutOfOrder, sumRetransmitted, sumOverlapDiff, sumGaps, sumGapBytes, sumUrgentBytes,
            sumAfterFinDropped, sumUnkept, sumRechecked, sumUncompared, sumSynDataDropped;

    public FlowTable(FlowConfig cfg, StreamListener listener) {
        this.cfg = cfg;
        this.listener = listener == null ? StreamListener.NONE : listener;
        this.communityId = new CommunityId(cfg.communityIdSeed());
        this.depth = cfg.depth();
        this.window = windowFor(cfg.depth(), cfg.maxPendingBytes());
        this.windows = new WindowPool(window, cfg.maxBufferedBytes());
        this.keepDelivered = cfg.depth() > 0 && cfg.depth() <= window;
        this.urgentOutOfBand = cfg.urgent() == FlowConfig.UrgentPolicy.OUT_OF_BAND;
        this.pool = new FlowPool(this, cfg.maxFlows());
        timeouts = new long[] {cfg.newTimeout(), cfg.establishedTimeout(), cfg.closedTimeout()};
    }

    public FlowConfig config() { return cfg; }
    /** Flows started so far. */
    public long flowsCreated() { return created; }
    /** Flows held now. */
    public long liveFlows() { return live; }
    /** Flows ended early because the table was full. */
    public long evictions() { return evictions; }
    public long flowsTimedOut() { return timedOut; }
    /** Flows ended because a new TCP connection started on their tuple. */
    public long flowsReused() { return reused; }
    /** IP packets that belong to no flow (fragments still waiting, broken layer 4) and non-IP packets. */
    public long packetsWithoutFlow() { return notFlowed; }
    /** SYNs with a new sequence number on an established connection, left in it ({@link FlowConfig.SplitPolicy#NEW_ISN_OR_AFTER_CLOSE}). */
    public long synsOnEstablished() { return synIgnored; }
    /**
     * Packets their receiver drops ({@link ReceiverChecks#refusal}: what the decoder marks, as
     * {@link DecodeEvent#RECEIVER_DROPS} lists, and TCP segments its socket refuses: an unexpected
     * signature, no ACK flag, PAWS, data past a FIN it took): counted in their flow (or in none,
     * when they would have started one), not reassembled.
     */
    public long receiverDroppedPackets() { return receiverDropped; }
    /** ICMP/ICMPv6 errors counted in the TCP/UDP flow whose packet they quote. */
    public long icmpErrorsFolded() { return icmpErrorsFolded; }
    /** Reassembly totals over the flows that have ended. */
    public long outOfOrderSegments() { return sumOutOfOrder; }
    public long retransmittedBytes() { return sumRetransmitted; }
    public long overlapDifferentBytes() { return sumOverlapDiff; }
    public long gaps() { return sumGaps; }
    public long gapBytes() { return sumGapBytes; }
    /** Urgent bytes met in ended flows' streams (taken out of them unless the policy is inline). */
    public long urgentBytes() { return sumUrgentBytes; }
    /** Bytes ended flows held past a FIN their receiver took, dropped as it drops them. */
    public long afterFinDroppedBytes() { return sumAfterFinDropped; }
    /**
     * Bytes SYNs of ended flows carried that their receivers did not take (without TCP Fast Open
     * a stack acknowledges the SYN alone): left out of the streams, and what an attempt to show
     * the detector bytes the guest never reads looks like.
     */
    public long synDataDroppedBytes() { return sumSynDataDropped; }
    /**
     * Delivered bytes inside the depth that ended flows could not keep until acknowledged (the
     * pool of buffers was spent): a different later copy of them went uncompared.
     */
    public long unkeptBytes() { return sumUnkept; }
    /** Bytes of later copies that ended flows compared with the delivered, unacknowledged ones. */
    public long recheckedBytes() { return sumRechecked; }
    /**
     * Bytes of later copies that ended flows could not compare (the delivered ones were not kept),
     * and unacknowledged ones a new connection on their 5-tuple left behind.
     */
    public long uncomparedBytes() { return sumUncompared; }
    /** Direction of the packet last given to {@link #process}. */
    public boolean lastToServer() { return lastToServer; }

    /**
     * Accounts one decoded packet to its flow (creating it when new) and runs TCP state and
     * reassembly. Returns the flow, or null for a packet that belongs to none (counted).
     */
    public Flow process(Packet p) {
        int proto = p.protocol();
        if (p.ipVersion() == 0 || p.fragment()
                || ((proto == 6 || proto == 17 || proto == 1 || proto == 58) && p.l4Length() == 0)) {
            notFlowed++;
            return null;
        }
        long now = p.timestampNanos();
        if (now > clock) clock = now;
        expire(clock);
        // An ICMP error goes to the sender of the packet it quotes (from that host or a router on
        // the way); one addressed elsewhere is not about that flow.
        if ((proto == 1 || proto == 58) && p.quotedProtocol() != 0
                && p.dstLo() == p.quotedSrcLo() && p.dstHi() == p.quotedSrcHi()) {
            int qh = (int) FlowPool.hash(p.quotedProtocol(), p.quotedSrcHi(), p.quotedSrcLo(), p.quotedSrcPort(),
                    p.quotedDstHi(), p.quotedDstLo(), p.quotedDstPort(), p.vlanOuter(), p.vlanInner());
            Flow q = pool.find(qh, p.quotedProtocol(), p.quotedSrcHi(), p.quotedSrcLo(), p.quotedSrcPort(),
                    p.quotedDstHi(), p.quotedDstLo(), p.quotedDstPort(), p.vlanOuter(), p.vlanInner());
            if (q != null) { // an ICMP error about a packet of a known flow counts in that flow
                boolean toServer = !pool.foundToServer; // it travels back to the quoted packet's sender
                lastToServer = toServer;
                if (toServer) { q.pktsToServer++; q.bytesToServer += p.frameLength(); }
                else { q.pktsToClient++; q.bytesToClient += p.frameLength(); }
                if (now > q.lastNs) q.lastNs = now;
                icmpErrorsFolded++;
                return q;
            }
        }
        long sHi = p.srcHi(), sLo = p.srcLo(), dHi = p.dstHi(), dLo = p.dstLo();
        int sp = p.srcPort(), dp = p.dstPort(), vo = p.vlanOuter(), vi = p.vlanInner();
        int h = (int) FlowPool.hash(proto, sHi, sLo, sp, dHi, dLo, dp, vo, vi);
        Flow f = pool.find(h, proto, sHi, sLo, sp, dHi, dLo, dp, vo, vi);
        boolean toServer = pool.foundToServer;
        if (f != null && now - f.lastNs > timeouts[f.lruList]) { // idle past its timeout, not yet expired
            timedOut++;
            end(f, "timeout");
            f = null;
        }
        int flags = p.tcpFlags();
        boolean tcp = proto == 6;
        // A packet its receiver's IP or TCP layer drops before any socket sees it ends no flow and
        // starts none (nor decides which side is the client): it is counted, and fed nothing.
        boolean dropped = (p.events() & DecodeEvent.RECEIVER_DROPS) != 0;
        if (f == null && dropped) {
            receiverDropped++;
            return null;
        }
        if (f != null && tcp && !dropped && (flags & (Packet.TCP_SYN | Packet.TCP_ACK)) == Packet.TCP_SYN
                && startsNew(f, toServer, p.seq())) {
            reused++;
            // The SYN's sender's bytes: it could have had its own close taken here, and not by its
            // receiver, only by sending bytes that receiver dropped (the other side's close is its own).
            (toServer ? f.toServer : f.toClient).restarted(f, this);
            end(f, "tcp_reuse");
            f = null;
        }
        if (f == null) {
            // A SYN-ACK first means its receiver initiated the connection (the SYN was missed).
            boolean swap = tcp && (flags & (Packet.TCP_SYN | Packet.TCP_ACK)) == (Packet.TCP_SYN | Packet.TCP_ACK);
            f = create(p, h, swap);
            toServer = !swap;
        }
        lastToServer = toServer;
        int len = p.frameLength();
        if (toServer) { f.pktsToServer++; f.bytesToServer += len; }
        else { f.pktsToClient++; f.bytesToClient += len; }
        if (now > f.lastNs) f.lastNs = now;
        String refused = f.receivers.refusal(p, toServer, tcp, flags);
        if (refused == null && tcp && (flags & (Packet.TCP_SYN | Packet.TCP_RST)) == 0
                && (toServer ? f.toServer : f.toClient).afterFin(p.seq(), p.payloadLength())) {
            refused = "stream.pkt_data_after_fin"; // CLOSE_WAIT and after: tcp_rcv_state_process queues nothing
        }
        if (refused != null) {
            receiverDropped++;
            listener.refused(f, toServer, refused);
        } else if (tcp) {
            tcp(f, p, toServer, flags);
        } else if (proto == 17 && depth != 0 && p.payloadLength() > 0) {
            (toServer ? f.toServer : f.toClient).datagram(f, this, p.data(), p.payloadOffset(), p.payloadLength());
        }
        touch(f, classOf(f));
        return f;
    }

    private boolean startsNew(Flow f, boolean toServer, int seq) {
        boolean closed = ((f.flagsToServer | f.flagsToClient) & (Packet.TCP_FIN | Packet.TCP_RST)) != 0;
        boolean isnSet = toServer ? f.isnToServerSet : f.isnToClientSet;
        boolean newIsn = isnSet && seq != (toServer ? f.isnToServer : f.isnToClient);
        return switch (cfg.split()) {
            case NEW_ISN -> newIsn;
            case AFTER_CLOSE -> closed;
            case NEW_ISN_OR_AFTER_CLOSE -> {
                // Only a close its receiver acted on counts: a FIN ahead of a hole or a RST off
                // the next number, then a SYN, would otherwise restart the stream at will.
                if (newIsn && !f.closedInOrder && f.tcpState >= Flow.TCP_ESTABLISHED) {
                    synIgnored++;
                    yield false;
                }
                yield newIsn || f.closedInOrder;
            }
        };
    }

    private void tcp(Flow f, Packet p, boolean toServer, int flags) {
        int seq = p.seq();
        if (toServer) {
            f.flagsToServer |= flags;
            if (!f.isnToServerSet) { f.isnToServer = seq; f.isnToServerSet = true; }
        } else {
            f.flagsToClient |= flags;
            if (!f.isnToClientSet) { f.isnToClient = seq; f.isnToClientSet = true; }
        }
        boolean syn = (flags & Packet.TCP_SYN) != 0, ack = (flags & Packet.TCP_ACK) != 0;
        boolean rst = (flags & Packet.TCP_RST) != 0;
        if ((rst || (flags & Packet.TCP_FIN) != 0) && (toServer ? f.toServer : f.toClient).closes(seq, p.payloadLength(), rst, depth)) {
            f.closedInOrder = true;
        }
        if ((flags & Packet.TCP_RST) != 0) {
            f.tcpState = Flow.TCP_CLOSED;
        } else if (f.tcpState != Flow.TCP_CLOSED) {
            if ((flags & Packet.TCP_FIN) != 0 || f.tcpState == Flow.TCP_FIN_WAIT) {
                boolean bothFin = (f.flagsToServer & f.flagsToClient & Packet.TCP_FIN) != 0;
                f.tcpState = bothFin ? Flow.TCP_CLOSED : Flow.TCP_FIN_WAIT;
            } else if (syn && !ack) {
                if (f.tcpState == Flow.TCP_NONE) f.tcpState = Flow.TCP_SYN_SENT;
            } else if (syn) {
                if (f.tcpState <= Flow.TCP_SYN_SENT) f.tcpState = Flow.TCP_SYN_RECV;
            } else if (f.tcpState == Flow.TCP_SYN_RECV || f.tcpState == Flow.TCP_NONE) {
                f.tcpState = Flow.TCP_ESTABLISHED; // handshake done, or picked up mid-stream
            }
        }
        if (depth != 0) {
            boolean fin = (flags & Packet.TCP_FIN) != 0;
            int urgent = (flags & Packet.TCP_URG) != 0 && !syn && !rst ? p.urgentPointer() : -1;
            // A RST's bytes are never queued: it resets the connection or is dropped.
            (toServer ? f.toServer : f.toClient).segment(f, this, syn, fin, seq, urgent, p.data(), p.payloadOffset(),
                    rst ? 0 : p.payloadLength());
            if (ack) {
                (toServer ? f.toClient : f.toServer).acked(f, this, p.ack());
            }
        }
    }

    private static int classOf(Flow f) {
        if (f.proto == 6) {
            return switch (f.tcpState) {
                case Flow.TCP_CLOSED -> CLOSED;
                case Flow.TCP_ESTABLISHED, Flow.TCP_FIN_WAIT -> ESTABLISHED;
                default -> NEW;
            };
        }
        return f.pktsToClient > 0 ? ESTABLISHED : NEW;
    }

    /** A flow for the packet, in the place of the one evicted when the pool is full. */
    private Flow create(Packet p, int h, boolean swap) {
        Flow f = pool.take();
        if (f == null) {
            evictOne();
            f = pool.take();
        }
        f.init(nextId++, p, swap);
        pool.insert(f, h);
        created++;
        live++;
        return f;
    }

    /** Flows the pool has places for now (grows with the flows seen, up to the bound). */
    int capacity() { return pool.capacity(); }

    private void evictOne() {
        // The longest-queued flow (about the least recently active), preferring closed, then new
        // (half-open) flows.
        int[] order = {CLOSED, NEW, ESTABLISHED};
        Flow victim = null;
        for (int c : order) {
            if ((victim = pool.oldest(c)) != null) break;
        }
        evictions++;
        end(victim, "forced");
    }

    /**
     * Ends every flow idle past its timeout at time {@code nowNanos} (also done on each packet).
     * The lists are kept in the order flows were queued, not re-sorted on every packet: a flow at
     * the head that was active since is moved to the tail instead of ended, so a packet costs no
     * list writes and each flow is re-queued at most once per timeout.
     */
    public void expire(long nowNanos) {
        for (int c = 0; c < 3; c++) {
            long t = timeouts[c];
            Flow f;
            while ((f = pool.oldest(c)) != null && nowNanos - f.queuedNs > t) {
                if (nowNanos - f.lastNs > t) {
                    timedOut++;
                    end(f, "timeout");
                } else {
                    pool.queue(f, c, f.lastNs);
                }
            }
        }
    }

    /** Ends all flows (reason "shutdown"), e.g. at the end of a capture. */
    public void finish() {
        for (int c = 0; c < 3; c++) {
            Flow f;
            while ((f = pool.oldest(c)) != null) {
                shutdown++;
                end(f, "shutdown");
            }
        }
    }

    private void end(Flow f, String reason) {
        f.endReason = reason;
        f.toServer.finish(f, this);
        f.toClient.finish(f, this);
        sumOutOfOrder += f.toServer.outOfOrder + f.toClient.outOfOrder;
        sumRetransmitted += f.toServer.retransmitted + f.toClient.retransmitted;
        sumOverlapDiff += f.toServer.overlapDiff + f.toClient.overlapDiff;
        sumGaps += f.toServer.gaps + f.toClient.gaps;
        sumGapBytes += f.toServer.gapBytes + f.toClient.gapBytes;
        sumUrgentBytes += f.toServer.urgent.bytes + f.toClient.urgent.bytes;
        sumAfterFinDropped += f.toServer.afterFinDropped + f.toClient.afterFinDropped;
        sumSynDataDropped += f.toServer.synDataDropped + f.toClient.synDataDropped;
        sumUnkept += f.toServer.unkept() + f.toClient.unkept();
        sumRechecked += f.toServer.rechecked + f.toClient.rechecked;
        sumUncompared += f.toServer.uncompared + f.toClient.uncompared;
        listener.flowEnd(f);
        pool.remove(f);
        live--;
    }

    /** Queues the flow on list {@code c} when it changed class (new, established, closed). */
    private void touch(Flow f, int c) {
        if (f.lruList != c) pool.queue(f, c, f.lastNs);
    }

    /** The smallest power of two ≥ the depth, at least 1024, at most {@code maxPending} (any, when the depth is unlimited). */
    static int windowFor(long depth, int maxPending) {
        if (depth < 0 || depth >= maxPending) return maxPending;
        return Math.max(1024, Integer.highestOneBit((int) Math.max(1, depth - 1)) << 1);
    }
}
