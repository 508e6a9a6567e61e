package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.XZInputStream;

/**
 * The tap on a real Xen 4.17: a run of {@code xenids xen lab run} (Debian's hypervisor, dom0 and
 * a PV guest under QEMU, the hypercall stream read through the gdbstub from boot) kept as test
 * data (src/test/resources/org/xenids/xenlab, see its README). Every frame dom0's tcpdump
 * captured on the guest's vif is rebuilt byte for byte, in both directions, and nothing else;
 * the only captured frames not rebuilt are the ones dom0 sent on the vif before the guest's
 * ring carried anything, each asserted below.
 */
class RealXenTraceTest {
    static final String DIR = "/org/xenids/xenlab/";
    static final byte[] BRIDGE_MAC = {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    static LabRun.Result run;

    @BeforeAll
    static void replay() throws IOException {
        try (InputStream t = new XZInputStream(RealXenTraceTest.class.getResourceAsStream(DIR + "trace.bin.xz"));
             InputStream p = new XZInputStream(RealXenTraceTest.class.getResourceAsStream(DIR + "vif.pcap.xz"))) {
            run = LabRun.compare(t, "trace.bin", p, "vif.pcap");
        }
    }

    @Test
    void discoveryFindsExactlyTheGuestsVifAndRejectsXenStoreAndConsole() {
        assertEquals(List.of(new Tap.Ring(1, 0, 0, 0, "dom1/vif0/tx", "dom1/vif0/rx", true, true)), run.rings());
        // the toolstack maps the guest's XenStore (ref 1) and console (ref 0) pages and binds the
        // channels it opened for the guest
        assertEquals(new Tap.RejectedPairs(2, 0), run.rejected());
        assertTrue(run.trace().ended() && run.trace().calls() > 1000, run.trace().toString());
        assertEquals(0, run.failedReads());
    }

    @Test
    void everyGuestTxFrameDom0CapturedIsRebuiltByteForByte() {
        LabRun.Direction tx = run.tx();
        String why = LabRun.describe(run);
        assertEquals(EXPECTED_TX, tx.captured(), why);
        assertEquals(tx.captured(), tx.rebuilt(), why);
        assertEquals(tx.captured(), tx.matched(), why);
        // In the order dom0 captured them: netback submits a batch's packets in ring order, and the
        // tap emits them so (a small packet copied whole waits for a mapped one before it).
        assertEquals(0, tx.reordered(), why);
        assertEquals(List.of(), tx.missing(), why);
        assertEquals(List.of(), tx.beforeRing(), why);
        assertEquals(List.of(), tx.extra(), why);
    }

    @Test
    void everyRxFrameThatReachedTheRingIsRebuiltAndTheOthersWereSentBeforeItConnected() {
        LabRun.Direction rx = run.rx();
        String why = LabRun.describe(run);
        assertEquals(EXPECTED_RX, rx.captured(), why);
        assertEquals(rx.rebuilt(), rx.matched(), why);
        assertEquals(List.of(), rx.missing(), why);
        assertEquals(List.of(), rx.extra(), why);
        assertEquals(rx.captured() - BEFORE_RING.size(), rx.rebuilt(), why);
        List<String> before = new ArrayList<>();
        for (LabRun.Captured c : rx.beforeRing()) {
            before.add("#" + c.index() + " " + kind(c.bytes()) + " " + c.bytes().length + " B");
            assertTrue(java.util.Arrays.equals(c.bytes(), 6, 12, BRIDGE_MAC, 0, 6), "not from dom0's bridge: #" + c.index());
            // before the first guest frame netback forwarded, which it does only once connected
            assertTrue(c.timestampNanos() < run.tx().firstCapturedNanos(), "#" + c.index() + " after the first TX frame");
        }
        assertEquals(BEFORE_RING, before);
    }

    @Test
    void theGuestsCountersShowNoLossDropOrAnomaly() {
        Tap.Counters g = run.guest();
        assertEquals(run.tx().rebuilt() + run.rx().rebuilt(), g.frames());
        assertEquals(0, g.lost() + g.drops() + g.refused() + g.unclassified() + g.anomalies(), g.toString());
        assertEquals(List.of(), run.anomalies());
    }

    static final int EXPECTED_TX = 122, EXPECTED_RX = 122;
    static final List<String> BEFORE_RING = List.of(
            "#0 icmp6-143 90 B", "#1 icmp6-143 110 B", "#2 arp-1 42 B", "#3 icmp6-135 86 B");

    /** What a frame is, enough to name it: ARP with its opcode, ICMPv6 with its type. */
    static String kind(byte[] f) {
        int type = (f[12] & 0xff) << 8 | (f[13] & 0xff);
        if (type == 0x0806) {
            return "arp-" + ((f[20] & 0xff) << 8 | (f[21] & 0xff));
        }
        if (type == 0x86dd) {
            int next = f[14 + 6] & 0xff, at = 14 + 40;
            if (next == 0) {   // hop-by-hop options (MLD reports carry router alert)
                next = f[at] & 0xff;
                at += 8 * ((f[at + 1] & 0xff) + 1);
            }
            return next == 58 ? "icmp6-" + (f[at] & 0xff) : "ipv6-" + next;
        }
        return String.format("ether-%04x", type);
    }
}
