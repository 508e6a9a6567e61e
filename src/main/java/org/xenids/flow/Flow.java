package org.xenids.flow;

import java.util.ArrayList;
import java.util.List;
import org.xenids.alert.Endpoints;
import org.xenids.alert.EveEvent;
import org.xenids.decode.Packet;

/**
 * A view of one flow in the {@link FlowTable}: its tuple as initiator (client) → responder
 * (server), counters per direction, TCP state and reassembly counters. The object is reused for
 * another flow after this one ends: read it during a {@link StreamListener} call or right after
 * {@link FlowTable#process}, never keep it.
 */
public final class Flow {
    /** TCP states as recorded by the table (EVE {@code tcp.state} names). */
    public static final int TCP_NONE = 0, TCP_SYN_SENT = 1, TCP_SYN_RECV = 2, TCP_ESTABLISHED = 3,
            TCP_FIN_WAIT = 4, TCP_CLOSED = 5;
    private static final String[] TCP_STATE_NAMES = {"none", "syn_sent", "syn_recv", "established", "fin_wait", "closed"};

    final FlowTable table;
    final int index;
    // hash chain and LRU list links (indexes into the FlowPool's flow array)
    int next = -1, lruPrev = -1, lruNext = -1, lruList = -1;
    boolean live;
    long queuedNs;

    long id;
    int ipVersion, proto, vlanOuter, vlanInner;
    long clientHi, clientLo, serverHi, serverLo;
    int clientPort, serverPort;
    int icmpType, icmpCode;
    long firstNs, lastNs;
    long pktsToServer, pktsToClient, bytesToServer, bytesToClient;
    int tcpState, flagsToServer, flagsToClient;
    int isnToServer, isnToClient;
    boolean isnToServerSet, isnToClientSet;
    /** A FIN or RST came in order (see {@link TcpStream#closes}): the connection did close, for its receiver too. */
    boolean closedInOrder;
    String endReason;
    String communityId;
    final TcpStream toServer, toClient;
    /** What each end's stack drops before taking a segment in (signatures, PAWS). */
    final ReceiverChecks receivers = new ReceiverChecks();

    Flow(FlowTable table, int index) {
        this.table = table;
        this.index = index;
        this.toServer = new TcpStream(true);
        this.toClient = new TcpStream(false);
    }

    void init(long flowId, Packet p, boolean swap) {
        id = flowId;
        ipVersion = p.ipVersion();
        proto = p.protocol();
        vlanOuter = p.vlanOuter();
        vlanInner = p.vlanInner();
        if (!swap) {
            clientHi = p.srcHi(); clientLo = p.srcLo(); serverHi = p.dstHi(); serverLo = p.dstLo();
            clientPort = p.srcPort(); serverPort = p.dstPort();
        } else {
            clientHi = p.dstHi(); clientLo = p.dstLo(); serverHi = p.srcHi(); serverLo = p.srcLo();
            clientPort = p.dstPort(); serverPort = p.srcPort();
        }
        icmpType = p.icmpType();
        icmpCode = p.icmpCode();
        firstNs = lastNs = p.timestampNanos();
        pktsToServer = pktsToClient = bytesToServer = bytesToClient = 0;
        tcpState = TCP_NONE;
        flagsToServer = flagsToClient = 0;
        isnToServerSet = isnToClientSet = false;
        closedInOrder = false;
        endReason = null;
        communityId = null;
        toServer.reset();
        toClient.reset();
        receivers.reset();
    }

    /** Unique within its table (1, 2, ...): EVE {@code flow_id}. */
    public long id() { return id; }
    public int ipVersion() { return ipVersion; }
    /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
    public int protocol() { return proto; }
    public int vlanOuter() { return vlanOuter; }
    public int vlanInner() { return vlanInner; }
    public long clientHi() { return clientHi; }
    public long clientLo() { return clientLo; }
    public long serverHi() { return serverHi; }
    public long serverLo() { return serverLo; }
    /** The initiator's address as text (allocates). */
    public String clientAddress() { return Packet.formatAddress(clientHi, clientLo); }
    public String serverAddress() { return Packet.formatAddress(serverHi, serverLo); }
    public int clientPort() { return clientPort; }
    public int serverPort() { return serverPort; }
    /** Type/code of the first ICMP packet, -1 otherwise. */
    public int icmpType() { return icmpType; }
    public int icmpCode() { return icmpCode; }
    public long firstNanos() { return firstNs; }
    public long lastNanos() { return lastNs; }
    public long packetsToServer() { return pktsToServer; }
    public long packetsToClient() { return pktsToClient; }
    /** Frame bytes (captured length) per direction. */
    public long bytesToServer() { return bytesToServer; }
    public long bytesToClient() { return bytesToClient; }
    public long packets() { return pktsToServer + pktsToClient; }
    public int tcpState() { return tcpState; }
    public String tcpStateName() { return TCP_STATE_NAMES[tcpState]; }
    /** Union of TCP flags seen per direction. */
    public int tcpFlagsToServer() { return flagsToServer; }
    public int tcpFlagsToClient() { return flagsToClient; }

    /** EVE {@code flow.state}: "new", "established" or "closed". */
    public String state() {
        if (proto == 6) {
            return switch (tcpState) {
                case TCP_ESTABLISHED, TCP_FIN_WAIT -> "established";
                case TCP_CLOSED -> "closed";
                default -> "new";
            };
        }
        return pktsToClient > 0 ? "established" : "new";
    }

    /** Why the flow ended ("timeout", "tcp_reuse", "forced", "shutdown"), null while live. */
    public String endReason() { return endReason; }

    /** Community ID v1 with the table's seed (computed once per flow). */
    public String communityId() {
        if (communityId == null) communityId = table.communityId.of(this);
        return communityId;
    }

    /** Reassembly counters of one direction. */
    public long segmentsOutOfOrder(boolean toServer) { return dir(toServer).outOfOrder; }
    public long retransmittedBytes(boolean toServer) { return dir(toServer).retransmitted; }
    /**
     * Bytes that arrived twice with different content, the second copy held out of order or
     * unacknowledged: an evasion attempt or corruption.
     */
    public long overlapDifferentBytes(boolean toServer) { return dir(toServer).overlapDiff; }
    public long overlapBytes(boolean toServer) { return dir(toServer).overlap; }
    public long gaps(boolean toServer) { return dir(toServer).gaps; }
    public long gapBytes(boolean toServer) { return dir(toServer).gapBytes; }
    /** Payload bytes delivered (gaps included in the offsets, not here). */
    public long payloadBytes(boolean toServer) { return dir(toServer).deliveredBytes; }
    /** Payload bytes not delivered because the depth was reached. */
    public long bytesPastDepth(boolean toServer) { return dir(toServer).pastDepth; }
    /** Bytes a SYN carried that its receiver did not take (it acknowledged the SYN alone): not delivered. */
    public long synDataDroppedBytes(boolean toServer) { return dir(toServer).synDataDropped; }
    /** Bytes held out of order past a FIN the receiver took: dropped with them, as Linux's tcp_fin does. */
    public long afterFinDroppedBytes(boolean toServer) { return dir(toServer).afterFinDropped; }
    /** Urgent bytes met in the stream (not delivered unless the urgent policy is inline). */
    public long urgentBytes(boolean toServer) { return dir(toServer).urgent.bytes; }

    /** Suricata's protocol name in EVE ("TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP", else the number). */
    public String eveProto() {
        return switch (proto) {
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 1 -> "ICMP";
            case 58 -> "IPv6-ICMP";
            case 132 -> "SCTP";
            default -> String.valueOf(proto);
        };
    }

    /**
     * This flow as an EVE {@code flow} record (timestamp = flow start), for the alert stage;
     * {@code inIface} may be null (e.g. "dom3/vif0" for the tap).
     */
    public EveEvent.Flow eveRecord(String inIface) {
        boolean ports = proto == 6 || proto == 17 || proto == 132;
        Endpoints ep = new Endpoints(clientAddress(), ports ? clientPort : -1, serverAddress(),
                ports ? serverPort : -1, eveProto());
        List<Integer> vlan = new ArrayList<>(2);
        if (vlanOuter != 0) vlan.add(vlanOuter);
        if (vlanInner != 0) vlan.add(vlanInner);
        return new EveEvent.Flow(firstNs, id, ep, communityId(), pktsToServer, pktsToClient, bytesToServer,
                bytesToClient, firstNs, lastNs, state(), endReason, false, vlan, inIface);
    }

    private TcpStream dir(boolean ts) {
        return ts ? toServer : toClient;
    }
}
