package org.xenids.xen.emu;

import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Le;

/**
 * GNTTABOP_map_grant_ref, unmap_grant_ref, setup_table and copy with Xen 4.17's checks, in
 * Xen's order (common/grant_table.c: map_grant_ref, unmap_common, gnttab_copy_one,
 * acquire_grant_for_copy, _set_status_v1), so each bad argument gets the status a real Xen gives.
 */
final class GrantOps {
    // Active-entry pin counters (GNTPIN_*): host/device read/write, one byte each.
    static final int HSTR = 1, HSTW = 1 << 8, DEVR = 1 << 16, DEVW = 1 << 24;
    static final int WRITE_PINS = 0xff00 | 0xff000000;
    static final int PIN_OVERFLOW = 0x80808080;
    private static final int PAGE = 4096;

    private final XenHost host;
    /** Frame of the grant acquired by the last successful {@link #acquire}. */
    private long acquired;

    GrantOps(XenHost host) {
        this.host = host;
    }

    long apply(Call call, Domain ld, MemorySegment a) {
        switch (call.cmd) {
            case GNTTABOP_map_grant_ref -> {
                for (int i = 0; i < call.count; i++) {
                    long at = (long) i * Gnttab.Map.SIZE;
                    if (!host.allowed(call, i)) {
                        Le.u16(a, at + Gnttab.Map.STATUS, GNTST_permission_denied);
                    } else {
                        map(ld, a, at);
                    }
                }
            }
            case GNTTABOP_unmap_grant_ref -> {
                for (int i = 0; i < call.count; i++) {
                    long at = (long) i * Gnttab.Unmap.SIZE;
                    Le.u16(a, at + Gnttab.Unmap.STATUS,
                            host.allowed(call, i) ? unmap(ld, a, at) : GNTST_permission_denied);
                }
            }
            case GNTTABOP_copy -> {
                for (int i = 0; i < call.count; i++) {
                    long at = (long) i * Gnttab.Copy.SIZE;
                    Gnttab.Copy.status(a, at, host.allowed(call, i) ? copy(ld, a, at) : GNTST_permission_denied);
                }
            }
            case GNTTABOP_setup_table -> {
                if (call.count != 1) {
                    return -XEN_EINVAL;
                }
                Le.u16(a, Gnttab.SetupTable.STATUS,
                        host.allowed(call, 0) ? setupTable(ld, a) : GNTST_permission_denied);
            }
            default -> throw new IllegalStateException("unhandled grant op " + call.cmd);
        }
        return 0;
    }

    private void map(Domain ld, MemorySegment a, long at) {
        int flags = Gnttab.Map.flags(a, at);
        int ref = Gnttab.Map.ref(a, at);
        if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) == 0) {
            Le.u16(a, at + Gnttab.Map.STATUS, GNTST_bad_gntref);
            return;
        }
        Domain rd = host.byId(Gnttab.Map.dom(a, at));
        if (rd == null) {
            Le.u16(a, at + Gnttab.Map.STATUS, GNTST_bad_domain);
            return;
        }
        int handle = ld.getMaptrackHandle();
        if (handle < 0) {
            Le.u16(a, at + Gnttab.Map.STATUS, GNTST_no_device_space);
            return;
        }
        int rc = pinForMap(ld, rd, ref, flags);
        if (rc != GNTST_okay) {
            ld.putMaptrackHandle(handle);
            Le.u16(a, at + Gnttab.Map.STATUS, rc);
            return;
        }
        ld.mtFlags[handle] = flags;
        ld.mtDomid[handle] = (short) rd.domid;
        ld.mtRef[handle] = ref;
        ld.mtHostAddr[handle] = Gnttab.Map.hostAddr(a, at);
        Le.u16(a, at + Gnttab.Map.STATUS, GNTST_okay);
        Le.u32(a, at + Gnttab.Map.HANDLE, handle);
        Le.u64(a, at + Gnttab.Map.DEV_BUS_ADDR, rd.actFrame[ref] << 12);
    }

    private int pinForMap(Domain ld, Domain rd, int ref, int flags) {
        if (Integer.compareUnsigned(ref, rd.grantEntries()) >= 0) {
            return GNTST_bad_gntref;
        }
        boolean readonly = (flags & GNTMAP_readonly) != 0;
        int pin = rd.pin[ref];
        if (pin != 0 && (rd.actDomid[ref] != (short) ld.domid || (pin & PIN_OVERFLOW) != 0)) {
            return GNTST_general_error;
        }
        if (pin == 0 || (!readonly && (pin & WRITE_PINS) == 0)) {
            int rc = setStatus(rd, ref, readonly, true, ld.domid);
            if (rc != GNTST_okay) {
                return rc;
            }
            if (pin == 0) {
                long gfn = Integer.toUnsignedLong(Gnttab.EntryV1.frame(rd.entryPage(ref), Domain.entryOffset(ref)));
                if (!host.frames.owns(rd.domid, gfn)) {
                    clearUnpinned(rd, ref, readonly);
                    return GNTST_bad_page;
                }
                rd.actDomid[ref] = (short) ld.domid;
                rd.actFrame[ref] = gfn;
            }
        }
        if ((flags & GNTMAP_device_map) != 0) {
            rd.pin[ref] += readonly ? DEVR : DEVW;
        }
        if ((flags & GNTMAP_host_map) != 0) {
            rd.pin[ref] += readonly ? HSTR : HSTW;
        }
        return GNTST_okay;
    }

    private int unmap(Domain ld, MemorySegment a, long at) {
        int handle = Gnttab.Unmap.handle(a, at);
        if (Integer.compareUnsigned(handle, ld.mtLimit) >= 0 || ld.mtFlags[handle] == 0) {
            return GNTST_bad_handle;
        }
        Domain rd = host.byId(ld.mtDomid[handle] & 0xffff);
        if (rd == null) {
            return GNTST_general_error; // Xen crashes the caller here (grant implicitly unmapped)
        }
        int ref = ld.mtRef[handle];
        if (ref >= rd.grantEntries()) {
            return GNTST_bad_handle;
        }
        long frame = rd.actFrame[ref];
        long devBusAddr = Gnttab.Unmap.devBusAddr(a, at);
        if (devBusAddr != 0 && devBusAddr != frame << 12) {
            return GNTST_general_error;
        }
        int flags = ld.mtFlags[handle];
        long hostAddr = Gnttab.Unmap.hostAddr(a, at);
        int done = 0;
        if (hostAddr != 0 && (flags & GNTMAP_host_map) != 0) {
            if (hostAddr != ld.mtHostAddr[handle]) {
                return GNTST_general_error; // PV: the PTE at host_addr does not map this frame
            }
            done |= GNTMAP_host_map;
        }
        if (devBusAddr != 0 && (flags & GNTMAP_device_map) != 0) {
            done |= GNTMAP_device_map;
        }
        ld.mtFlags[handle] &= ~done;
        if ((ld.mtFlags[handle] & (GNTMAP_device_map | GNTMAP_host_map)) == 0) {
            ld.putMaptrackHandle(handle);
        }
        boolean readonly = (flags & GNTMAP_readonly) != 0;
        if ((done & GNTMAP_device_map) != 0) {
            rd.pin[ref] -= readonly ? DEVR : DEVW;
        }
        if ((done & GNTMAP_host_map) != 0) {
            rd.pin[ref] -= readonly ? HSTR : HSTW;
        }
        if (done != 0) {
            clearUnpinned(rd, ref, readonly);
        }
        return GNTST_okay;
    }

    private int copy(Domain ld, MemorySegment a, long at) {
        int flags = Gnttab.Copy.flags(a, at);
        boolean srcGref = (flags & GNTCOPY_source_gref) != 0;
        boolean dstGref = (flags & GNTCOPY_dest_gref) != 0;
        int srcDomid = Gnttab.Copy.srcDomid(a, at);
        int dstDomid = Gnttab.Copy.dstDomid(a, at);
        // gnttab_copy_lock_domains: only DOMID_SELF may name a frame rather than a grant.
        if (srcDomid != DOMID_SELF && !srcGref) {
            return GNTST_permission_denied;
        }
        Domain sd = host.byAnyId(srcDomid, ld);
        if (sd == null) {
            return GNTST_bad_domain;
        }
        if (dstDomid != DOMID_SELF && !dstGref) {
            return GNTST_permission_denied;
        }
        Domain dd = host.byAnyId(dstDomid, ld);
        if (dd == null) {
            return GNTST_bad_domain;
        }
        int srcRef = Le.u32(a, at + Gnttab.Copy.SRC_U);
        int dstRef = Le.u32(a, at + Gnttab.Copy.DST_U);
        long srcFrame;
        if (srcGref) {
            int rc = acquire(sd, srcRef, ld.domid, true);
            if (rc != GNTST_okay) {
                return rc;
            }
            srcFrame = acquired;
        } else {
            srcFrame = Gnttab.Copy.srcU(a, at);
            if (!host.frames.owns(sd.domid, srcFrame)) {
                return GNTST_bad_page;
            }
        }
        int rc;
        long dstFrame = 0;
        if (dstGref) {
            rc = acquire(dd, dstRef, ld.domid, false);
            dstFrame = acquired;
        } else {
            dstFrame = Gnttab.Copy.dstU(a, at);
            rc = host.frames.owns(dd.domid, dstFrame) ? GNTST_okay : GNTST_bad_page;
        }
        if (rc == GNTST_okay) {
            int len = Gnttab.Copy.len(a, at);
            int so = Gnttab.Copy.srcOffset(a, at);
            int dof = Gnttab.Copy.dstOffset(a, at);
            if (so + len > PAGE || dof + len > PAGE) {
                rc = GNTST_bad_copy_arg;
            } else {
                MemorySegment.copy(host.frames.page(srcFrame), so, host.frames.page(dstFrame), dof, len);
            }
            if (dstGref) {
                release(dd, dstRef, false);
            }
        }
        if (srcGref) {
            release(sd, srcRef, true);
        }
        return rc;
    }

    /** acquire_grant_for_copy for a v1 full-page grant; the frame goes to {@link #acquired}. */
    private int acquire(Domain rd, int ref, int ldomid, boolean readonly) {
        if (Integer.compareUnsigned(ref, rd.grantEntries()) >= 0) {
            return GNTST_bad_gntref;
        }
        int pin = rd.pin[ref];
        if (pin != 0 && (rd.actDomid[ref] != (short) ldomid || (pin & PIN_OVERFLOW) != 0)) {
            return GNTST_general_error;
        }
        if (pin == 0 || (!readonly && (pin & WRITE_PINS) == 0)) {
            int rc = setStatus(rd, ref, readonly, false, ldomid);
            if (rc != GNTST_okay) {
                return rc;
            }
            if (pin == 0) {
                long gfn = Integer.toUnsignedLong(Gnttab.EntryV1.frame(rd.entryPage(ref), Domain.entryOffset(ref)));
                if (!host.frames.owns(rd.domid, gfn)) {
                    clearUnpinned(rd, ref, readonly);
                    return GNTST_bad_page;
                }
                rd.actDomid[ref] = (short) ldomid;
                rd.actFrame[ref] = gfn;
            }
        }
        rd.pin[ref] += readonly ? HSTR : HSTW;
        acquired = rd.actFrame[ref];
        return GNTST_okay;
    }

    private void release(Domain rd, int ref, boolean readonly) {
        rd.pin[ref] -= readonly ? HSTR : HSTW;
        clearUnpinned(rd, ref, readonly);
    }

    /** Clears GTF_writing when no write pin is left (after a write use) and GTF_reading when unpinned. */
    private static void clearUnpinned(Domain rd, int ref, boolean readonly) {
        int clear = 0;
        if (!readonly && (rd.pin[ref] & WRITE_PINS) == 0) {
            clear |= GTF_writing;
        }
        if (rd.pin[ref] == 0) {
            clear |= GTF_reading;
        }
        if (clear != 0) {
            MemorySegment page = rd.entryPage(ref);
            long at = Domain.entryOffset(ref);
            Gnttab.EntryV1.flags(page, at, Gnttab.EntryV1.flags(page, at) & ~clear);
        }
    }

    /** _set_status_v1: checks type and grantee while unpinned, refuses writes to r/o grants, sets GTF_reading/writing. */
    private static int setStatus(Domain rd, int ref, boolean readonly, boolean mapflag, int ldomid) {
        MemorySegment page = rd.entryPage(ref);
        long at = Domain.entryOffset(ref);
        int flags = Gnttab.EntryV1.flags(page, at);
        int mask = GTF_type_mask | (mapflag ? GTF_sub_page : 0);
        if (rd.pin[ref] == 0 && ((flags & mask) != GTF_permit_access
                || Gnttab.EntryV1.domid(page, at) != ldomid)) {
            return GNTST_general_error;
        }
        int set = flags | GTF_reading;
        if (!readonly) {
            set |= GTF_writing;
            if ((flags & GTF_readonly) != 0) {
                return GNTST_general_error;
            }
        }
        Gnttab.EntryV1.flags(page, at, set);
        return GNTST_okay;
    }

    private int setupTable(Domain ld, MemorySegment a) {
        Domain d = host.byAnyId(Gnttab.SetupTable.dom(a, 0), ld);
        if (d == null) {
            return GNTST_bad_domain;
        }
        if (d != ld && !ld.privileged) {
            return GNTST_permission_denied;
        }
        int nr = Gnttab.SetupTable.nrFrames(a, 0);
        if (Integer.compareUnsigned(nr, Domain.MAX_GRANT_FRAMES) > 0 || !d.growGrantTable(nr)) {
            return GNTST_general_error;
        }
        long list = Gnttab.SetupTable.frameList(a, 0);
        for (int i = 0; i < nr; i++) {
            long addr = list + 8L * i;
            long frame = addr >>> 12;
            int off = (int) (addr & (PAGE - 1));
            if (off > PAGE - 8 || !host.frames.owns(ld.domid, frame)) {
                return GNTST_bad_virt_addr;
            }
            Le.u64(host.frames.page(frame), off, d.gtFrames[i]);
        }
        return GNTST_okay;
    }
}
