package org.xenids.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.*;

import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** TCP/UDP checksums are checked, and a failure marked, only for frames whose receiver checks them. */
class L4ChecksumTest {
    private final Decoder d = new Decoder();

    private Packet checked(byte[] f) {
        return d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET, true);
    }

    private static byte[] broken(byte[] f, int at) {
        byte[] g = f.clone();
        g[at] ^= 0x41;
        return g;
    }

    @Test
    void aTcpSegmentThatFailsItsChecksumIsMarkedOnlyWhereItsReceiverChecksIt() {
        byte[] f = tcpFrame("10.0.0.1", 40000, "10.0.0.2", 80, 1, 1, ACK, "GET / HTTP/1.1\r\n".getBytes());
        assertEquals(0, checked(f).events());
        byte[] bad = broken(f, f.length - 1);
        assertTrue(checked(bad).has(DecodeEvent.TCP_CHECKSUM_BAD));
        assertEquals(0, d.decode(bad, 0, bad.length, 1, Decoder.LINKTYPE_ETHERNET).events(), "a capture file's frame");
        assertEquals(0, d.decode(bad, 0, bad.length, 1, Decoder.LINKTYPE_ETHERNET, false).events());
        // The pseudo-header counts: the same segment to another address fails.
        byte[] moved = broken(f, 14 + 19);
        mendIpHeader(moved);
        Packet p = checked(moved);
        assertFalse(p.has(DecodeEvent.IPV4_CHECKSUM_BAD));
        assertTrue(p.has(DecodeEvent.TCP_CHECKSUM_BAD));
        assertEquals(2, d.count(DecodeEvent.TCP_CHECKSUM_BAD), "counted per packet");
    }

    /** Sets an Ethernet frame's IPv4 header checksum right again after a change to the header. */
    private static void mendIpHeader(byte[] g) {
        g[14 + 10] = 0;
        g[14 + 11] = 0;
        int n = Bytes.checksum(g, 14, 20);
        g[14 + 10] = (byte) (n >> 8);
        g[14 + 11] = (byte) n;
    }

    @Test
    void udpOverIpv4MayCarryNoChecksumButUdpOverIpv6MayNot() {
        byte[] v4 = udpFrame("10.0.0.1", 5000, "10.0.0.2", 53, "query".getBytes());
        assertEquals(0, checked(v4).events());
        assertTrue(checked(broken(v4, v4.length - 1)).has(DecodeEvent.UDP_CHECKSUM_BAD));
        byte[] none = v4.clone();
        none[14 + 20 + 6] = 0;
        none[14 + 20 + 7] = 0;
        assertEquals(0, checked(none).events(), "0: the sender computed none");
        byte[] v6 = ethernet(0x86DD, ipv6(UDP, "2001:db8::1", "2001:db8::2", udp(5000, 53, "query".getBytes())));
        assertEquals(0, checked(v6).events());
        byte[] v6none = v6.clone();
        v6none[14 + 40 + 6] = 0;
        v6none[14 + 40 + 7] = 0;
        assertTrue(checked(v6none).has(DecodeEvent.UDP_CHECKSUM_BAD), "RFC 8200 §8.1: IPv6 receivers drop it");
    }

    @Test
    void ipv6SegmentsAreCheckedUnlessARoutingHeaderWithASegmentLeftNamesAnotherFinalDestination() {
        byte[] seg = tcp(40000, 80, 1, 1, ACK, "data".getBytes());
        byte[] f = ethernet(0x86DD, ipv6(TCP, "2001:db8::1", "2001:db8::2", seg));
        assertEquals(0, checked(f).events());
        assertTrue(checked(broken(f, f.length - 1)).has(DecodeEvent.TCP_CHECKSUM_BAD));
        // A routing header with no segments left (one Linux lets pass): the address field is the
        // final destination, so the segment is judged as without it.
        byte[] routed = ipv6(43, "2001:db8::1", "2001:db8::2", concat(bytes(TCP, 0, 0, 0, 0, 0, 0, 0), seg));
        l4Checksum(routed, 48, TCP, concat(addr("2001:db8::1"), addr("2001:db8::2")));
        assertEquals(0, checked(ethernet(0x86DD, routed)).events());
        assertTrue(checked(broken(ethernet(0x86DD, routed), 14 + routed.length - 1)).has(DecodeEvent.TCP_CHECKSUM_BAD));
        // Mobile IPv6's type 2 with a segment left: the final destination is the home address it
        // carries, which the sender summed over. Not judged from the address field.
        byte[] home = addr("2001:db8::99");
        byte[] mobile = ipv6(43, "2001:db8::1", "2001:db8::2", concat(bytes(TCP, 2, 2, 1, 0, 0, 0, 0), home, seg));
        l4Checksum(mobile, 64, TCP, concat(addr("2001:db8::1"), home));
        assertEquals(0, checked(ethernet(0x86DD, mobile)).events());
    }

    @Test
    void udpIsCheckedOverItsOwnLengthNotTrailingBytesOfTheIpPacket() {
        byte[] dgram = udp(5000, 53, "query".getBytes());
        byte[] inner = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", dgram));
        byte[] sum = Arrays.copyOfRange(inner, 14 + 20 + 6, 14 + 20 + 8);
        // Three bytes after the datagram inside the IP packet: Linux trims to the UDP length first.
        byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", concat(dgram, bytes(7, 7, 7))));
        f[14 + 20 + 6] = sum[0]; // the builder summed all of it; the sender summed its datagram
        f[14 + 20 + 7] = sum[1];
        Packet p = checked(f);
        assertTrue(p.has(DecodeEvent.UDP_HLEN_INVALID));
        assertFalse(p.has(DecodeEvent.UDP_CHECKSUM_BAD));
    }

    @Test
    void aReassembledDatagramIsCheckedWhole() {
        byte[] dgram = udp(5000, 53, "a datagram that comes in two fragments".getBytes());
        byte[] whole = ipv4(UDP, "10.0.0.1", "10.0.0.2", dgram);
        byte[] l4 = Arrays.copyOfRange(whole, 20, whole.length); // with its checksum filled in
        for (boolean corrupt : new boolean[] {false, true}) {
            byte[] second = Arrays.copyOfRange(l4, 16, l4.length);
            if (corrupt) {
                second[3] ^= 0x41;
            }
            Decoder dec = new Decoder();
            byte[] a = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 9, 0, true, new byte[0],
                    Arrays.copyOf(l4, 16)));
            byte[] b = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 9, 16, false, new byte[0], second));
            dec.decode(a, 0, a.length, 1, Decoder.LINKTYPE_ETHERNET, true);
            Packet p = dec.decode(b, 0, b.length, 2, Decoder.LINKTYPE_ETHERNET, true);
            assertTrue(p.reassembled());
            assertEquals(corrupt, p.has(DecodeEvent.UDP_CHECKSUM_BAD), "corrupted: " + corrupt);
        }
    }

    /** Any one bit changed anywhere in a segment or its addresses is caught (a ones'-complement sum property). */
    @Property(tries = 300)
    void anySingleBitFlipInASegmentIsCaught(@ForAll @Size(max = 1600) byte[] payload,
                                            @ForAll @IntRange(min = 0, max = 1 << 20) int pick, @ForAll boolean v6) {
        byte[] seg = tcp(40000, 80, 7, 9, ACK | PSH, payload);
        byte[] f = v6 ? ethernet(0x86DD, ipv6(TCP, "2001:db8::1", "2001:db8::2", seg))
                : ethernet(0x0800, ipv4(TCP, "10.0.0.1", "10.0.0.2", seg));
        assertEquals(0, checked(f).events());
        int l3 = v6 ? 40 : 20;
        int addrFrom = 14 + (v6 ? 8 : 12);
        int addrBits = (v6 ? 32 : 8) * 8;
        int segBits = seg.length * 8;
        int bit = pick % (addrBits + segBits);
        int at = bit < addrBits ? addrFrom + bit / 8 : 14 + l3 + (bit - addrBits) / 8;
        byte[] g = f.clone();
        g[at] ^= (byte) (1 << (bit % 8));
        if (!v6 && bit < addrBits) {
            mendIpHeader(g); // so that only the segment's checksum can catch it
        }
        Packet p = checked(g);
        assertFalse(p.has(DecodeEvent.IPV4_CHECKSUM_BAD));
        // A flip in the data offset can leave no header to check: malformed, and marked so.
        boolean malformed = p.has(DecodeEvent.TCP_INVALID_OPTLEN) || p.has(DecodeEvent.TCP_HLEN_TOO_SMALL);
        assertTrue(p.has(DecodeEvent.TCP_CHECKSUM_BAD) || malformed && bit >= addrBits && (bit - addrBits) / 8 == 12, "bit " + bit);
    }
}
