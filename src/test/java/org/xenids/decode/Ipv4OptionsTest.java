package org.xenids.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** IPv4 options a Linux receiver rejects, or a source route it refuses, mark a packet it drops. */
class Ipv4OptionsTest {
    private static DecodeEvent judge(int... options) {
        byte[] o = bytes(options);
        return Ipv4Options.judge(o, 0, o.length);
    }

    @Test
    void optionsALinuxReceiverTakesRaiseNothing() {
        assertNull(judge(1, 1, 1, 1)); // no-ops
        assertNull(judge(7, 7, 4, 0, 0, 0, 0, 0)); // record route with room for one address
        assertNull(judge(7, 3, 4, 0)); // record route, full (pointer past the end)
        assertNull(judge(68, 8, 5, 0, 0, 0, 0, 0)); // timestamps only, room for one
        assertNull(judge(68, 4, 5, 0x10)); // full, overflow count 1
        assertNull(judge(148, 4, 0, 0)); // router alert
        assertNull(judge(130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)); // security: taken as it is
        assertNull(judge(0, 0x83, 0xFF, 0xFF)); // after END, padding
        assertNull(judge(7, 7, 4, 0, 0, 0, 0, 0, 68, 8, 5, 0, 0, 0, 0, 0, 1, 0));
    }

    @Test
    void optionsALinuxReceiverRejectsAreNamed() {
        assertEquals(DecodeEvent.IPV4_OPT_INVALID_LEN, judge(7)); // no length byte
        assertEquals(DecodeEvent.IPV4_OPT_INVALID_LEN, judge(7, 1, 0, 0)); // length below 2
        assertEquals(DecodeEvent.IPV4_OPT_INVALID_LEN, judge(7, 9, 4, 0)); // past the header
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(7, 7, 3, 0, 0, 0, 0)); // pointer below 4
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(7, 6, 4, 0, 0, 0)); // pointer without room for an address
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(68, 3, 5, 0)); // timestamp shorter than 4
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(68, 8, 5, 1, 0, 0, 0, 0)); // address+time without room
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(68, 4, 5, 0xF0)); // full and overflow at 15
        assertEquals(DecodeEvent.IPV4_OPT_MALFORMED, judge(148, 2, 1, 0));
        assertEquals(DecodeEvent.IPV4_OPT_DUPLICATE, judge(7, 3, 4, 7, 3, 4, 0, 0));
        assertEquals(DecodeEvent.IPV4_OPT_SOURCE_ROUTE, judge(0x83, 7, 4, 10, 0, 0, 1, 0)); // loose
        assertEquals(DecodeEvent.IPV4_OPT_SOURCE_ROUTE, judge(0x89, 7, 4, 10, 0, 0, 1, 0)); // strict
    }

    @Test
    void aSegmentOrFragmentTheReceiverDropsForItsOptionsStandsInForNothing() {
        StreamText t = new StreamText();
        String c = "203.0.113.9", s = "10.0.0.2";
        t.ip(0x0800, ipv4(TCP, c, s, tcp(40000, 80, 0, 0, SYN, bytes())));
        t.ip(0x0800, ipv4(TCP, s, c, tcp(80, 40000, 500, 1, SYN | ACK, bytes())));
        // A decoy with a loose source route, then one with a broken record route, ahead of the
        // real bytes at the same sequence numbers: a Linux guest drops both.
        byte[] lsrr = bytes(0x83, 7, 4, 10, 0, 0, 1, 1);
        byte[] badRr = bytes(7, 7, 3, 0, 0, 0, 0, 1);
        t.ip(0x0800, ipv4(TCP, c, s, 9, 0, false, lsrr, tcp(40000, 80, 1, 501, ACK, ascii("cover!"))));
        t.ip(0x0800, ipv4(TCP, c, s, 9, 0, false, badRr, tcp(40000, 80, 1, 501, ACK, ascii("cover!"))));
        t.ip(0x0800, ipv4(TCP, c, s, tcp(40000, 80, 1, 501, ACK, ascii("attack"))));
        assertEquals("attack", t.toServer.toString());
        assertEquals(2, t.pipeline.table().receiverDroppedPackets());
        assertEquals(1, t.pipeline.decoder().count(DecodeEvent.IPV4_OPT_SOURCE_ROUTE));
        assertEquals(1, t.pipeline.decoder().count(DecodeEvent.IPV4_OPT_MALFORMED));
        // A first fragment with a source route is dropped before reassembly: the real one is kept.
        Decoder d = new Decoder();
        byte[] seg = udp(7, 9, new byte[24]);
        Arrays.fill(seg, 8, 32, (byte) 0x90);
        byte[] decoy = seg.clone();
        Arrays.fill(decoy, 8, 16, (byte) 0x41);
        byte[] first = ethernet(0x0800, ipv4(UDP, c, s, 5, 0, true, lsrr, Arrays.copyOf(decoy, 16)));
        assertFalse(d.decode(first, 0, first.length, 1, Decoder.LINKTYPE_ETHERNET).reassembled());
        assertEquals(0, d.fragmentsHeld(), "the decoy was never held");
        byte[] real = ethernet(0x0800, ipv4(UDP, c, s, 5, 0, true, bytes(), Arrays.copyOf(seg, 16)));
        assertFalse(d.decode(real, 0, real.length, 1, Decoder.LINKTYPE_ETHERNET).reassembled());
        byte[] last = ethernet(0x0800, ipv4(UDP, c, s, 5, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32)));
        Packet q = d.decode(last, 0, last.length, 2, Decoder.LINKTYPE_ETHERNET);
        assertTrue(q.reassembled());
        assertEquals((byte) 0x90, q.data()[q.payloadOffset()]);
    }

    /** Options are judged on their own bytes alone, whatever lies around them. */
    @Property(tries = 500)
    void judgingReadsOnlyTheOptions(@ForAll @Size(max = 40) byte[] options, @ForAll @Size(min = 64, max = 64) byte[] around,
                                    @ForAll @IntRange(min = 0, max = 24) int at) {
        byte[] b = around.clone();
        System.arraycopy(options, 0, b, at, options.length);
        assertEquals(Ipv4Options.judge(options, 0, options.length), Ipv4Options.judge(b, at, at + options.length));
    }


    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
