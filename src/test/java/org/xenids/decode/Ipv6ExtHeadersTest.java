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

/** IPv6 extension headers a Linux receiver drops a packet for mark a packet it drops. */
class Ipv6ExtHeadersTest {
    private static DecodeEvent judge(int nh, boolean first, int... header) {
        byte[] h = bytes(header);
        return Ipv6ExtHeaders.judge(nh, h, 0, h.length, first);
    }

    @Test
    void headersALinuxReceiverTakesRaiseNothing() {
        assertNull(judge(0, true, 6, 0, 1, 4, 0, 0, 0, 0)); // hop-by-hop, PadN of 4 zeros
        assertNull(judge(60, false, 6, 0, 0, 0, 0, 0, 1, 0)); // destination options: Pad1 ×4, PadN of 0
        assertNull(judge(0, true, 6, 0, 5, 2, 0, 0, 1, 0)); // router alert, then PadN
        assertNull(judge(60, false, 6, 0, 0x1E, 2, 9, 9, 1, 0)); // unknown option 00xxxxxx: skipped
        assertNull(judge(43, false, 6, 0, 0, 0, 0, 0, 0, 0)); // routing type 0, no segments left
        assertNull(judge(43, false, 6, 0, 2, 1, 0, 0, 0, 0)); // type 2 (mobile IPv6): not judged
        assertNull(judge(44, false, 6, 0, 0, 0, 0, 0, 0, 1)); // a fragment header is not judged here
    }

    @Test
    void headersALinuxReceiverDropsAPacketForAreNamed() {
        assertEquals(DecodeEvent.IPV6_HOPOPTS_NOT_FIRST, judge(0, false, 6, 0, 1, 4, 0, 0, 0, 0));
        assertEquals(DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN, judge(60, false, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); // 12 Pad1
        assertEquals(DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN, judge(60, false, 6, 0, 1, 4, 0, 0, 7, 0)); // PadN not zeros
        assertEquals(DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN, judge(60, false, 6, 0, 0x1E, 9, 0, 0, 0, 0)); // past the header
        assertEquals(DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN, judge(0, true, 6, 0, 5, 4, 0, 0, 0, 0)); // router alert of 4
        byte[] nine = new byte[2 + 9 * 2 + 4];
        for (int i = 0; i < 9; i++) nine[2 + 2 * i] = 0x1E; // nine skippable options of no data
        nine[nine.length - 4] = 1;
        nine[nine.length - 3] = 2;
        assertEquals(DecodeEvent.IPV6_EXTHDR_INVALID_OPTLEN, Ipv6ExtHeaders.judge(60, nine, 0, nine.length, false));
        assertEquals(DecodeEvent.IPV6_DSTOPTS_UNKNOWN_OPT, judge(60, false, 6, 0, 0x5E, 2, 0, 0, 1, 0)); // 01: discard
        assertEquals(DecodeEvent.IPV6_HOPOPTS_UNKNOWN_OPT, judge(0, true, 6, 0, 0x9E, 2, 0, 0, 1, 0)); // 10
        assertEquals(DecodeEvent.IPV6_HOPOPTS_UNKNOWN_OPT, judge(0, true, 6, 0, 0xDE, 2, 0, 0, 1, 0)); // 11
        assertEquals(DecodeEvent.IPV6_RH_REFUSED, judge(43, false, 6, 0, 0, 1, 0, 0, 0, 0)); // type 0 with a segment left
        assertEquals(DecodeEvent.IPV6_RH_REFUSED, judge(43, false, 6, 0, 4, 0, 0, 0, 0, 0)); // segment routing, off
        assertEquals(DecodeEvent.IPV6_EXTHDR_UNHANDLED, judge(139, false, 6, 0, 0, 0, 0, 0, 0, 0)); // HIP
        assertEquals(DecodeEvent.IPV6_EXTHDR_UNHANDLED, judge(51, false, 6, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1)); // AH
    }

    @Test
    void aSegmentBehindAHeaderTheReceiverDropsStandsInForNothing() {
        StreamText t = new StreamText();
        String c = "2001:db8::9", s = "2001:db8::2";
        t.ip(0x86DD, ipv6(TCP, c, s, tcp(40000, 80, 0, 0, SYN, bytes())));
        t.ip(0x86DD, ipv6(TCP, s, c, tcp(80, 40000, 500, 1, SYN | ACK, bytes())));
        // Decoys behind an option a Linux guest drops the packet for, and behind a routing header
        // with a segment left, then the real bytes at the same sequence numbers.
        byte[] cover = tcp(40000, 80, 1, 501, ACK, "cover!".getBytes(StandardCharsets.ISO_8859_1));
        t.ip(0x86DD, ipv6(60, c, s, concat(bytes(TCP, 0, 0x5E, 2, 0, 0, 1, 0), cover)));
        t.ip(0x86DD, ipv6(43, c, s, concat(bytes(TCP, 0, 0, 1, 0, 0, 0, 0), cover)));
        t.ip(0x86DD, ipv6(TCP, c, s, tcp(40000, 80, 1, 501, ACK, "attack".getBytes(StandardCharsets.ISO_8859_1))));
        assertEquals("attack", t.toServer.toString());
        assertEquals(2, t.pipeline.table().receiverDroppedPackets());
        // A fragment behind such a header is dropped before reassembly.
        Decoder d = new Decoder();
        byte[] seg = udp(7, 9, new byte[24]);
        byte[] f1 = ethernet(0x86DD, ipv6(60, c, s, concat(bytes(44, 0, 0x5E, 2, 0, 0, 1, 0), fragment6(17, 0, true, 9),
                Arrays.copyOf(seg, 16))));
        byte[] f2 = ethernet(0x86DD, ipv6(44, c, s, concat(fragment6(17, 16, false, 9), Arrays.copyOfRange(seg, 16, 32))));
        assertTrue(d.decode(f1, 0, f1.length, 1, Decoder.LINKTYPE_ETHERNET).has(DecodeEvent.IPV6_DSTOPTS_UNKNOWN_OPT));
        assertFalse(d.decode(f2, 0, f2.length, 2, Decoder.LINKTYPE_ETHERNET).reassembled());
        // The same first fragment behind an option whose type asks to skip it is reassembled.
        byte[] kept = f1.clone();
        kept[14 + 40 + 2] = 0x1E;
        Decoder e = new Decoder();
        assertFalse(e.decode(kept, 0, kept.length, 1, Decoder.LINKTYPE_ETHERNET).reassembled());
        assertTrue(e.decode(f2, 0, f2.length, 2, Decoder.LINKTYPE_ETHERNET).reassembled());
    }

    /** A header is judged on its own bytes alone, whatever lies around it. */
    @Property(tries = 500)
    void judgingReadsOnlyTheHeader(@ForAll @Size(min = 8, max = 48) byte[] header, @ForAll @Size(min = 96, max = 96) byte[] around,
                                   @ForAll @IntRange(min = 0, max = 40) int at, @ForAll boolean first,
                                   @ForAll @IntRange(min = 0, max = 6) int which) {
        int nh = new int[] {0, 43, 44, 51, 60, 135, 6}[which];
        byte[] b = around.clone();
        System.arraycopy(header, 0, b, at, header.length);
        assertEquals(Ipv6ExtHeaders.judge(nh, header, 0, header.length, first), Ipv6ExtHeaders.judge(nh, b, at, header.length, first));
    }
}
