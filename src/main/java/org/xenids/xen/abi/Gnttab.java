package org.xenids.xen.abi;

import java.lang.foreign.MemorySegment;

/**
 * Grant-table structs of {@code xen/grant_table.h} (Xen 4.17, x86-64): static offsets and
 * accessors on a segment plus a base offset, so ring and op arrays are read in place.
 */
public final class Gnttab {
    private Gnttab() {}

    /** {@code grant_entry_v1}: 8 bytes, 512 per 4 KiB grant-table frame. */
    public static final class EntryV1 {
        private EntryV1() {}
        public static final int SIZE = 8, FLAGS = 0, DOMID = 2, FRAME = 4;
        public static final int PER_FRAME = 4096 / SIZE;
        public static final StructLayout LAYOUT = StructLayout.of("grant_entry_v1", SIZE,
                "flags", FLAGS, 2, "domid", DOMID, 2, "frame", FRAME, 4);
        public static int flags(MemorySegment s, long at) { return Le.u16(s, at + FLAGS); }
        public static int domid(MemorySegment s, long at) { return Le.u16(s, at + DOMID); }
        public static int frame(MemorySegment s, long at) { return Le.u32(s, at + FRAME); }
        public static void flags(MemorySegment s, long at, int v) { Le.u16(s, at + FLAGS, v); }
        public static void domid(MemorySegment s, long at, int v) { Le.u16(s, at + DOMID, v); }
        public static void frame(MemorySegment s, long at, int v) { Le.u32(s, at + FRAME, v); }
    }

    /** {@code grant_entry_v2}: 16-byte union of full_page, sub_page and transitive entries. */
    public static final class EntryV2 {
        private EntryV2() {}
        public static final int SIZE = 16, FLAGS = 0, DOMID = 2, FRAME = 8, PAGE_OFF = 4, LENGTH = 6,
                TRANS_DOMID = 4, TRANS_GREF = 8;
        public static final StructLayout LAYOUT = StructLayout.of("grant_entry_v2", SIZE,
                "hdr.flags", FLAGS, 2, "hdr.domid", DOMID, 2,
                "full_page.pad0", 4, 4, "full_page.frame", FRAME, 8,
                "sub_page.page_off", PAGE_OFF, 2, "sub_page.length", LENGTH, 2, "sub_page.frame", FRAME, 8,
                "transitive.trans_domid", TRANS_DOMID, 2, "transitive.pad0", 6, 2,
                "transitive.gref", TRANS_GREF, 4);
        public static int flags(MemorySegment s, long at) { return Le.u16(s, at + FLAGS); }
        public static int domid(MemorySegment s, long at) { return Le.u16(s, at + DOMID); }
        public static long frame(MemorySegment s, long at) { return Le.u64(s, at + FRAME); }
    }

    /**
     * {@code gnttab_copy}: 40 bytes. {@code source}/{@code dest} hold a grant ref or a gmfn in
     * {@code u} (by {@link Xen#GNTCOPY_source_gref}/{@link Xen#GNTCOPY_dest_gref}).
     */
    public static final class Copy {
        private Copy() {}
        public static final int SIZE = 40, SRC_U = 0, SRC_DOMID = 8, SRC_OFFSET = 10,
                DST_U = 16, DST_DOMID = 24, DST_OFFSET = 26, LEN = 32, FLAGS = 34, STATUS = 36;
        public static final StructLayout LAYOUT = StructLayout.of("gnttab_copy", SIZE,
                "source.u.ref", SRC_U, 4, "source.u.gmfn", SRC_U, 8, "source.domid", SRC_DOMID, 2,
                "source.offset", SRC_OFFSET, 2,
                "dest.u.ref", DST_U, 4, "dest.u.gmfn", DST_U, 8, "dest.domid", DST_DOMID, 2,
                "dest.offset", DST_OFFSET, 2,
                "len", LEN, 2, "flags", FLAGS, 2, "status", STATUS, 2);
        public static long srcU(MemorySegment s, long at) { return Le.u64(s, at + SRC_U); }
        public static int srcDomid(MemorySegment s, long at) { return Le.u16(s, at + SRC_DOMID); }
        public static int srcOffset(MemorySegment s, long at) { return Le.u16(s, at + SRC_OFFSET); }
        public static long dstU(MemorySegment s, long at) { return Le.u64(s, at + DST_U); }
        public static int dstDomid(MemorySegment s, long at) { return Le.u16(s, at + DST_DOMID); }
        public static int dstOffset(MemorySegment s, long at) { return Le.u16(s, at + DST_OFFSET); }
        public static int len(MemorySegment s, long at) { return Le.u16(s, at + LEN); }
        public static int flags(MemorySegment s, long at) { return Le.u16(s, at + FLAGS); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }
        public static void status(MemorySegment s, long at, int v) { Le.u16(s, at + STATUS, v); }

        /** Fills one op; a gref side stores the ref in the low 32 bits of {@code u}. */
        public static void set(MemorySegment s, long at, long srcU, int srcDomid, int srcOffset,
                               long dstU, int dstDomid, int dstOffset, int len, int flags) {
            Le.u64(s, at + SRC_U, srcU);
            Le.u16(s, at + SRC_DOMID, srcDomid);
            Le.u16(s, at + SRC_OFFSET, srcOffset);
            Le.u32(s, at + 12, 0);
            Le.u64(s, at + DST_U, dstU);
            Le.u16(s, at + DST_DOMID, dstDomid);
            Le.u16(s, at + DST_OFFSET, dstOffset);
            Le.u32(s, at + 28, 0);
            Le.u16(s, at + LEN, len);
            Le.u16(s, at + FLAGS, flags);
            Le.u16(s, at + STATUS, 0);
            Le.u16(s, at + 38, 0);
        }
    }

    /** {@code gnttab_map_grant_ref}: 32 bytes; status, handle and dev_bus_addr are OUT. */
    public static final class Map {
        private Map() {}
        public static final int SIZE = 32, HOST_ADDR = 0, FLAGS = 8, REF = 12, DOM = 16, STATUS = 18,
                HANDLE = 20, DEV_BUS_ADDR = 24;
        public static final StructLayout LAYOUT = StructLayout.of("gnttab_map_grant_ref", SIZE,
                "host_addr", HOST_ADDR, 8, "flags", FLAGS, 4, "ref", REF, 4, "dom", DOM, 2,
                "status", STATUS, 2, "handle", HANDLE, 4, "dev_bus_addr", DEV_BUS_ADDR, 8);
        public static long hostAddr(MemorySegment s, long at) { return Le.u64(s, at + HOST_ADDR); }
        public static int flags(MemorySegment s, long at) { return Le.u32(s, at + FLAGS); }
        public static int ref(MemorySegment s, long at) { return Le.u32(s, at + REF); }
        public static int dom(MemorySegment s, long at) { return Le.u16(s, at + DOM); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }
        public static int handle(MemorySegment s, long at) { return Le.u32(s, at + HANDLE); }
        public static long devBusAddr(MemorySegment s, long at) { return Le.u64(s, at + DEV_BUS_ADDR); }

        public static void set(MemorySegment s, long at, long hostAddr, int flags, int ref, int dom) {
            Le.u64(s, at + HOST_ADDR, hostAddr);
            Le.u32(s, at + FLAGS, flags);
            Le.u32(s, at + REF, ref);
            Le.u16(s, at + DOM, dom);
            Le.u16(s, at + STATUS, 0);
            Le.u32(s, at + HANDLE, 0);
            Le.u64(s, at + DEV_BUS_ADDR, 0);
        }

        static void result(MemorySegment s, long at, int status, int handle, long devBusAddr) {
            Le.u16(s, at + STATUS, status);
            Le.u32(s, at + HANDLE, handle);
            Le.u64(s, at + DEV_BUS_ADDR, devBusAddr);
        }
    }

    /** {@code gnttab_unmap_grant_ref}: 24 bytes; status is OUT. */
    public static final class Unmap {
        private Unmap() {}
        public static final int SIZE = 24, HOST_ADDR = 0, DEV_BUS_ADDR = 8, HANDLE = 16, STATUS = 20;
        public static final StructLayout LAYOUT = StructLayout.of("gnttab_unmap_grant_ref", SIZE,
                "host_addr", HOST_ADDR, 8, "dev_bus_addr", DEV_BUS_ADDR, 8, "handle", HANDLE, 4,
                "status", STATUS, 2);
        public static long hostAddr(MemorySegment s, long at) { return Le.u64(s, at + HOST_ADDR); }
        public static long devBusAddr(MemorySegment s, long at) { return Le.u64(s, at + DEV_BUS_ADDR); }
        public static int handle(MemorySegment s, long at) { return Le.u32(s, at + HANDLE); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }

        public static void set(MemorySegment s, long at, long hostAddr, long devBusAddr, int handle) {
            Le.u64(s, at + HOST_ADDR, hostAddr);
            Le.u64(s, at + DEV_BUS_ADDR, devBusAddr);
            Le.u32(s, at + HANDLE, handle);
            Le.u32(s, at + STATUS, 0);
        }
    }

    /**
     * {@code gnttab_setup_table}: 24 bytes. {@code frame_list} is a guest handle: the address,
     * in the caller's memory, of an array of {@code nr_frames} u64 frame numbers (OUT).
     */
    public static final class SetupTable {
        private SetupTable() {}
        public static final int SIZE = 24, DOM = 0, NR_FRAMES = 4, STATUS = 8, FRAME_LIST = 16;
        public static final StructLayout LAYOUT = StructLayout.of("gnttab_setup_table", SIZE,
                "dom", DOM, 2, "nr_frames", NR_FRAMES, 4, "status", STATUS, 2, "frame_list", FRAME_LIST, 8);
        public static int dom(MemorySegment s, long at) { return Le.u16(s, at + DOM); }
        public static int nrFrames(MemorySegment s, long at) { return Le.u32(s, at + NR_FRAMES); }
        public static int status(MemorySegment s, long at) { return Le.s16(s, at + STATUS); }
        public static long frameList(MemorySegment s, long at) { return Le.u64(s, at + FRAME_LIST); }

        public static void set(MemorySegment s, long at, int dom, int nrFrames, long frameList) {
            Le.u16(s, at + DOM, dom);
            Le.u16(s, at + 2, 0);
            Le.u32(s, at + NR_FRAMES, nrFrames);
            Le.u64(s, at + STATUS, 0);
            Le.u64(s, at + FRAME_LIST, frameList);
        }
    }
}
