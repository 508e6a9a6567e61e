package org.xenids.xen.abi;

import java.lang.foreign.MemorySegment;

/**
 * The network rings: the {@code io/ring.h} shared-ring page as {@code DEFINE_RING_TYPES(netif_tx,
 * …)} and {@code (netif_rx, …)} declare it, and the {@code io/netif.h} entries.
 * Indices are free-running u32; slot = idx &amp; (size − 1).
 */
public final class Netif {
    private Netif() {}

    /** The shared-ring page header; entries start at {@link #RING}. */
    public static final class Sring {
        private Sring() {}
        public static final int REQ_PROD = 0, REQ_EVENT = 4, RSP_PROD = 8, RSP_EVENT = 12, RING = 64;
        /** Largest power of two ≤ (4096 − 64) / 12: 256 TX slots ({@code NET_TX_RING_SIZE}). */
        public static final int TX_SIZE = ringSize(12);
        /** Largest power of two ≤ (4096 − 64) / 8: 256 RX slots ({@code NET_RX_RING_SIZE}). */
        public static final int RX_SIZE = ringSize(8);
        public static final StructLayout TX_LAYOUT = layout("netif_tx_sring", TxRequest.SIZE);
        public static final StructLayout RX_LAYOUT = layout("netif_rx_sring", RxRequest.SIZE);

        /** {@code __RING_SIZE} for a 4 KiB page: entries are the union of request and response. */
        static int ringSize(int entrySize) {
            return Integer.highestOneBit((4096 - RING) / entrySize);
        }

        private static StructLayout layout(String name, int entry) {
            return StructLayout.of(name, RING + entry, "req_prod", REQ_PROD, 4, "req_event", REQ_EVENT, 4,
                    "rsp_prod", RSP_PROD, 4, "rsp_event", RSP_EVENT, 4,
                    "pvt.netif.smartpoll_active", 16, 1, "pvt.pvt_pad", 16, 4, "__pad", 20, 44,
                    "ring", RING, entry);
        }

        public static int reqProd(MemorySegment s, long at) { return Le.u32(s, at + REQ_PROD); }
        public static int reqEvent(MemorySegment s, long at) { return Le.u32(s, at + REQ_EVENT); }
        public static int rspProd(MemorySegment s, long at) { return Le.u32(s, at + RSP_PROD); }
        public static int rspEvent(MemorySegment s, long at) { return Le.u32(s, at + RSP_EVENT); }
        public static void reqProd(MemorySegment s, long at, int v) { Le.u32(s, at + REQ_PROD, v); }
        public static void reqEvent(MemorySegment s, long at, int v) { Le.u32(s, at + REQ_EVENT, v); }
        public static void rspProd(MemorySegment s, long at, int v) { Le.u32(s, at + RSP_PROD, v); }
        public static void rspEvent(MemorySegment s, long at, int v) { Le.u32(s, at + RSP_EVENT, v); }

        /** Byte offset of the entry for free-running index {@code idx}. */
        public static long entry(int idx, int ringSize, int entrySize) {
            return RING + (long) (idx & (ringSize - 1)) * entrySize;
        }

        /**
         * {@code RING_PUSH_*_AND_CHECK_NOTIFY}: after moving a producer from {@code old} to
         * {@code now}, notify only if the consumer's event index lies in (old, now].
         */
        public static boolean needsNotify(int old, int now, int event) {
            return (now - event) < (now - old);
        }
    }

    /** {@code netif_tx_request}: 12 bytes. The first slot's size is the whole packet. */
    public static final class TxRequest {
        private TxRequest() {}
        public static final int SIZE = 12, GREF = 0, OFFSET = 4, FLAGS = 6, ID = 8, SIZE_FIELD = 10;
        public static final StructLayout LAYOUT = StructLayout.of("netif_tx_request", SIZE,
                "gref", GREF, 4, "offset", OFFSET, 2, "flags", FLAGS, 2, "id", ID, 2, "size", SIZE_FIELD, 2);
        public static int gref(MemorySegment s, long at) { return Le.u32(s, at + GREF); }
        public static int offset(MemorySegment s, long at) { return Le.u16(s, at + OFFSET); }
        public static int flags(MemorySegment s, long at) { return Le.u16(s, at + FLAGS); }
        public static int id(MemorySegment s, long at) { return Le.u16(s, at + ID); }
        public static int size(MemorySegment s, long at) { return Le.u16(s, at + SIZE_FIELD); }
        public static void set(MemorySegment s, long at, int gref, int offset, int flags, int id, int size) {
            Le.u32(s, at + GREF, gref);
            Le.u16(s, at + OFFSET, offset);
            Le.u16(s, at + FLAGS, flags);
            Le.u16(s, at + ID, id);
            Le.u16(s, at + SIZE_FIELD, size);
        }
    }

    /** {@code netif_tx_response}: 4 bytes (id, status NETIF_RSP_*). */
    public static final class TxResponse {
        private TxResponse() {}
        public static final int SIZE = 4, ID = 0, STATUS = 2;
        public static final StructLayout LAYOUT = StructLayout.of("netif_tx_response", SIZE,
                "id", ID, 2, "status", STATUS, 2);
        public static int id(MemorySegment s, long at) { return Le.u16(s, at + ID); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }
        public static void set(MemorySegment s, long at, int id, int status) {
            Le.u16(s, at + ID, id);
            Le.u16(s, at + STATUS, status);
        }
    }

    /** {@code netif_rx_request}: 8 bytes (id, pad, gref of a writable page). */
    public static final class RxRequest {
        private RxRequest() {}
        public static final int SIZE = 8, ID = 0, GREF = 4;
        public static final StructLayout LAYOUT = StructLayout.of("netif_rx_request", SIZE,
                "id", ID, 2, "pad", 2, 2, "gref", GREF, 4);
        public static int id(MemorySegment s, long at) { return Le.u16(s, at + ID); }
        public static int gref(MemorySegment s, long at) { return Le.u32(s, at + GREF); }
        public static void set(MemorySegment s, long at, int id, int gref) {
            Le.u16(s, at + ID, id);
            Le.u16(s, at + 2, 0);
            Le.u32(s, at + GREF, gref);
        }
    }

    /** {@code netif_rx_response}: 8 bytes; status is the byte count or a NETIF_RSP_* error. */
    public static final class RxResponse {
        private RxResponse() {}
        public static final int SIZE = 8, ID = 0, OFFSET = 2, FLAGS = 4, STATUS = 6;
        public static final StructLayout LAYOUT = StructLayout.of("netif_rx_response", SIZE,
                "id", ID, 2, "offset", OFFSET, 2, "flags", FLAGS, 2, "status", STATUS, 2);
        public static int id(MemorySegment s, long at) { return Le.u16(s, at + ID); }
        public static int offset(MemorySegment s, long at) { return Le.u16(s, at + OFFSET); }
        public static int flags(MemorySegment s, long at) { return Le.u16(s, at + FLAGS); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }
        public static void set(MemorySegment s, long at, int id, int offset, int flags, int status) {
            Le.u16(s, at + ID, id);
            Le.u16(s, at + OFFSET, offset);
            Le.u16(s, at + FLAGS, flags);
            Le.u16(s, at + STATUS, status);
        }
    }

    /** {@code netif_extra_info}: 8 bytes, a ring slot of its own after a request with extra_info. */
    public static final class ExtraInfo {
        private ExtraInfo() {}
        public static final int SIZE = 8, TYPE = 0, FLAGS = 1, GSO_SIZE = 2, GSO_TYPE = 4, GSO_FEATURES = 6, MCAST_ADDR = 2;
        public static final StructLayout LAYOUT = StructLayout.of("netif_extra_info", SIZE,
                "type", TYPE, 1, "flags", FLAGS, 1,
                "u.gso.size", GSO_SIZE, 2, "u.gso.type", GSO_TYPE, 1, "u.gso.pad", 5, 1,
                "u.gso.features", GSO_FEATURES, 2,
                "u.mcast.addr", MCAST_ADDR, 6, "u.hash.type", 2, 1, "u.hash.algorithm", 3, 1, "u.hash.value", 4, 4,
                "u.pad", 2, 6);
        public static int type(MemorySegment s, long at) { return Le.u8(s, at + TYPE); }
        public static int flags(MemorySegment s, long at) { return Le.u8(s, at + FLAGS); }
        public static int gsoSize(MemorySegment s, long at) { return Le.u16(s, at + GSO_SIZE); }
        public static int gsoType(MemorySegment s, long at) { return Le.u8(s, at + GSO_TYPE); }
        public static int gsoFeatures(MemorySegment s, long at) { return Le.u16(s, at + GSO_FEATURES); }
        /** u.mcast.addr as a number, its first byte the most significant (as written). */
        public static long mcastAddr(MemorySegment s, long at) {
            long v = 0;
            for (int i = 0; i < 6; i++) {
                v = v << 8 | Le.u8(s, at + MCAST_ADDR + i);
            }
            return v;
        }
        /** An MCAST_ADD or MCAST_DEL extra for the MAC {@code addr} (as {@link #mcastAddr} gives it). */
        public static void setMcast(MemorySegment s, long at, int type, int flags, long addr) {
            Le.u8(s, at + TYPE, type);
            Le.u8(s, at + FLAGS, flags);
            for (int i = 0; i < 6; i++) {
                Le.u8(s, at + MCAST_ADDR + i, (int) (addr >>> (40 - 8 * i)) & 0xff);
            }
        }
        public static void setGso(MemorySegment s, long at, int flags, int gsoSize, int gsoType) {
            Le.u8(s, at + TYPE, Xen.XEN_NETIF_EXTRA_TYPE_GSO);
            Le.u8(s, at + FLAGS, flags);
            Le.u16(s, at + GSO_SIZE, gsoSize);
            Le.u8(s, at + GSO_TYPE, gsoType);
            Le.u8(s, at + 5, 0);
            Le.u16(s, at + GSO_FEATURES, 0);
        }
    }
}
