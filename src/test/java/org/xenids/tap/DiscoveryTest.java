package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.xen.abi.Evtchn;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Le;
import org.xenids.xen.event.DomainMemory;

/**
 * Ring discovery on the set-up sequence a real Xen 4.17 shows (data/xen, src/test/resources/
 * org/xenids/xenlab): the toolstack's XenStore set-up (dom0 opens the guest's channel, maps the
 * page twice, binds) is not a vif; the guest's own channels with two single-page maps are, and a
 * guest cannot hide its vif by writing something else than a ring header into its pages.
 */
class DiscoveryTest {
    static final int GUEST = 1;
    static final long TX_PAGE = 0x100, RX_PAGE = 0x101, XS_PAGE = 0x200;

    final Map<Long, MemorySegment> pages = new HashMap<>();
    final List<EveEvent.Anomaly> anomalies = new ArrayList<>();
    final Tap tap = new Tap(new DomainMemory() {
        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            MemorySegment p = pages.get(frame);
            if (domid != GUEST || p == null || offset + dst.byteSize() > PAGE_SIZE) {
                return false;
            }
            MemorySegment.copy(p, offset, dst, 0, dst.byteSize());
            return true;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            return -1;
        }
    }, (buf, off, len, domid, vif, queue, dir, peer, ts) -> { }, anomalies::add);
    long seq;

    DiscoveryTest() {
        MemorySegment tx = page(TX_PAGE), rx = page(RX_PAGE);
        page(XS_PAGE);   // XenStore page of a guest not yet running: zeros
        // SHARED_RING_INIT: events 1; RX: netfront has posted 4 buffers before connecting
        Le.u32(tx, 4, 1);
        Le.u32(tx, 12, 1);
        Le.u32(rx, 0, 4);
        Le.u32(rx, 4, 1);
        Le.u32(rx, 12, 1);
        for (int i = 0; i < 4; i++) {
            Le.u16(rx, 64 + 8 * i, i);
            Le.u32(rx, 64 + 8 * i + 4, 600 + i);
        }
    }

    MemorySegment page(long frame) {
        MemorySegment p = MemorySegment.ofArray(new byte[4096]);
        pages.put(frame, p);
        return p;
    }

    void call(int caller, int op, int cmd, int count, int structSize, MemorySegment args) {
        long s = ++seq;
        tap.completed(new HostCall(s, s * 1000, caller, op, cmd, count, args, 0, structSize));
    }

    /** {@code caller} opens {@code dom}'s port for dom0. */
    void allocUnbound(int caller, int dom, int port) {
        MemorySegment a = MemorySegment.ofArray(new byte[Evtchn.AllocUnbound.SIZE]);
        Evtchn.AllocUnbound.set(a, 0, dom, 0);
        Le.u32(a, Evtchn.AllocUnbound.PORT, port);
        call(caller, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 1, Evtchn.AllocUnbound.SIZE, a);
    }

    void bind(int remotePort, int localPort) {
        MemorySegment a = MemorySegment.ofArray(new byte[Evtchn.BindInterdomain.SIZE]);
        Evtchn.BindInterdomain.set(a, 0, GUEST, remotePort);
        Le.u32(a, Evtchn.BindInterdomain.LOCAL_PORT, localPort);
        call(0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, 1, Evtchn.BindInterdomain.SIZE, a);
    }

    /** dom0 maps the guest's {refs, frames} writable in one call. */
    void map(int flags, long... refAndFrame) {
        int n = refAndFrame.length / 2;
        MemorySegment a = MemorySegment.ofArray(new byte[Gnttab.Map.SIZE * n]);
        for (int i = 0; i < n; i++) {
            long at = (long) i * Gnttab.Map.SIZE;
            Gnttab.Map.set(a, at, 0xffffc90000000000L + i * 4096L, flags, (int) refAndFrame[2 * i], GUEST);
            Le.u64(a, at + Gnttab.Map.DEV_BUS_ADDR, refAndFrame[2 * i + 1] << 12);
        }
        call(0, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, n, Gnttab.Map.SIZE, a);
    }

    void unmask(int caller, int port) {
        MemorySegment a = MemorySegment.ofArray(new byte[4]);
        Le.u32(a, 0, port);
        call(caller, __HYPERVISOR_event_channel_op, EVTCHNOP_unmask, 1, 4, a);
    }

    /** The real sequence: the toolstack's XenStore set-up, then the guest's vif with split channels. */
    void realSetup() {
        allocUnbound(0, GUEST, 1);
        map(0x1001a, GNTTAB_RESERVED_XENSTORE, XS_PAGE);   // xenstored, user space
        map(GNTMAP_host_map, GNTTAB_RESERVED_XENSTORE, XS_PAGE);   // and the kernel
        bind(1, 18);
        allocUnbound(GUEST, DOMID_SELF, 8);
        allocUnbound(GUEST, DOMID_SELF, 9);
        map(0x12, 520, TX_PAGE);
        map(0x12, 521, RX_PAGE);
        bind(8, 20);
        unmask(0, 20);
        bind(9, 21);
    }

    @Test
    void toolstackXenStoreSetUpIsRejectedAndTheGuestsVifFoundWithSplitChannels() {
        realSetup();
        assertEquals(List.of(new Tap.Ring(GUEST, 0, 0, 0, "dom1/vif0/tx", "dom1/vif0/rx", true, true)), tap.rings());
        assertEquals(new Tap.RejectedPairs(1, 0), tap.rejectedPairs());
        assertEquals(List.of(), anomalies);
    }

    @Test
    void guestWritingGarbageInItsRingHeaderIsStillTappedAndReported() {
        Le.u32(pages.get(TX_PAGE), 40, 0xdeadbeef);   // padding of the shared-ring header
        realSetup();
        assertEquals(1, tap.rings().size());
        assertEquals(List.of("setup.not_a_ring_header"), anomalies.stream().map(EveEvent.Anomaly::event).toList());
        assertTrue(anomalies.get(0).inIface().equals("dom1/vif0/tx"), anomalies.toString());
    }

    @Test
    void severalPagesInOneMapCallAreAnotherDevicesRing() {
        allocUnbound(GUEST, DOMID_SELF, 8);
        map(0x12, 700, TX_PAGE, 701, RX_PAGE);   // e.g. blkfront's ring-page-order 1
        bind(8, 20);
        assertEquals(List.of(), tap.rings());
        assertEquals(new Tap.RejectedPairs(0, 1), tap.rejectedPairs());
    }
}
