package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/** Grant-table hypercalls: each of Xen's checks gives Xen's status, and GTF_reading/writing follow pins. */
class GrantTableTest {
    XenHost host;
    Domain dom0, guest, other;
    MemorySegment args;
    long guestFrame, dom0Frame;
    static final int REF = 8;

    @BeforeEach
    void setUp() {
        host = new XenHost(4096);
        dom0 = host.createDomain(0, "Domain-0", 512);
        guest = host.createDomain(1, "guest", 512);
        other = host.createDomain(2, "other", 512);
        args = dom0.page(dom0.allocFrame());
        guestFrame = guest.allocFrame();
        dom0Frame = dom0.allocFrame();
        MemorySegment p = guest.page(guestFrame);
        for (int i = 0; i < 4096; i++) {
            p.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
        }
    }

    long gnttab(int caller, int cmd, int count) {
        return host.hypercall(caller, __HYPERVISOR_grant_table_op, cmd, args, count);
    }

    int copyFromGuest(int ref, int srcOffset, int len, int dstOffset) {
        Gnttab.Copy.set(args, 0, ref, 1, srcOffset, dom0Frame, DOMID_SELF, dstOffset, len, GNTCOPY_source_gref);
        assertEquals(0, gnttab(0, GNTTABOP_copy, 1));
        return Gnttab.Copy.status(args, 0);
    }

    int map(int ref, int dom, int flags) {
        Gnttab.Map.set(args, 0, 0xffff88802ffeb000L, flags, ref, dom);
        assertEquals(0, gnttab(0, GNTTABOP_map_grant_ref, 1));
        return Gnttab.Map.status(args, 0);
    }

    int unmap(int handle, long hostAddr) {
        Gnttab.Unmap.set(args, 0, hostAddr, 0, handle);
        assertEquals(0, gnttab(0, GNTTABOP_unmap_grant_ref, 1));
        return Gnttab.Unmap.status(args, 0);
    }

    @Test
    void txHeadCopyFromReadOnlyGrantMovesExactBytesAndLeavesNoAccessFlags() {
        guest.grantAccess(REF, 0, guestFrame, true);
        assertEquals(GNTST_okay, copyFromGuest(REF, 1026, 128, 64));
        byte[] want = guest.page(guestFrame).asSlice(1026, 128).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] got = dom0.page(dom0Frame).asSlice(64, 128).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        assertArrayEquals(want, got);
        assertEquals(GTF_permit_access | GTF_readonly, guest.grantFlags(REF));
    }

    @Test
    void forgedGrefBeyondTheTableIsBadGntref() {
        assertEquals(GNTST_bad_gntref, copyFromGuest(guest.grantEntries() + 5, 0, 64, 0));
        assertEquals(GNTST_bad_gntref, map(0xfffffff0, 1, GNTMAP_host_map | GNTMAP_readonly));
    }

    @Test
    void neverGrantedEntryIsGeneralError() {
        assertEquals(GNTST_general_error, copyFromGuest(REF + 1, 0, 64, 0));
        assertEquals(GNTST_general_error, map(REF + 1, 1, GNTMAP_host_map | GNTMAP_readonly));
        assertEquals(0, guest.grantFlags(REF + 1));
    }

    @Test
    void readOnlyGrantWrittenIsRefusedAndUntouched() {
        guest.grantAccess(REF, 0, guestFrame, true);
        Gnttab.Copy.set(args, 0, dom0Frame, DOMID_SELF, 0, REF, 1, 0, 64, GNTCOPY_dest_gref);
        gnttab(0, GNTTABOP_copy, 1);
        assertEquals(GNTST_general_error, Gnttab.Copy.status(args, 0));
        assertEquals(3, guest.page(guestFrame).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        assertEquals(GNTST_general_error, map(REF, 1, GNTMAP_host_map));
        assertEquals(GTF_permit_access | GTF_readonly, guest.grantFlags(REF));
    }

    @Test
    void copyCrossingThePageIsBadCopyArgAndReleasesTheGrant() {
        guest.grantAccess(REF, 0, guestFrame, true);
        assertEquals(GNTST_bad_copy_arg, copyFromGuest(REF, 4000, 97, 0));
        assertEquals(GNTST_bad_copy_arg, copyFromGuest(REF, 0, 97, 4000));
        assertEquals(GNTST_okay, copyFromGuest(REF, 4000, 96, 0));
        assertEquals(GTF_permit_access | GTF_readonly, guest.grantFlags(REF));
    }

    @Test
    void grantToAnotherDomainIsGeneralErrorForTheWrongCaller() {
        guest.grantAccess(REF, 2, guestFrame, true);
        assertEquals(GNTST_general_error, copyFromGuest(REF, 0, 64, 0));
        assertEquals(GNTST_general_error, map(REF, 1, GNTMAP_host_map | GNTMAP_readonly));
    }

    @Test
    void unknownDomainIsBadDomain() {
        Gnttab.Copy.set(args, 0, REF, 9, 0, dom0Frame, DOMID_SELF, 0, 64, GNTCOPY_source_gref);
        gnttab(0, GNTTABOP_copy, 1);
        assertEquals(GNTST_bad_domain, Gnttab.Copy.status(args, 0));
        assertEquals(GNTST_bad_domain, map(REF, 9, GNTMAP_host_map));
        // map_grant_ref looks the granter up by id: DOMID_SELF is not a domain there.
        assertEquals(GNTST_bad_domain, map(REF, DOMID_SELF, GNTMAP_host_map));
    }

    @Test
    void frameOfAnotherDomainIsPermissionDeniedAndUnownedFrameBadPage() {
        Gnttab.Copy.set(args, 0, guestFrame, 1, 0, dom0Frame, DOMID_SELF, 0, 64, 0);
        gnttab(0, GNTTABOP_copy, 1);
        assertEquals(GNTST_permission_denied, Gnttab.Copy.status(args, 0));
        Gnttab.Copy.set(args, 0, guestFrame, DOMID_SELF, 0, dom0Frame, DOMID_SELF, 0, 64, 0);
        gnttab(0, GNTTABOP_copy, 1);
        assertEquals(GNTST_bad_page, Gnttab.Copy.status(args, 0));
    }

    @Test
    void grantOfAFrameTheGranterDoesNotOwnIsBadPage() {
        guest.grantAccess(REF, 0, dom0Frame, true);
        assertEquals(GNTST_bad_page, copyFromGuest(REF, 0, 64, 0));
        assertEquals(GTF_permit_access | GTF_readonly, guest.grantFlags(REF));
    }

    @Test
    void mapWithoutHostOrDeviceFlagIsBadGntref() {
        guest.grantAccess(REF, 0, guestFrame, true);
        assertEquals(GNTST_bad_gntref, map(REF, 1, GNTMAP_readonly));
    }

    @Test
    void mapPinsTheGrantUntilUnmapAndReportsTheFrame() {
        guest.grantAccess(REF, 0, guestFrame, true);
        assertEquals(GNTST_okay, map(REF, 1, GNTMAP_host_map | GNTMAP_readonly));
        int handle = Gnttab.Map.handle(args, 0);
        assertEquals(guestFrame << 12, Gnttab.Map.devBusAddr(args, 0));
        assertEquals(GTF_permit_access | GTF_readonly | GTF_reading, guest.grantFlags(REF));
        assertFalse(guest.endAccess(REF), "the guest cannot revoke a mapped grant");
        assertEquals(GNTST_okay, unmap(handle, 0xffff88802ffeb000L));
        assertEquals(GTF_permit_access | GTF_readonly, guest.grantFlags(REF));
        assertTrue(guest.endAccess(REF));
    }

    @Test
    void writableMapSetsReadingAndWriting() {
        guest.grantAccess(REF, 0, guestFrame, false);
        assertEquals(GNTST_okay, map(REF, 1, GNTMAP_host_map));
        assertEquals(GTF_permit_access | GTF_reading | GTF_writing, guest.grantFlags(REF));
        assertEquals(GNTST_okay, unmap(Gnttab.Map.handle(args, 0), 0xffff88802ffeb000L));
        assertEquals(GTF_permit_access, guest.grantFlags(REF));
    }

    @Test
    void doubleUnmapAndUnknownHandleAreBadHandle() {
        guest.grantAccess(REF, 0, guestFrame, true);
        map(REF, 1, GNTMAP_host_map | GNTMAP_readonly);
        int handle = Gnttab.Map.handle(args, 0);
        assertEquals(GNTST_okay, unmap(handle, 0xffff88802ffeb000L));
        assertEquals(GNTST_bad_handle, unmap(handle, 0xffff88802ffeb000L));
        assertEquals(GNTST_bad_handle, unmap(123456, 0xffff88802ffeb000L));
    }

    @Test
    void unmapAtAnotherAddressIsGeneralErrorAndKeepsTheMapping() {
        guest.grantAccess(REF, 0, guestFrame, true);
        map(REF, 1, GNTMAP_host_map | GNTMAP_readonly);
        int handle = Gnttab.Map.handle(args, 0);
        assertEquals(GNTST_general_error, unmap(handle, 0xffff88802ffea000L));
        assertEquals(GTF_permit_access | GTF_readonly | GTF_reading, guest.grantFlags(REF));
        assertEquals(GNTST_okay, unmap(handle, 0xffff88802ffeb000L));
    }

    @Test
    void freedHandleIsNotReusedAtOnceAsInTheRealTrace() {
        guest.grantAccess(REF, 0, guestFrame, true);
        map(REF, 1, GNTMAP_host_map | GNTMAP_readonly);
        int first = Gnttab.Map.handle(args, 0);
        unmap(first, 0xffff88802ffeb000L);
        map(REF, 1, GNTMAP_host_map | GNTMAP_readonly);
        assertEquals(first + 1, Gnttab.Map.handle(args, 0));
    }

    @Test
    void setupTableWritesTheGrantFramesIntoTheCallersMemory() {
        MemorySegment gargs = guest.page(guest.allocFrame());
        long listFrame = guest.allocFrame();
        Gnttab.SetupTable.set(gargs, 0, DOMID_SELF, 4, (listFrame << 12) + 16);
        assertEquals(0, host.hypercall(1, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, gargs, 1));
        assertEquals(GNTST_okay, Gnttab.SetupTable.status(gargs, 0));
        assertEquals(4 * 512, guest.grantEntries());
        long[] frames = new long[8];
        assertEquals(4, host.memory().grantTableFrames(1, frames));
        for (int i = 0; i < 4; i++) {
            assertEquals(frames[i], guest.page(listFrame).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 16 + 8 * i));
        }
        // A reader of the guest's memory sees the real entry bytes.
        guest.grantAccess(600, 0, guestFrame, true);
        MemorySegment e = MemorySegment.ofArray(new byte[8]);
        assertTrue(host.memory().read(1, frames[1], (600 - 512) * 8, e));
        assertEquals(GTF_permit_access | GTF_readonly, Gnttab.EntryV1.flags(e, 0));
        assertEquals(0, Gnttab.EntryV1.domid(e, 0));
        assertEquals(guestFrame, Gnttab.EntryV1.frame(e, 0));
        // A domU may not set up another domain's table; dom0 may.
        Gnttab.SetupTable.set(gargs, 0, 2, 1, listFrame << 12);
        host.hypercall(1, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, gargs, 1);
        assertEquals(GNTST_permission_denied, Gnttab.SetupTable.status(gargs, 0));
        Gnttab.SetupTable.set(gargs, 0, DOMID_SELF, 1, dom0Frame << 12);
        host.hypercall(1, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, gargs, 1);
        assertEquals(GNTST_bad_virt_addr, Gnttab.SetupTable.status(gargs, 0));
    }

    @Test
    void listenerSeesEveryCallWithItsBytesAndResult() {
        List<String> seen = new ArrayList<>();
        host.addListener(c -> seen.add(c.sequence() + " d" + c.callerDomid() + " " + c.op() + "/" + c.cmd()
                + " x" + c.count() + " len " + c.args().byteSize() + " st " + Gnttab.Copy.status(c.args(), 0)
                + " r " + c.result() + " ro " + c.args().isReadOnly()));
        guest.grantAccess(REF, 0, guestFrame, true);
        copyFromGuest(REF, 0, 42, 0);
        copyFromGuest(REF, 4090, 42, 0);
        assertEquals(List.of("1 d0 20/5 x1 len 40 st 0 r 0 ro true", "2 d0 20/5 x1 len 40 st -10 r 0 ro true"), seen);
    }

    @Test
    void refusedCopyFailsAsPermissionDeniedAndCopiesNothing() {
        List<Integer> statuses = new ArrayList<>();
        host.addListener(new HypercallListener() {
            @Override
            public boolean allow(Hypercall c, int i) {
                return Gnttab.Copy.len(c.args(), (long) i * Gnttab.Copy.SIZE) != 66;
            }

            @Override
            public void completed(Hypercall c) {
                for (int i = 0; i < c.count(); i++) {
                    statuses.add(Gnttab.Copy.status(c.args(), (long) i * Gnttab.Copy.SIZE));
                }
            }
        });
        guest.grantAccess(REF, 0, guestFrame, true);
        Gnttab.Copy.set(args, 0, REF, 1, 0, dom0Frame, DOMID_SELF, 0, 66, GNTCOPY_source_gref);
        Gnttab.Copy.set(args, 40, REF, 1, 0, dom0Frame, DOMID_SELF, 100, 62, GNTCOPY_source_gref);
        gnttab(0, GNTTABOP_copy, 2);
        assertEquals(List.of(GNTST_permission_denied, GNTST_okay), statuses);
        assertEquals(0, dom0.page(dom0Frame).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        assertEquals(3, dom0.page(dom0Frame).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100));
    }

    @Test
    void unknownCommandIsEnosysAndShortArgumentsEfault() {
        assertEquals(-XEN_ENOSYS, gnttab(0, GNTTABOP_transfer, 1));
        assertEquals(-XEN_EFAULT, host.hypercall(0, __HYPERVISOR_grant_table_op, GNTTABOP_copy,
                args.asSlice(0, 79), 2));
        assertEquals(-XEN_EINVAL, gnttab(0, GNTTABOP_copy, -1));
    }

    @Test
    void guestCannotTouchFramesItDoesNotOwn() {
        assertThrows(IllegalArgumentException.class, () -> guest.page(dom0Frame));
        assertFalse(host.memory().read(1, dom0Frame, 0, MemorySegment.ofArray(new byte[8])));
        assertFalse(host.memory().read(1, guestFrame, 4090, MemorySegment.ofArray(new byte[8])));
    }
}
