package org.xenids.flow;

import org.xenids.decode.DecodeEvent;
import org.xenids.decode.Packet;

/**
 * What the receivers of one flow drop before their stacks take a packet in, as Linux does
 * ({@link #refusal}): what the decoder marks, and for TCP a segment whose signature its socket's
 * key rejects ({@link #signatureRefused}), one without ACK ({@link #withoutAckFlag}), and one
 * PAWS rejects ({@link #pawsRefuses}). One per flow; reused with it.
 *
 * <p>Not judged: a segment acknowledging bytes its receiver never sent, which Linux drops
 * ({@code tcp_ack}, ACK_UNSENT_DATA). Here that is also what a lost frame looks like (a capture
 * that missed the receiver's segment, or a frame the tap could not read): refusing it would
 * refuse every later segment of the peer, all acknowledging past the loss, and blind the detector
 * to the rest of the connection. A too old acknowledgement (RFC 5961 §5.2) is not judged either:
 * Linux's fast path takes an in-order segment without looking at it.
 *
 * <p>PAWS (RFC 7323 §5) as a Linux receiver applies it to one connection ({@code tcp_paws_discard},
 * {@code tcp_replace_ts_recent}): when both handshake segments carried timestamps, a segment whose
 * TSval is more than one tick older than the newest its receiver recorded is dropped, RSTs
 * excepted. The receiver records a TSval from a segment that starts at or before what it last
 * acknowledged (Linux's rcv_wup, here the acknowledgement number its own last segment carried).
 * A sender's decoy with a stale TSval ahead of the real bytes is one the guest drops, so it must
 * not stand in for them. Pure acknowledgements are not judged (Linux lets disordered ones pass,
 * and they carry no bytes). The acknowledgements are seen after the receiver sent them, so what is
 * recorded here is never newer than what the receiver recorded: a segment dropped here is one it
 * drops too.
 */
final class ReceiverChecks {
    /** Whether the client's SYN and the server's SYN-ACK carried timestamps. */
    private boolean clientTs, serverTs;
    /** Per receiver (0: the server, 1: the client): the newest TSval recorded, and its last acknowledgement. */
    private final int[] recent = new int[2], acked = new int[2];
    private final boolean[] recentSet = new boolean[2], ackedSet = new boolean[2];

    /** Whether the client's SYN, and the server's SYN-ACK, carried a TCP MD5 or TCP-AO signature: its socket has a key. */
    private boolean signedByClient, signedByServer;

    /**
     * Whether the client's SYN, and the server's SYN-ACK, were seen: only the first of each side
     * sets what its socket negotiated. A later one inside the connection is one its receiver
     * drops (a challenge ACK), so it must not change what is judged.
     */
    private boolean clientSyn, serverSyn;

    void reset() {
        clientTs = serverTs = signedByClient = signedByServer = clientSyn = serverSyn = false;
        recentSet[0] = recentSet[1] = ackedSet[0] = ackedSet[1] = false;
    }

    /** The first SYN from this side: it sets its socket's timestamps and key. */
    private boolean firstSyn(boolean toServer, int flags) {
        if ((flags & Packet.TCP_SYN) == 0 || (toServer ? clientSyn : serverSyn)) {
            return false;
        }
        if (toServer) clientSyn = true; else serverSyn = true;
        return true;
    }

    /**
     * Why the receiver's stack drops this packet, by event name, or null when it takes it: the
     * decoder's reasons ({@link DecodeEvent#RECEIVER_DROPS}), then, for TCP, the socket's in Linux's
     * order (signature, flags, PAWS). Such a packet is counted in its flow, since it was on the
     * wire, but its bytes, flags and sequence numbers must not stand in for the packets the
     * receiver does take (an insertion: a sender's decoy ahead of the real bytes, or a RST that
     * ends nothing).
     */
    String refusal(Packet p, boolean toServer, boolean tcp, int flags) {
        long drops = p.events() & DecodeEvent.RECEIVER_DROPS;
        if (drops != 0) {
            return DecodeEvent.firstOf(drops).eventName();
        }
        if (!tcp) {
            return null;
        }
        boolean firstSyn = firstSyn(toServer, flags);
        if (signatureRefused(p, toServer, flags, firstSyn)) {
            return "stream.pkt_signature_unexpected";
        }
        if (withoutAckFlag(flags)) {
            return "stream.pkt_without_ack_flag";
        }
        return pawsRefuses(p, toServer, flags, firstSyn) ? "stream.pkt_invalid_timestamp" : null;
    }

    /**
     * Whether neither ACK, SYN nor RST is set (a bare FIN, PSH or no flag at all): a Linux
     * receiver drops such a segment in every state ({@code tcp_rcv_established},
     * {@code tcp_rcv_state_process}: SKB_DROP_REASON_TCP_FLAGS).
     */
    static boolean withoutAckFlag(int flags) {
        return (flags & (Packet.TCP_ACK | Packet.TCP_SYN | Packet.TCP_RST)) == 0;
    }

    /**
     * Whether a Linux receiver drops this segment for its signature ({@code tcp_inbound_hash}): it
     * carries a TCP MD5 or TCP-AO option its socket has no key for, or lacks one its socket
     * expects. A socket has a key when its own handshake segment was signed (the client's SYN, the
     * server's SYN-ACK); without the receiver's handshake segment seen (a connection picked up
     * midway, as a long-lived BGP session is), nothing is judged. Handshake segments set this and
     * are not judged themselves: they carry nothing the stream keeps before they are acknowledged.
     */
    boolean signatureRefused(Packet p, boolean toServer, int flags, boolean firstSyn) {
        boolean signed = p.tcpSigned();
        if ((flags & Packet.TCP_SYN) != 0) {
            if (firstSyn) {
                if (toServer) signedByClient = signed; else signedByServer = signed;
            }
            return false;
        }
        return (toServer ? serverSyn : clientSyn) && signed != (toServer ? signedByServer : signedByClient);
    }

    /**
     * Sees a segment the decoder passed; true when its receiver drops it under PAWS. A TSval is
     * recorded as Linux's {@code tcp_replace_ts_recent} does, from a segment the receiver takes in
     * that starts at or before its last acknowledgement: not from a RST, nor from an old duplicate
     * ending before that acknowledgement ({@code tcp_sequence} drops it first), nor from a SYN
     * but the first of its side.
     */
    boolean pawsRefuses(Packet p, boolean toServer, int flags, boolean firstSyn) {
        int r = toServer ? 0 : 1;
        boolean ts = p.hasTimestamp();
        boolean refused = false;
        if ((flags & Packet.TCP_SYN) != 0) {
            if (firstSyn) {
                if (toServer) clientTs = ts; else serverTs = ts;
                if (ts) {
                    recent[r] = p.tsVal();
                    recentSet[r] = true;
                }
            }
        } else if (ts && clientTs && serverTs && recentSet[r] && (flags & Packet.TCP_RST) == 0) {
            int fin = (flags & Packet.TCP_FIN) != 0 ? 1 : 0;
            boolean carries = p.payloadLength() > 0 || fin != 0;
            if (carries && recent[r] - p.tsVal() > 1) {
                refused = true;
            } else if (ackedSet[r] && p.seq() - acked[r] <= 0 && p.seq() + p.payloadLength() + fin - acked[r] >= 0
                    && p.tsVal() - recent[r] >= 0) {
                recent[r] = p.tsVal();
            }
        }
        if ((flags & Packet.TCP_ACK) != 0 && (!ackedSet[1 - r] || p.ack() - acked[1 - r] > 0)) {
            acked[1 - r] = p.ack(); // this segment's sender receives the other direction
            ackedSet[1 - r] = true;
        }
        return refused;
    }
}
