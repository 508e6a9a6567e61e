package org.xenids.flow;

import java.util.Arrays;
import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Packet;

/**
 * Bidirectional flow table keyed by protocol, addresses, ports and VLAN ids. Flows are pooled
 * objects found through an int-linked hash table and kept on three least-recently-used lists
 * (new / established / closed), one per timeout, so expiry and eviction are O(1) per flow and
 * nothing is allocated per packet once the pool has grown. Every flow that ends — by timeout,
 * by a new TCP connection on its tuple, by eviction when {@link FlowConfig#maxFlows()} is
 * reached, or by {@link #finish()} — is handed to {@link StreamListener#flowEnd}. Not thread-safe.
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

    /** Flows held before the pool and the hash table first grow. */
    static final int INITIAL_FLOWS = 1024;
    /** The largest array the VM reliably allocates. */
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** Hash buckets stop doubling here (2^30 ints, 4 GiB): past it, chains grow instead. */
    private static final int MAX_BUCKETS = 1 << 30;

    /**
     * The pool, grown by doubling as flows are seen up to {@link FlowConfig#maxFlows()}, so memory
     * follows the flows actually held, not the bound: a bound of two billion costs nothing until
     * that many flows arrive.
     */
    private Flow[] flows;
    private int allocated;
    private final int poolLimit;
    private int[] free;
    private int freeTop;
    /** At least as many buckets as the pool has places (to {@link #MAX_BUCKETS}): chains stay short. */
    private int[] buckets;
    private int mask;
    private final int[] lruHead = {-1, -1, -1}, lruTail = {-1, -1, -1};
    private final long[] timeouts;
    private long clock = Long.MIN_VALUE;
    private long nextId = 1;
    private boolean lastToServer, foundToServer;

    /** Reassembly windows, {@link FlowConfig#maxBufferedBytes()} in all. */
    final WindowPool windows;

    private long created, live, evictions, timedOut, reused, shutdown, notFlowed, icmpErrorsFolded, receiverDropped,
            synIgnored;
    private long sumOutOfOrder, sumRetransmitted, sumOverlapDiff, sumGaps, sumGapBytes, sumUrgentBytes,
            sumAfterFinDropped, sumUnkept, sumRechecked, sumUncompared;

    public FlowTable(FlowConfig cfg, StreamListener listener) {
        this.cfg = cfg;
        this.listener = listener == null ? StreamListener.NONE : listener;
        this.communityId = new CommunityId(cfg.communityIdSeed());
        this.depth = cfg.depth();
        this.window = windowFor(cfg.depth(), cfg.maxPendingBytes());
        this.windows = new WindowPool(window, cfg.maxBufferedBytes());
        this.keepDelivered = cfg.depth() > 0 && cfg.depth() <= window;
        this.urgentOutOfBand = cfg.urgent() == FlowConfig.UrgentPolicy.OUT_OF_BAND;
        poolLimit = Math.min(cfg.maxFlows(), MAX_ARRAY);
        int cap = Math.min(poolLimit, INITIAL_FLOWS);
        flows = new Flow[cap];
        free = new int[cap];
        buckets = new int[bucketsFor(cap)];
        Arrays.fill(buckets, -1);
        mask = buckets.length - 1;
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
            int qh = (int) hash(p.quotedProtocol(), p.quotedSrcHi(), p.quotedSrcLo(), p.quotedSrcPort(), p.quotedDstHi(),
                    p.quotedDstLo(), p.quotedDstPort(), p.vlanOuter(), p.vlanInner()) & mask;
            Flow q = find(qh, p.quotedProtocol(), p.quotedSrcHi(), p.quotedSrcLo(), p.quotedSrcPort(), p.quotedDstHi(),
                    p.quotedDstLo(), p.quotedDstPort(), p.vlanOuter(), p.vlanInner());
            if (q != null) { // an ICMP error about a packet of a known flow counts in that flow
                boolean toServer = !foundToServer; // it travels back to the quoted packet's sender
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
        int h = (int) hash(proto, sHi, sLo, sp, dHi, dLo, dp, vo, vi) & mask;
        Flow f = find(h, proto, sHi, sLo, sp, dHi, dLo, dp, vo, vi);
        boolean toServer = foundToServer;
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

    /** The flow of a tuple in either direction (sets {@link #foundToServer}), or null. */
    private Flow find(int h, int proto, long sHi, long sLo, int sp, long dHi, long dLo, int dp, int vo, int vi) {
        for (int i = buckets[h]; i >= 0; i = flows[i].next) {
            Flow c = flows[i];
            if (c.proto != proto || c.vlanOuter != vo || c.vlanInner != vi) continue;
            if (c.clientLo == sLo && c.serverLo == dLo && c.clientPort == sp && c.serverPort == dp
                    && c.clientHi == sHi && c.serverHi == dHi) {
                foundToServer = true;
                return c;
            }
            if (c.clientLo == dLo && c.serverLo == sLo && c.clientPort == dp && c.serverPort == sp
                    && c.clientHi == dHi && c.serverHi == sHi) {
                foundToServer = false;
                return c;
            }
        }
        foundToServer = true;
        return null;
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

    private Flow create(Packet p, int h, boolean swap) {
        int i;
        if (freeTop > 0) {
            i = free[--freeTop];
        } else if (allocated < poolLimit) {
            if (allocated == flows.length && grow()) {
                h = -1; // the buckets changed: placed below, from the flow's own tuple
            }
            i = allocated;
            flows[allocated++] = new Flow(this, i);
        } else {
            evictOne();
            i = free[--freeTop];
        }
        Flow f = flows[i];
        f.init(nextId++, p, swap);
        if (h < 0) {
            h = bucketOf(f);
        }
        f.live = true;
        f.next = buckets[h];
        buckets[h] = i;
        created++;
        live++;
        return f;
    }

    /**
     * Doubles the pool (to {@link #poolLimit}) and, when that calls for more buckets, rebuilds the
     * hash table; true when it did. Amortized over the flows that filled the pool: O(1) each.
     */
    private boolean grow() {
        int cap = (int) Math.min(poolLimit, 2L * flows.length);
        flows = Arrays.copyOf(flows, cap);
        free = Arrays.copyOf(free, cap);
        int n = bucketsFor(cap);
        if (n == buckets.length) {
            return false;
        }
        buckets = new int[n];
        Arrays.fill(buckets, -1);
        mask = n - 1;
        for (int i = 0; i < allocated; i++) {
            Flow f = flows[i];
            if (f.live) {
                int h = bucketOf(f);
                f.next = buckets[h];
                buckets[h] = i;
            }
        }
        return true;
    }

    /** Buckets for a pool of {@code cap} flows: a power of two ≥ it (at least 16, at most {@link #MAX_BUCKETS}). */
    static int bucketsFor(int cap) {
        long n = Long.highestOneBit(Math.max(16, cap) - 1L) << 1;
        return (int) Math.min(n, MAX_BUCKETS);
    }

    /** Flows the pool has places for now (grows with the flows seen, up to the bound). */
    int capacity() { return flows.length; }

    private int bucketOf(Flow f) {
        return (int) hash(f.proto, f.clientHi, f.clientLo, f.clientPort, f.serverHi, f.serverLo, f.serverPort,
                f.vlanOuter, f.vlanInner) & mask;
    }

    private void evictOne() {
        // The longest-queued flow (about the least recently active), preferring closed, then new
        // (half-open) flows.
        int[] order = {CLOSED, NEW, ESTABLISHED};
        int victim = -1;
        for (int c : order) {
            if (lruHead[c] >= 0) { victim = lruHead[c]; break; }
        }
        evictions++;
        end(flows[victim], "forced");
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
            int i;
            while ((i = lruHead[c]) >= 0 && nowNanos - flows[i].queuedNs > t) {
                Flow f = flows[i];
                if (nowNanos - f.lastNs > t) {
                    timedOut++;
                    end(f, "timeout");
                } else {
                    unlinkLru(f);
                    append(f, c, f.lastNs);
                }
            }
        }
    }

    /** Ends all flows (reason "shutdown"), e.g. at the end of a capture. */
    public void finish() {
        for (int c = 0; c < 3; c++) {
            int i;
            while ((i = lruHead[c]) >= 0) {
                shutdown++;
                end(flows[i], "shutdown");
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
        sumUnkept += f.toServer.unkept() + f.toClient.unkept();
        sumRechecked += f.toServer.rechecked + f.toClient.rechecked;
        sumUncompared += f.toServer.uncompared + f.toClient.uncompared;
        listener.flowEnd(f);
        unlinkHash(f);
        unlinkLru(f);
        f.live = false;
        live--;
        free[freeTop++] = f.index;
    }

    private void unlinkHash(Flow f) {
        int h = bucketOf(f);
        int prev = -1;
        for (int i = buckets[h]; i >= 0; prev = i, i = flows[i].next) {
            if (i == f.index) {
                if (prev < 0) buckets[h] = f.next; else flows[prev].next = f.next;
                f.next = -1;
                return;
            }
        }
        throw new IllegalStateException("flow " + f.id + " missing from its hash chain");
    }

    /** Queues the flow on list {@code c} when it changed class (new, established, closed). */
    private void touch(Flow f, int c) {
        if (f.lruList == c) return;
        if (f.lruList >= 0) unlinkLru(f);
        append(f, c, f.lastNs);
    }

    private void append(Flow f, int c, long queuedNs) {
        f.lruList = c;
        f.queuedNs = queuedNs;
        f.lruPrev = lruTail[c];
        f.lruNext = -1;
        if (lruTail[c] >= 0) flows[lruTail[c]].lruNext = f.index; else lruHead[c] = f.index;
        lruTail[c] = f.index;
    }

    private void unlinkLru(Flow f) {
        int c = f.lruList;
        if (c < 0) return;
        if (f.lruPrev >= 0) flows[f.lruPrev].lruNext = f.lruNext; else lruHead[c] = f.lruNext;
        if (f.lruNext >= 0) flows[f.lruNext].lruPrev = f.lruPrev; else lruTail[c] = f.lruPrev;
        f.lruPrev = f.lruNext = f.lruList = -1;
    }

    /** Same value for both directions of a flow. */
    private static long hash(int proto, long aHi, long aLo, int aPort, long bHi, long bLo, int bPort, int vo, int vi) {
        long a = mix(aHi * 0x9E3779B97F4A7C15L ^ aLo ^ ((long) aPort << 40));
        long b = mix(bHi * 0x9E3779B97F4A7C15L ^ bLo ^ ((long) bPort << 40));
        return mix(a + b + proto * 0xC2B2AE3D27D4EB4FL + ((long) vo << 20 | vi));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    /** The smallest power of two ≥ the depth, at least 1024, at most {@code maxPending} (any, when the depth is unlimited). */
    static int windowFor(long depth, int maxPending) {
        if (depth < 0 || depth >= maxPending) return maxPending;
        return Math.max(1024, Integer.highestOneBit((int) Math.max(1, depth - 1)) << 1);
    }
}
