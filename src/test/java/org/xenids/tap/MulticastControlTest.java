package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.xen.abi.Xen.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenids.xen.abi.Netif;

/**
 * A TX request carrying an XEN_NETIF_EXTRA_TYPE_MCAST_ADD or _DEL extra is a multicast-filter
 * command (feature-multicast-control), not a packet: Linux netback answers it at once and reads
 * none of its slot, whatever its gref and size say, and does not follow its NETTXF_more_data.
 * The tap must neither wait for copies that never come (a ring whose oldest request never
 * finishes would be declared overrun 256 requests later: the guest's vif unseen from then on),
 * nor report it as an anomaly.
 */
class MulticastControlTest {
    static final long MAC = 0x01005e0000fbL; // 224.0.0.251's multicast MAC

    /** Writes a request {gref, size} with one multicast extra, publishes and kicks; returns its index. */
    static int mcastRequest(HostileGuest s, int type, int gref, int size, int flags) {
        int prod = Netif.Sring.reqProd(s.tx, 0);
        Netif.TxRequest.set(s.tx, Netif.Sring.entry(prod, 256, Netif.TxRequest.SIZE), gref, 0, NETTXF_extra_info | flags, 99, size);
        Netif.ExtraInfo.setMcast(s.tx, Netif.Sring.entry(prod + 1, 256, Netif.TxRequest.SIZE), type, 0, MAC);
        Netif.Sring.reqProd(s.tx, 0, prod + 2);
        s.kick(s.txPort);
        return prod;
    }

    static int txStatus(HostileGuest s, int index) {
        return Netif.TxResponse.status(s.tx, Netif.Sring.entry(index, 256, Netif.TxRequest.SIZE));
    }

    @Test
    void aMulticastRequestWithAPlausibleSlotDoesNotStopTheTapSeeingTheVif() {
        HostileGuest s = new HostileGuest();
        int at = mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, s.grantFrame(300), 300, 0);
        assertEquals(NETIF_RSP_OKAY, txStatus(s, at), "netback: filter added, nothing read");
        assertEquals(NETIF_RSP_NULL, txStatus(s, at + 1));
        // More than a ring's worth of frames after it: every one is rebuilt.
        for (int i = 0; i < 300; i++) {
            s.txRequests(s.grantFrame(200 + i), 0, 0, 200 + i);
        }
        List<Integer> sizes = s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList();
        assertEquals(300, sizes.size(), () -> "rebuilt: " + sizes);
        assertEquals(200, sizes.get(0));
        assertTrue(s.events().isEmpty(), s.events()::toString);
        assertEquals(0, VifTeardownTest.counters(s.b, 1).drops(), "a command is no dropped packet");
        assertEquals(1, s.b.tap.multicastCommands());
        s.othersGoOn();
    }

    /** `xenids tap --trace` on a recorded trace counts the commands on a line of their own, and rebuilds the frame after them. */
    @Test
    void theTapCommandReportsMulticastCommands(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Path trace = dir.resolve("mcast.trace");
        try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(trace)) {
            HostileGuest s = new HostileGuest(out);
            mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0);
            mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0, 0);
            s.txRequests(s.grantFrame(60), 0, 0, 60);
            s.b.recorder.close();
        }
        String[] r = org.xenids.testdata.Cli.run("tap", "--trace", trace.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("multicast-filter commands: 2 (TX requests netback answers without a frame)"), r[1]);
        String dom1 = r[1].lines().filter(l -> l.startsWith("dom1 ")).findFirst().orElseThrow();
        assertEquals("1", dom1.split("\\s+")[1], "one frame: " + dom1);
    }

    @Test
    void aMulticastRequestOfNoSizeIsNoRunt() {
        HostileGuest s = new HostileGuest();
        int at = mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0, 0);
        assertEquals(NETIF_RSP_OKAY, txStatus(s, at));
        assertTrue(s.events().isEmpty(), s.events()::toString);
        s.txRequests(s.grantFrame(60), 0, 0, 60);
        assertEquals(List.of(60), s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList());
    }

    /** Its NETTXF_more_data is not followed: the next request is a packet of its own, as netback reads it. */
    @Test
    void theRequestAfterAMulticastRequestWithMoreDataIsAPacket() {
        HostileGuest s = new HostileGuest();
        mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 1000, NETTXF_more_data);
        s.txRequests(s.grantFrame(90), 0, 0, 90);
        assertEquals(List.of(90), s.b.tapped.stream().filter(f -> f.domid() == 1).map(f -> f.bytes().length).toList());
        assertTrue(s.events().isEmpty(), s.events()::toString);
    }

    /** Past 64 filters netback answers with an error (ENOSPC), still reading nothing. */
    @Test
    void theSixtyFifthFilterIsAnsweredWithAnError() {
        HostileGuest s = new HostileGuest();
        for (int i = 0; i < 64; i++) {
            assertEquals(NETIF_RSP_OKAY, txStatus(s, mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0)));
        }
        assertEquals(NETIF_RSP_ERROR, txStatus(s, mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0)));
        assertEquals(NETIF_RSP_OKAY, txStatus(s, mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0, 0)));
        assertEquals(NETIF_RSP_OKAY, txStatus(s, mcastRequest(s, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0)));
        assertTrue(s.events().isEmpty(), s.events()::toString);
    }

    /** An extra of type 0 or past the last type: netback disables the vif; the tap reports it. */
    @ParameterizedTest
    @ValueSource(ints = {XEN_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_EXTRA_TYPE_MAX, 255})
    void anInvalidExtraTypeIsFatalAsInNetback(int type) {
        HostileGuest s = new HostileGuest();
        int at = mcastRequest(s, type, s.grantFrame(100), 100, 0);
        assertEquals(List.of("dom1/vif0/tx tx.bad_extra_info " + ((at + 1) & 255)), s.events());
        // Fatal: the ring is read no further, a valid packet after it is neither sent nor rebuilt.
        s.txRequests(s.grantFrame(300), 0, 0, 300);
        assertEquals(1, s.events().size(), s.events()::toString);
        assertTrue(s.b.tapped.stream().noneMatch(f -> f.domid() == 1));
        s.othersGoOn();
    }
}
