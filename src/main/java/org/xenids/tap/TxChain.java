package org.xenids.tap;

import static org.xenids.tap.TxRing.*;
import static org.xenids.xen.abi.Xen.*;

import org.xenids.xen.abi.Netif;

/**
 * A TX packet's request chain read as Linux netback reads it ({@code xenvif_tx_build_gops} with
 * {@code xenvif_get_extras} and {@code xenvif_count_requests}): which requests the packet spans,
 * with their refs, offsets and sizes, and whether netback takes it, drops it or stops the vif. A
 * garbage chain is thus reported where netback rejects it. Apart from {@link TxRing}, which
 * follows the copies and maps of the packets taken, because these checks are netback's rules, to
 * be read against its source, and most of them guard against a hostile frontend, not traffic.
 */
final class TxChain {
    private TxChain() {}

    /** One packet of {@code r} from request {@code i}: its end index, or −1 when the chain is not (yet) whole. */
    static int parse(TxRing r, int i, long now) {
        byte[] page = r.page;
        int flags0 = u16(page, i, Netif.TxRequest.FLAGS);
        int size0 = u16(page, i, Netif.TxRequest.SIZE_FIELD);
        int j = i + 1;
        boolean mcast = false;
        boolean gso = false;
        int badGso = -1;
        if ((flags0 & NETTXF_extra_info) != 0) {
            int extras = 0;
            int exFlags;
            do {
                if (j == r.reqProd) {
                    return fatal(r, "tx.chain_past_req_prod", i, now);
                }
                int type = Mem.u8(page, Netif.Sring.RING + (j & MASK) * ENTRY + Netif.ExtraInfo.TYPE);
                if (++extras > XEN_NETIF_EXTRA_TYPE_MAX || type == XEN_NETIF_EXTRA_TYPE_NONE || type >= XEN_NETIF_EXTRA_TYPE_MAX) {
                    return fatal(r, "tx.bad_extra_info", j, now);
                }
                mcast |= type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
                if (type == XEN_NETIF_EXTRA_TYPE_GSO) {
                    gso = true;
                    int at = Netif.Sring.RING + (j & MASK) * ENTRY;
                    int gsoType = Mem.u8(page, at + Netif.ExtraInfo.GSO_TYPE);
                    if (Mem.u16(page, at + Netif.ExtraInfo.GSO_SIZE) == 0
                            || gsoType != XEN_NETIF_GSO_TYPE_TCPV4 && gsoType != XEN_NETIF_GSO_TYPE_TCPV6) {
                        badGso = j;
                    }
                }
                r.kind[j & MASK] = EXTRA;
                exFlags = Mem.u8(page, Netif.Sring.RING + (j & MASK) * ENTRY + Netif.ExtraInfo.FLAGS);
                j++;
            } while ((exFlags & XEN_NETIF_EXTRA_FLAG_MORE) != 0);
        }
        if (mcast) {
            // A multicast-filter command (feature-multicast-control), not a packet: netback answers
            // it at once, reads none of its slot and does not follow its NETTXF_more_data. Nothing
            // will copy or map it: finished now, or it would hold back every request after it.
            int s0 = i & MASK;
            r.kind[s0] = FIRST;
            r.pkt[s0] = i; // its own, finished: no copy may match its slot
            r.pktEnd[s0] = j;
            r.pktState[s0] = INVALID;
            r.reports.multicastCommand();
            return j;
        }
        int firstData = j;
        boolean drop = false;
        String why = null;
        int whySlot = i;
        int remaining = size0;
        boolean more = (flags0 & NETTXF_more_data) != 0;
        int slots = 0;
        while (more) {
            if (j == r.reqProd) {
                return fatal(r, "tx.chain_past_req_prod", i, now);
            }
            if (slots >= FATAL_SLOTS) {
                return fatal(r, "tx.too_many_slots", i, now);
            }
            if (slots >= MAX_SLOTS && !drop) {
                drop = true;
                why = "tx.too_many_slots";
            }
            int sz = u16(page, j, Netif.TxRequest.SIZE_FIELD);
            int o = u16(page, j, Netif.TxRequest.OFFSET);
            if (sz > remaining && !drop) {
                drop = true;
                why = "tx.slot_size_exceeds_packet";
                whySlot = j;
            }
            remaining -= sz;
            if (o + sz > 4096) {
                return fatal(r, "tx.offset_size_past_page", j, now);
            }
            int s = j & MASK;
            r.kind[s] = FOLLOW;
            r.gref[s] = u32(page, j, Netif.TxRequest.GREF);
            r.off[s] = o;
            r.size[s] = sz;
            more = (u16(page, j, Netif.TxRequest.FLAGS) & NETTXF_more_data) != 0;
            slots++;
            j++;
        }
        if (!drop && remaining < 14) { // the first slot's own bytes: netback checks them after xenvif_count_requests
            drop = true;
            why = "tx.size_too_small";
        }
        int o0 = u16(page, i, Netif.TxRequest.OFFSET);
        if (!drop && o0 + remaining > 4096) {
            return fatal(r, "tx.offset_size_past_page", i, now);
        }
        if (!drop && badGso >= 0) {
            return fatal(r, "tx.bad_gso", badGso, now); // xenvif_set_skb_gso: size 0 or not TCPv4/v6
        }
        int s0 = i & MASK;
        r.kind[s0] = FIRST;
        r.gref[s0] = u32(page, i, Netif.TxRequest.GREF);
        r.off[s0] = o0;
        r.size[s0] = Math.max(remaining, 0);
        r.pktEnd[s0] = j;
        r.pktLen[s0] = size0;
        r.pktTime[s0] = now;
        // netback makes a GSO packet CHECKSUM_PARTIAL whatever its flags (checksum_setup): its
        // checksums are filled in when it is segmented, so only a plain one's stand as sent.
        r.pktChecked[s0] = !gso && (flags0 & (NETTXF_csum_blank | NETTXF_data_validated)) == 0;
        if (drop) {
            // netback answers every slot with an error and reads nothing.
            for (int k = i; k != j; k++) {
                r.pkt[k & MASK] = i; // finished: no copy or map may match its slots
            }
            r.pktState[s0] = INVALID;
            r.reports.anomaly(r.q, TX_DIR, why, whySlot & MASK, now);
            r.reports.dropped(r.q, 1);
        } else {
            r.follow(i, j, firstData);
        }
        return j;
    }

    private static int fatal(TxRing r, String event, int idx, long now) {
        // netback's xenvif_fatal_tx_err: the vif stops, nothing after this is read.
        r.reports.anomaly(r.q, TX_DIR, event, idx & MASK, now);
        r.broken = true;
        return -1;
    }

    private static int u16(byte[] page, int idx, int field) {
        return Mem.u16(page, Netif.Sring.RING + (idx & MASK) * ENTRY + field);
    }

    private static int u32(byte[] page, int idx, int field) {
        return Mem.u32(page, Netif.Sring.RING + (idx & MASK) * ENTRY + field);
    }
}
