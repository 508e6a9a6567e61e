package org.xenids.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.testdata.PacketBuilder.*;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DecoderTest {
    private final Decoder d = new Decoder();

    private Packet eth(byte[] f) {
        return d.decode(f, 0, f.length, 1_000, Decoder.LINKTYPE_ETHERNET);
    }

    @Test
    void ethernetIpv4TcpFieldsAndOptionsAreDecodedInPlace() {
        byte[] opts = bytes(2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 7);
        byte[] f = ethernet(0x0800, ipv4(TCP, "10.0.0.1", "10.0.0.2", tcp(1234, 80, 100, 0, SYN, opts, bytes())));
        Packet p = eth(f);
        assertEquals(0, p.events());
        assertEquals(4, p.ipVersion());
        assertEquals("10.0.0.1", p.srcAddress());
        assertEquals("10.0.0.2", p.dstAddress());
        assertEquals(6, p.protocol());
        assertEquals(1234, p.srcPort());
        assertEquals(80, p.dstPort());
        assertEquals(100, p.seq());
        assertEquals(SYN, p.tcpFlags());
        assertEquals(1460, p.mss());
        assertEquals(7, p.windowScale());
        assertTrue(p.sackPermitted());
        assertTrue(p.hasTimestamp());
        assertEquals(7, p.tsVal());
        assertEquals(9, p.tsEcr());
        assertEquals(0, p.payloadLength());
        assertTrue(p.data() == f, "a view over the frame, not a copy");
    }

    @Test
    void ethernetPaddingIsNotPayload() {
        byte[] f = concat(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", udp(5, 53, bytes(1, 2)))), new byte[20]);
        Packet p = eth(f);
        assertEquals(0, p.events());
        assertEquals(2, p.payloadLength());
        assertEquals(30, p.l3Length());
    }

    @Test
    void qinqTagsAreFollowedAndAThirdTagIsAnEvent() {
        byte[] ip = ipv4(UDP, "10.0.0.1", "10.0.0.2", udp(5, 53, bytes(1)));
        Packet p = eth(ethernetTagged(new int[] {0x88a8, 0x8100}, new int[] {100, 200}, 0x0800, ip));
        assertEquals(2, p.vlanCount());
        assertEquals(100, p.vlanOuter());
        assertEquals(200, p.vlanInner());
        assertEquals(53, p.dstPort());
        p = eth(ethernetTagged(new int[] {0x88a8, 0x8100, 0x8100}, new int[] {1, 2, 3}, 0x0800, ip));
        assertTrue(p.has(DecodeEvent.VLAN_TOO_MANY_LAYERS));
        assertEquals(0, p.ipVersion());
    }

    @Test
    void everyLinkTypeReachesTheSameIpv4Packet() {
        byte[] ip = ipv4(UDP, "192.0.2.1", "192.0.2.2", udp(1000, 2000, bytes(9, 9, 9)));
        byte[] sll = concat(bytes(0, 0, 0, 1, 0, 6, 0, 0x16, 0x3e, 0, 0, 1, 0, 0, 0x08, 0x00), ip);
        byte[] sll2 = concat(bytes(0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0x16, 0x3e, 0, 0, 1, 0, 0), ip);
        byte[] nullLe = concat(bytes(2, 0, 0, 0), ip);
        byte[] nullBe = concat(bytes(0, 0, 0, 2), ip);
        byte[][] frames = {ethernet(0x0800, ip), sll, sll2, ip, ip, nullLe, nullBe, nullBe};
        int[] links = {Decoder.LINKTYPE_ETHERNET, Decoder.LINKTYPE_LINUX_SLL, Decoder.LINKTYPE_LINUX_SLL2,
            Decoder.LINKTYPE_RAW, Decoder.LINKTYPE_IPV4, Decoder.LINKTYPE_NULL, Decoder.LINKTYPE_NULL, Decoder.LINKTYPE_LOOP};
        for (int i = 0; i < frames.length; i++) {
            Packet p = d.decode(frames[i], 0, frames[i].length, 0, links[i]);
            assertEquals(0, p.events(), "link " + links[i]);
            assertEquals(2000, p.dstPort(), "link " + links[i]);
            assertEquals(3, p.payloadLength(), "link " + links[i]);
        }
        Packet p = d.decode(ip, 0, ip.length, 0, 147);
        assertTrue(p.has(DecodeEvent.LINK_UNSUPPORTED));
        assertEquals(1, d.count(DecodeEvent.LINK_UNSUPPORTED));
    }

    @Test
    void arpAddressesAreDecoded() {
        byte[] arp = concat(bytes(0, 1, 8, 0, 6, 4, 0, 1), bytes(0, 0x16, 0x3e, 0, 0, 1), addr("10.0.0.11"),
                new byte[6], addr("10.0.0.12"));
        Packet p = eth(ethernet(0x0806, arp));
        assertEquals(Packet.PROTO_ARP, p.protocol());
        assertEquals("10.0.0.11", p.srcAddress());
        assertEquals("10.0.0.12", p.dstAddress());
        p = eth(ethernet(0x0806, Arrays.copyOf(arp, 10)));
        assertTrue(p.has(DecodeEvent.ARP_PKT_TOO_SMALL));
    }

    @Test
    void ipv6ExtensionHeadersAreWalkedToTcp() {
        byte[] l4 = tcp(4000, 443, 1, 0, SYN, bytes());
        byte[] f = ethernet(0x86DD, ipv6(0, "2001:db8::1", "2001:db8::2", concat(ext8(60), ext8(6), l4)));
        Packet p = eth(f);
        assertEquals(0, p.events());
        assertEquals(6, p.ipVersion());
        assertEquals(6, p.protocol());
        assertEquals(443, p.dstPort());
        assertEquals(56, p.ipHeaderLength());
        assertEquals("2001:db8::1", p.srcAddress());
    }

    @Test
    void malformedIpv4HeadersAreNamedEventsNotExceptions() {
        byte[] good = ethernet(0x0800, ipv4(TCP, "10.0.0.1", "10.0.0.2", tcp(1, 2, 3, 4, ACK, bytes(1, 2, 3))));
        Packet p = eth(Arrays.copyOf(good, good.length - 2));
        assertTrue(p.has(DecodeEvent.IPV4_TRUNC_PKT));
        byte[] v5 = good.clone();
        v5[14] = 0x55;
        assertTrue(eth(v5).has(DecodeEvent.IPV4_WRONG_IP_VERSION));
        byte[] badSum = good.clone();
        badSum[14 + 10] ^= 0x40;
        p = eth(badSum);
        assertTrue(p.has(DecodeEvent.IPV4_CHECKSUM_BAD));
        assertEquals(2, p.dstPort(), "a bad checksum is reported, the packet still decoded");
        byte[] shortHlen = good.clone();
        shortHlen[14 + 20 + 12] = 0x40; // TCP data offset 4 words
        assertTrue(eth(shortHlen).has(DecodeEvent.TCP_HLEN_TOO_SMALL));
        assertTrue(eth(Arrays.copyOf(good, 20)).has(DecodeEvent.IPV4_PKT_TOO_SMALL));
        byte[] badOpt = ethernet(0x0800, ipv4(TCP, "10.0.0.1", "10.0.0.2", 1, 0, false, bytes(7, 9, 0, 0),
                tcp(1, 2, 3, 4, ACK, bytes())));
        assertTrue(eth(badOpt).has(DecodeEvent.IPV4_OPT_INVALID_LEN));
        assertEquals(1, d.count(DecodeEvent.IPV4_TRUNC_PKT));
        assertEquals(1, d.count(DecodeEvent.TCP_HLEN_TOO_SMALL));
    }

    @Test
    void udpLengthBeyondTheDatagramIsAnEvent() {
        byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", bytes(0, 1, 0, 2, 0, 50, 0, 0, 1, 2)));
        assertTrue(eth(f).has(DecodeEvent.UDP_LEN_INVALID));
    }

    @Test
    void icmpTypeAndCodeAreDecoded() {
        Packet p = eth(ethernet(0x0800, ipv4(ICMP, "10.0.0.1", "10.0.0.2", icmp(8, 0, bytes(1, 2, 3)))));
        assertEquals(8, p.icmpType());
        assertEquals(0, p.icmpCode());
        assertEquals(3, p.payloadLength());
        p = eth(ethernet(0x86DD, ipv6(58, "fe80::1", "ff02::1", icmp(135, 0, new byte[16]))));
        assertEquals(135, p.icmpType());
        assertEquals(0, p.events());
    }

    @Test
    void ipv4FragmentsOutOfOrderAreReassembledIntoOneDatagram() {
        byte[] payload = new byte[40];
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) i;
        byte[] seg = udp(7, 9, payload); // 48 bytes of UDP
        byte[] f2 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 77, 24, false, bytes(), Arrays.copyOfRange(seg, 24, 48)));
        byte[] f1 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 77, 0, true, bytes(), Arrays.copyOfRange(seg, 0, 24)));
        Packet p = eth(f2);
        assertTrue(p.fragment());
        assertEquals(0, p.l4Length());
        p = eth(f1);
        assertTrue(p.reassembled());
        assertEquals(0, p.events());
        assertEquals(9, p.dstPort());
        assertEquals(40, p.payloadLength());
        assertArrayEquals(payload, Arrays.copyOfRange(p.data(), p.payloadOffset(), p.payloadOffset() + 40));
        assertEquals(0, Bytes.checksum(p.data(), p.l3Offset(), 20), "the rebuilt header is valid");
        assertEquals(1, d.reassembledDatagrams());
        assertEquals(2, d.fragments(4));
        assertEquals(1, d.reassembledDatagrams(4));
        assertEquals(0, d.fragments(6) + d.reassembledDatagrams(6));
    }

    @Test
    void overlappingFragmentsCondemnTheirDatagramAndItsKeyStartsAfresh() {
        // Decoys under a key, overlapping: Linux gives up the whole datagram (RFC 5722 for IPv6,
        // applied to IPv4 too), then reassembles what comes next under the same key. Keeping the
        // first bytes instead made the attack sent next look like a repeat of the decoys.
        byte[] seg = udp(7, 9, new byte[24]);
        Arrays.fill(seg, 8, 32, (byte) 0x90);
        byte[] decoy = new byte[16];
        Arrays.fill(decoy, (byte) 0x41);
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 5, 0, true, bytes(), Arrays.copyOf(seg, 8))));
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 5, 8, true, bytes(), decoy)));
        Packet p = eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 5, 16, true, bytes(), decoy)));
        assertTrue(p.has(DecodeEvent.IPV4_FRAG_OVERLAP), "[16, 32) across the end of [8, 24)");
        assertEquals(0, d.fragmentsHeld(), "the datagram given up");
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 5, 0, true, bytes(), Arrays.copyOf(seg, 16))));
        p = eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 5, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32))));
        assertTrue(p.reassembled());
        assertEquals((byte) 0x90, p.data()[p.payloadOffset()]);
        assertEquals((byte) 0x90, p.data()[p.payloadOffset() + 8]);
        // A fragment wholly inside one run of held bytes is a duplicate: ignored, nothing given up.
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 0, true, bytes(), Arrays.copyOf(seg, 24))));
        p = eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 8, true, bytes(), decoy)));
        assertFalse(p.has(DecodeEvent.IPV4_FRAG_OVERLAP));
        p = eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 24, false, bytes(), Arrays.copyOfRange(seg, 24, 32))));
        assertTrue(p.reassembled());
        assertEquals((byte) 0x90, p.data()[p.payloadOffset() + 8], "the duplicate's bytes were not taken");
        // Two runs that merely meet stay two: a fragment across where they meet is an overlap.
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32))));
        eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 8, true, bytes(), Arrays.copyOfRange(seg, 8, 16))));
        p = eth(ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 8, true, bytes(), Arrays.copyOfRange(seg, 8, 24))));
        assertTrue(p.has(DecodeEvent.IPV4_FRAG_OVERLAP));
        assertEquals(2, d.count(DecodeEvent.IPV4_FRAG_OVERLAP));
        // Inconsistent ends, bytes past a known end, an empty fragment: given up too.
        for (byte[][] pair : new byte[][][] {
            {ipv4(UDP, "10.0.0.1", "10.0.0.2", 8, 16, false, bytes(), new byte[16]), ipv4(UDP, "10.0.0.1", "10.0.0.2", 8, 8, false, bytes(), new byte[16])},
            {ipv4(UDP, "10.0.0.1", "10.0.0.2", 9, 16, false, bytes(), new byte[16]), ipv4(UDP, "10.0.0.1", "10.0.0.2", 9, 32, true, bytes(), new byte[8])},
            {ipv4(UDP, "10.0.0.1", "10.0.0.2", 10, 0, true, bytes(), new byte[8]), ipv4(UDP, "10.0.0.1", "10.0.0.2", 10, 8, true, bytes(), new byte[4])}}) {
            eth(ethernet(0x0800, pair[0]));
            assertTrue(eth(ethernet(0x0800, pair[1])).has(DecodeEvent.IPV4_FRAG_OVERLAP));
            assertEquals(0, d.fragmentsHeld());
        }
    }

    @Test
    void aFragmentWithABadHeaderChecksumIsNoPartOfItsDatagram() {
        // A decoy first fragment the receiver drops (broken IP checksum), then the real one: the
        // datagram is rebuilt from what the receiver reassembles.
        byte[] seg = udp(7, 9, new byte[24]);
        byte[] decoyData = Arrays.copyOfRange(seg, 0, 16);
        Arrays.fill(decoyData, 8, 16, (byte) 0x41);
        byte[] decoy = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 0, true, bytes(), decoyData));
        decoy[14 + 10] ^= 0x55;
        byte[] a = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 0, true, bytes(), Arrays.copyOfRange(seg, 0, 16)));
        byte[] b = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 6, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32)));
        Packet p = eth(decoy);
        assertTrue(p.fragment() && p.has(DecodeEvent.IPV4_CHECKSUM_BAD));
        eth(a);
        p = eth(b);
        assertTrue(p.reassembled());
        assertEquals(0, d.count(DecodeEvent.IPV4_FRAG_OVERLAP), "the decoy was never held");
        assertEquals(0, p.data()[p.payloadOffset()], "the real first fragment's bytes");
    }

    @Test
    void decoysBetweenAnAttacksFragmentsDoNotPushItOutOfTheTable() {
        // The attack's first fragment, then 5,000 decoy datagrams of one small fragment each (a
        // Linux host keeps about that many in its 4 MiB), then the attack's last fragment.
        byte[] seg = udp(7, 9, new byte[24]);
        Arrays.fill(seg, 8, 32, (byte) 0x90);
        eth(ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", 1, 0, true, bytes(), Arrays.copyOfRange(seg, 0, 16))));
        for (int id = 2; id < 5_002; id++) {
            eth(ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", id, 0, true, bytes(), new byte[8])));
        }
        Packet p = eth(ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", 1, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32))));
        assertTrue(p.reassembled());
        assertEquals((byte) 0x90, p.data()[p.payloadOffset()]);
        assertEquals(0, d.count(DecodeEvent.IPV4_FRAG_TABLE_FULL));
        assertEquals(5_000, d.fragmentsHeld());
    }

    @Test
    void anOwnerOverItsBytesTakesNoFragmentUntilSomeLeaveAndOthersGoOn() {
        // The least bound there is, filled with small datagrams: once over it (checked before a
        // fragment, as Linux does) the owner takes no fragment at all, not even one finishing a
        // datagram it holds, and gives up nothing it holds for it. Another owner goes on.
        Decoder small = new Decoder(100_000, 0, 30_000_000_000L);
        int held = 0;
        for (int id = 2; small.count(DecodeEvent.IPV4_FRAG_TABLE_FULL) == 0; id++) {
            byte[] f = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", id, 0, true, bytes(), new byte[8]));
            small.decode(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET);
            held = small.fragmentsHeld();
        }
        assertTrue(held > 10, held + " datagrams in the least bound");
        byte[] last = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 2, 8, false, bytes(), new byte[8]));
        assertFalse(small.decode(last, 0, last.length, 3, Decoder.LINKTYPE_ETHERNET).reassembled());
        assertEquals(2, small.count(DecodeEvent.IPV4_FRAG_TABLE_FULL), "over its bound: dropped");
        assertEquals(held, small.fragmentsHeld(), "nothing given up for it");
        // Another owner, the same datagram key: its own, and within its own bound.
        byte[] first2 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 2, 0, true, bytes(), new byte[8]));
        small.decode(first2, 0, first2.length, 4, Decoder.LINKTYPE_ETHERNET, false, 1);
        assertTrue(small.decode(last, 0, last.length, 5, Decoder.LINKTYPE_ETHERNET, false, 1).reassembled());
        assertEquals(held, small.fragmentsHeld());
        // Once its datagrams time out, owner 0 takes fragments again.
        byte[] later = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 1, 0, true, bytes(), new byte[8]));
        small.decode(later, 0, later.length, 40_000_000_000L, Decoder.LINKTYPE_ETHERNET);
        assertEquals(held, small.count(DecodeEvent.IPV4_FRAG_TIMEOUT));
        assertEquals(1, small.fragmentsHeld());
        assertEquals(2, small.count(DecodeEvent.IPV4_FRAG_TABLE_FULL));
    }

    @Test
    void aFragmentFarIntoItsDatagramCostsNoMoreThanOneNearItsStart() {
        // Decoys of 8 bytes each, the last of a 60,008-byte datagram or the first of one, against
        // a byte bound made for 5,000 first fragments: the far ones fill it exactly as the first
        // ones do, and past it both are refused.
        int[] held = new int[2];
        for (int k = 0; k < 2; k++) {
            int offset = k == 0 ? 60_000 : 0;
            Decoder dec = new Decoder(16_384, 5_000 * Fragments.cost(1), 30_000_000_000L);
            for (int id = 2; id < 5_012; id++) {
                byte[] f = ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", id, offset, offset == 0, bytes(),
                        new byte[8]));
                dec.decode(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
            }
            held[k] = dec.fragmentsHeld();
            assertEquals(5_010 - held[k], dec.count(DecodeEvent.IPV4_FRAG_TABLE_FULL), "offset " + offset);
        }
        assertEquals(held[1], held[0], "far and first fragments cost the same");
        assertTrue(held[0] >= 5_000 && held[0] < 5_010, "the bound is in force: " + held[0]);
    }

    @Test
    void decoysSentToAnotherOwnerCannotPushOutAnAttacksFirstFragment() {
        // The attack's first fragment for owner 2 (a guest), then more decoy datagrams for owner 4
        // (another guest, or addresses the first ignores) than an owner holds, then the attack's
        // last fragment: each Linux guest keeps its own fragments, so the first still has it.
        byte[] seg = udp(7, 9, new byte[24]);
        Arrays.fill(seg, 8, 32, (byte) 0x90);
        Decoder dec = new Decoder(1_000, 30_000_000_000L);
        byte[] first = ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", 1, 0, true, bytes(), Arrays.copyOfRange(seg, 0, 16)));
        dec.decode(first, 0, first.length, 1, Decoder.LINKTYPE_ETHERNET, false, 2);
        for (int id = 2; id < 1_502; id++) {
            byte[] f = ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.3", id, 0, true, bytes(), new byte[8]));
            dec.decode(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET, false, 4);
        }
        assertEquals(500, dec.count(DecodeEvent.IPV4_FRAG_TABLE_FULL), "the decoys past owner 4's bound");
        byte[] last = ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", 1, 16, false, bytes(), Arrays.copyOfRange(seg, 16, 32)));
        Packet p = dec.decode(last, 0, last.length, 3, Decoder.LINKTYPE_ETHERNET, false, 2);
        assertTrue(p.reassembled());
        assertEquals((byte) 0x90, p.data()[p.payloadOffset()]);
        // Sent to owner 2 itself, the decoys fill its own bound: it takes nothing more, the attack's
        // last fragment included, as a Linux guest over ipfrag_high_thresh drops every fragment.
        Decoder one = new Decoder(16_384, 1_000 * Fragments.cost(1), 30_000_000_000L);
        one.decode(first, 0, first.length, 1, Decoder.LINKTYPE_ETHERNET, false, 2);
        for (int id = 2; id < 1_502; id++) {
            byte[] f = ethernet(0x0800, ipv4(UDP, "203.0.113.9", "10.0.0.2", id, 0, true, bytes(), new byte[8]));
            one.decode(f, 0, f.length, 2, Decoder.LINKTYPE_ETHERNET, false, 2);
        }
        assertFalse(one.decode(last, 0, last.length, 3, Decoder.LINKTYPE_ETHERNET, false, 2).reassembled());
        assertEquals(1_001, one.fragmentsHeld(), "the attack's first fragment among them, not given up");
        assertEquals(500 + 1, one.count(DecodeEvent.IPV4_FRAG_TABLE_FULL), "decoys past the bound, and the last fragment");
    }

    @Test
    void anIpv6FragmentNotTheLastAndNotInEightByteUnitsIsDroppedAnIpv4OneCut() {
        byte[] seg = udp(7, 9, new byte[32]);
        byte[] odd = ethernet(0x86DD, ipv6(44, "2001:db8::1", "2001:db8::2",
                concat(fragment6(17, 0, true, 77), Arrays.copyOfRange(seg, 0, 13))));
        assertTrue(eth(odd).has(DecodeEvent.IPV6_FRAG_INVALID_LENGTH));
        assertEquals(0, d.fragmentsHeld(), "Linux drops it (ip6_frag_queue): it stands in for nothing");
        assertEquals(0, d.fragments(6), "not handed to reassembly");
        // IPv4 keeps the first 8-byte units of such a fragment (ip_frag_queue): bytes 8..12 come
        // from the next fragment, not from the cut tail.
        byte[] a = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 3, 0, true, bytes(), concat(Arrays.copyOf(seg, 8), bytes(0x41, 0x41, 0x41, 0x41, 0x41))));
        byte[] b = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 3, 8, false, bytes(), Arrays.copyOfRange(seg, 8, 40)));
        eth(a);
        Packet p = eth(b);
        assertTrue(p.reassembled());
        assertEquals(0, p.data()[p.payloadOffset()], "not the cut tail's 0x41");
        assertEquals(0, d.count(DecodeEvent.IPV4_FRAG_OVERLAP));
    }

    @Test
    void ipv6FragmentsAreReassembled() {
        byte[] seg = udp(7, 9, new byte[32]); // 40 bytes
        byte[] p1 = ethernet(0x86DD, ipv6(44, "2001:db8::1", "2001:db8::2",
                concat(fragment6(17, 0, true, 0xabcdef), Arrays.copyOfRange(seg, 0, 16))));
        byte[] p2 = ethernet(0x86DD, ipv6(44, "2001:db8::1", "2001:db8::2",
                concat(fragment6(17, 16, false, 0xabcdef), Arrays.copyOfRange(seg, 16, 40))));
        assertTrue(eth(p1).fragment());
        Packet p = eth(p2);
        assertTrue(p.reassembled());
        assertEquals(17, p.protocol());
        assertEquals(32, p.payloadLength());
        assertEquals(0, p.events());
        assertEquals(2, d.fragments(6));
        assertEquals(1, d.reassembledDatagrams(6));
        assertEquals(0, d.fragments(4) + d.reassembledDatagrams(4));
    }

    @Test
    void datagramsStillInReassemblyWhenTheInputEndsAreCountedAsTimedOut() {
        // Their timeout is otherwise noticed only when a later fragment comes; here none does.
        Decoder d = new Decoder();
        byte[] v4 = ethernet(0x0800, ipv4(UDP, "10.0.0.1", "10.0.0.2", 7, 0, true, bytes(), new byte[8]));
        byte[] v6 = ethernet(0x86DD, ipv6(44, "2001:db8::1", "2001:db8::2",
                concat(fragment6(17, 0, true, 0xabcdef), new byte[16])));
        d.decode(v4, 0, v4.length, 1, Decoder.LINKTYPE_ETHERNET);
        d.decode(v6, 0, v6.length, 2, Decoder.LINKTYPE_ETHERNET);
        assertEquals(2, d.fragmentsHeld());
        d.finish();
        assertEquals(0, d.fragmentsHeld());
        assertEquals(1, d.count(DecodeEvent.IPV4_FRAG_TIMEOUT));
        assertEquals(1, d.count(DecodeEvent.IPV6_FRAG_TIMEOUT));
        d.finish();
        assertEquals(1, d.count(DecodeEvent.IPV4_FRAG_TIMEOUT), "counted once");
        // Through the pipeline every command uses: its end gives them up too.
        org.xenids.flow.Pipeline pipe = new org.xenids.flow.Pipeline(org.xenids.flow.FlowConfig.defaults(), null);
        pipe.frame(v4, 0, v4.length, 1, Decoder.LINKTYPE_ETHERNET);
        pipe.finish();
        assertEquals(1, pipe.decoder().count(DecodeEvent.IPV4_FRAG_TIMEOUT));
        assertEquals(0, pipe.decoder().fragmentsHeld());
    }

    @Test
    void anyPrefixOfAValidFrameDecodesWithoutThrowing() {
        byte[] f = ethernet(0x86DD, ipv6(0, "2001:db8::1", "2001:db8::2",
                concat(ext8(44), fragment6(6, 0, false, 1), tcp(1, 2, 3, 4, SYN, bytes(2, 4, 5, 0xb4), bytes(1)))));
        for (int n = 0; n <= f.length; n++) {
            Packet p = d.decode(f, 0, n, 0, Decoder.LINKTYPE_ETHERNET);
            if (n < f.length) assertFalse(p.isTcp() && p.payloadLength() == 1, "prefix " + n);
        }
        assertTrue(d.decode(f, 0, f.length, 0, Decoder.LINKTYPE_ETHERNET).isTcp());
    }

    @Test
    void icmpErrorsExposeTheTupleOfThePacketTheyQuote() {
        byte[] quoted = ipv4(UDP, "10.0.0.5", "10.0.0.15", udp(33333, 53, bytes(1, 2, 3, 4)));
        Packet p = eth(ethernet(0x0800, ipv4(ICMP, "10.0.0.15", "10.0.0.5", icmp(3, 3, Arrays.copyOf(quoted, 28)))));
        assertEquals(17, p.quotedProtocol());
        assertEquals("10.0.0.5", Packet.formatAddress(p.quotedSrcHi(), p.quotedSrcLo()));
        assertEquals("10.0.0.15", Packet.formatAddress(p.quotedDstHi(), p.quotedDstLo()));
        assertEquals(33333, p.quotedSrcPort());
        assertEquals(53, p.quotedDstPort());
        byte[] quoted6 = ipv6(TCP, "2001:db8::1", "2001:db8::2", tcp(4000, 80, 1, 0, SYN, bytes()));
        p = eth(ethernet(0x86DD, ipv6(ICMPV6, "2001:db8::2", "2001:db8::1", icmp(1, 4, Arrays.copyOf(quoted6, 48)))));
        assertEquals(6, p.quotedProtocol());
        assertEquals(4000, p.quotedSrcPort());
        p = eth(ethernet(0x0800, ipv4(ICMP, "10.0.0.5", "10.0.0.15", icmp(8, 0, quoted))));
        assertEquals(0, p.quotedProtocol(), "an echo request quotes nothing");
    }
}
