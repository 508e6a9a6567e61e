package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.xenids.tap.Tap;
import org.xenids.testdata.PacketBuilder;

/**
 * A frame a real Xen bridge floods to a guest for another unicast Ethernet address (one it has not
 * learned, or one a sender chose) is one the guest's stack drops. (The emulated host's traffic
 * driver addresses every frame to its guest's own MAC, so this is driven at the tap's sink.)
 */
class GuestMacsTest {
    static final byte[] MAC_A = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x11);
    static final byte[] NOBODY = PacketBuilder.bytes(0x02, 0, 0, 0, 0, 0x99);

    private static byte[] to(byte[] dst, byte[] f) {
        System.arraycopy(dst, 0, f, 0, 6);
        return f;
    }

    private static byte[] from(byte[] src, byte[] f) {
        System.arraycopy(src, 0, f, 6, 6);
        return f;
    }

    private static byte[] segment(String data) {
        return PacketBuilder.tcpFrame("203.0.113.170", 40000, "10.0.0.11", 80, 1000, 5001, PacketBuilder.ACK,
                data.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void aFrameDeliveredToAGuestForAnotherAddressFeedsNoFlowAndIsCounted() throws Exception {
        try (TapOutputs o = new TapOutputs(null, null)) {
            byte[] tx = from(MAC_A, PacketBuilder.udpFrame("10.0.0.11", 53, "203.0.113.170", 5000, new byte[4]));
            o.frame(tx, 0, tx.length, 1, 0, 0, Tap.TX, -1, false, 1);
            byte[] decoy = to(NOBODY, segment("cover!"));
            o.frame(decoy, 0, decoy.length, 1, 0, 0, Tap.RX, -1, false, 2);
            byte[] real = to(MAC_A, segment("attack"));
            o.frame(real, 0, real.length, 1, 0, 0, Tap.RX, -1, false, 3);
            String summary = o.finishFlows();
            assertTrue(summary.contains("1 delivered to a guest for another host's Ethernet address"), summary);
            assertEquals(2, o.flowPackets(), "the guest's datagram and the real segment");
        }
    }

    @Test
    void aVifIsJudgedOnlyOnceItHasSentAndFromFewAddresses() {
        GuestMacs m = new GuestMacs();
        byte[] decoy = to(NOBODY, segment("x"));
        assertEquals(GuestMacs.DECODE, m.admit(decoy, 0, decoy.length, 1, 0, Tap.RX, -1), "nothing sent yet");
        byte[] tx = from(MAC_A, segment("y"));
        assertEquals(GuestMacs.DECODE, m.admit(tx, 0, tx.length, 1, 0, Tap.TX, -1));
        assertEquals(GuestMacs.OTHER_HOST, m.admit(decoy, 0, decoy.length, 1, 0, Tap.RX, -1));
        assertEquals(GuestMacs.DECODE, m.admit(decoy, 0, decoy.length, 1, 1, Tap.RX, -1), "another vif");
        assertEquals(GuestMacs.OTHER_HOST, m.admit(decoy, 0, decoy.length, 1, 0, Tap.RX, 2),
                "named as another guest's, but no guest sent those bytes: judged as its own");
        byte[] broadcast = to(PacketBuilder.bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), segment("z"));
        assertEquals(GuestMacs.DECODE, m.admit(broadcast, 0, broadcast.length, 1, 0, Tap.RX, -1), "a group address");
        // A guest sending from many addresses (a bridge inside it) is not judged.
        for (int i = 0; i < 9; i++) {
            byte[] f = from(PacketBuilder.bytes(0x00, 0x16, 0x3e, 1, 0, i), segment("w"));
            m.admit(f, 0, f.length, 1, 0, Tap.TX, -1);
        }
        assertEquals(GuestMacs.DECODE, m.admit(decoy, 0, decoy.length, 1, 0, Tap.RX, -1));
    }

    /**
     * The receiver's copy of a guest→guest frame is skipped (it went into the flows as the sender's
     * TX) only when it holds the bytes the sender's TX held: a sender can rewrite its granted page
     * between netback's TX map, when the tap read it, and the RX copy out of it, and the receiver
     * must then be inspected as getting bytes nobody saw.
     */
    @Test
    void aGuestToGuestCopyIsSkippedOnlyWhenItHoldsTheBytesTheSenderSent() {
        GuestMacs m = new GuestMacs();
        byte[] macB = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x12);
        byte[] hello = from(macB, segment("b"));
        assertEquals(GuestMacs.DECODE, m.admit(hello, 0, hello.length, 2, 0, Tap.TX, -1), "B's address learned");
        byte[] toB = to(macB, from(MAC_A, segment("GET /index.html")));
        assertEquals(GuestMacs.DECODE, m.admit(toB, 0, toB.length, 1, 0, Tap.TX, -1), "A's TX, inspected");
        byte[] copy = toB.clone();
        assertEquals(GuestMacs.ECHO, m.admit(copy, 0, copy.length, 2, 0, Tap.RX, 1), "the same bytes: seen once");
        byte[] changed = toB.clone();
        changed[changed.length - 1] ^= 1;
        assertEquals(GuestMacs.DECODE, m.admit(changed, 0, changed.length, 2, 0, Tap.RX, 1),
                "rewritten after the TX was read: inspected as B's");
        assertEquals(GuestMacs.DECODE, m.admit(copy, 0, copy.length, 2, 0, Tap.RX, 3), "named as another sender's");
        // A frame for an address the bridge has not learned is flooded to every guest: without the
        // topology's addresses every frame a guest sends is kept, and the copy is the same frame;
        // a second copy (the frame to one address is taken once) is judged as B's own, one for
        // another host's address, which B's stack drops.
        byte[] out = to(NOBODY, from(MAC_A, segment("to the world")));
        m.admit(out, 0, out.length, 1, 0, Tap.TX, -1);
        assertEquals(GuestMacs.ECHO, m.admit(out.clone(), 0, out.length, 2, 0, Tap.RX, 1));
        assertEquals(GuestMacs.OTHER_HOST, m.admit(out.clone(), 0, out.length, 2, 0, Tap.RX, 1));
        // A broadcast reaches every guest: each copy of the bytes A sent is the same frame.
        byte[] all = to(PacketBuilder.bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), from(MAC_A, segment("who has")));
        m.admit(all, 0, all.length, 1, 0, Tap.TX, -1);
        assertEquals(GuestMacs.ECHO, m.admit(all.clone(), 0, all.length, 2, 0, Tap.RX, 1));
        assertEquals(GuestMacs.ECHO, m.admit(all.clone(), 0, all.length, 3, 0, Tap.RX, 1));
    }

    /**
     * Without the topology (a trace's tap), a frame to a guest that has never sent is still known
     * for guest→guest when its copy arrives: counted once, not decoded twice.
     */
    @Test
    void withoutTheTopologyAFrameToAGuestThatNeverSentIsCountedOnce() {
        GuestMacs m = new GuestMacs();
        byte[] macB = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x12);
        byte[] toB = to(macB, from(MAC_A, segment("first words")));
        assertEquals(GuestMacs.DECODE, m.admit(toB, 0, toB.length, 1, 0, Tap.TX, -1));
        assertEquals(GuestMacs.ECHO, m.admit(toB.clone(), 0, toB.length, 2, 0, Tap.RX, 1));
        byte[] changed = toB.clone();
        changed[changed.length - 1] ^= 1;
        m.admit(toB, 0, toB.length, 1, 0, Tap.TX, -1);
        assertEquals(GuestMacs.DECODE, m.admit(changed, 0, changed.length, 2, 0, Tap.RX, 1), "other bytes: B's own");
    }

    /**
     * With the topology's addresses, a frame to a guest that has not sent yet is known for
     * guest→guest; a copy of a frame to one guest is taken once (a later copy of the same bytes
     * is not that frame's); a guest sending from another address does not make it a guest's.
     */
    @Test
    void withTheTopologysAddressesCopiesAreMatchedOnceAndASpoofedSourceTeachesNothing() {
        GuestMacs m = new GuestMacs();
        byte[] macB = PacketBuilder.bytes(0x00, 0x16, 0x3e, 0, 0, 0x12);
        m.guests(java.util.List.of("00:16:3e:00:00:11", "00:16:3E:00:00:12"));
        byte[] toB = to(macB, from(MAC_A, segment("first")));
        m.admit(toB, 0, toB.length, 1, 0, Tap.TX, -1);
        assertEquals(GuestMacs.ECHO, m.admit(toB.clone(), 0, toB.length, 2, 0, Tap.RX, 1), "B never sent: still a guest");
        assertEquals(GuestMacs.DECODE, m.admit(toB.clone(), 0, toB.length, 2, 0, Tap.RX, 1),
                "the same bytes again: that frame's copy was taken");
        // A sends from the gateway's address: frames to the gateway are still not kept.
        byte[] gw = PacketBuilder.bytes(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff);
        byte[] spoof = from(gw, to(NOBODY, segment("spoof")));
        m.admit(spoof, 0, spoof.length, 1, 0, Tap.TX, -1);
        byte[] toGw = to(gw, from(MAC_A, segment("out")));
        m.admit(toGw, 0, toGw.length, 1, 0, Tap.TX, -1);
        assertEquals(GuestMacs.DECODE, m.admit(toGw.clone(), 0, toGw.length, 2, 0, Tap.RX, 1), "not kept");
    }
}
