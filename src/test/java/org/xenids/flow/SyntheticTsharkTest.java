package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.xenids.testdata.PacketBuilder.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;
import org.xenids.testdata.Tshark;

/**
 * What the dev captures lack (IPv6, VLAN tags, ICMP, ICMPv6, Linux SLL/SLL2 and raw-IP links),
 * written to a pcapng and compared with tshark frame by frame: the flow of each frame must carry
 * the Community ID tshark gives that frame, and TCP/UDP frames must fall into the same streams.
 */
class SyntheticTsharkTest {

    record Frame(int iface, byte[] bytes) {}

    @Test
    void ipv6VlanIcmpAndOtherLinkTypesMatchTshark(@TempDir Path tmp) throws Exception {
        Tshark.assumeInstalled();
        List<Frame> frames = new ArrayList<>();
        String c6 = "2001:db8::10", s6 = "2001:db8::80";
        byte[] syn = ipv6(TCP, c6, s6, tcp(50000, 443, 1000, 0, SYN, bytes()));
        byte[] synAck = ipv6(TCP, s6, c6, tcp(443, 50000, 7000, 1001, SYN | ACK, bytes()));
        byte[] data = ipv6(0, c6, s6, concat(ext8(TCP), tcp(50000, 443, 1001, 7001, ACK | PSH, bytes(1, 2, 3))));
        frames.add(new Frame(0, ethernet(0x86DD, syn)));
        frames.add(new Frame(0, ethernet(0x86DD, synAck)));
        frames.add(new Frame(0, ethernet(0x86DD, data)));
        byte[] dns = ipv4(UDP, "10.0.0.5", "10.0.0.15", udp(33333, 53, bytes(1, 2, 3, 4)));
        frames.add(new Frame(0, ethernetTagged(new int[] {0x8100}, new int[] {42}, 0x0800, dns)));
        frames.add(new Frame(0, ethernetTagged(new int[] {0x8100}, new int[] {42}, 0x0800,
                ipv4(UDP, "10.0.0.15", "10.0.0.5", udp(53, 33333, bytes(9))))));
        frames.add(new Frame(0, ethernet(0x0800, ipv4(ICMP, "10.0.0.5", "10.0.0.11", icmp(8, 0, bytes(1, 2))))));
        frames.add(new Frame(0, ethernet(0x0800, ipv4(ICMP, "10.0.0.11", "10.0.0.5", icmp(0, 0, bytes(1, 2))))));
        frames.add(new Frame(0, ethernet(0x86DD, ipv6(ICMPV6, "fe80::1", "fe80::2", icmp(128, 0, bytes(7))))));
        frames.add(new Frame(0, ethernet(0x86DD, ipv6(ICMPV6, "fe80::2", "fe80::1", icmp(129, 0, bytes(7))))));
        byte[] ip4tcp = ipv4(TCP, "192.0.2.1", "192.0.2.2", tcp(1111, 22, 5, 0, SYN, bytes()));
        frames.add(new Frame(1, concat(bytes(0, 0, 0, 1, 0, 6, 0, 0x16, 0x3e, 0, 0, 1, 0, 0, 0x08, 0x00), ip4tcp)));
        frames.add(new Frame(2, concat(bytes(0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 0, 0x16, 0x3e, 0, 0, 2, 0, 0),
                ipv4(TCP, "192.0.2.2", "192.0.2.1", tcp(22, 1111, 9, 6, SYN | ACK, bytes())))));
        frames.add(new Frame(3, ipv6(UDP, "2001:db8::1", "2001:db8::2", udp(5000, 6000, bytes(1)))));
        // An ICMP port unreachable about a UDP packet: Wireshark puts it in that packet's
        // udp.stream (its communityid is the ICMP one of the frame), and so does the flow table.
        byte[] udp4 = ipv4(UDP, "10.0.0.7", "10.0.0.15", udp(40000, 123, bytes(1, 2, 3, 4)));
        frames.add(new Frame(0, ethernet(0x0800, udp4)));
        int folded = frames.size() + 1;
        frames.add(new Frame(0, ethernet(0x0800, ipv4(ICMP, "10.0.0.15", "10.0.0.7", concat(bytes(3, 3, 0, 0, 0, 0, 0, 0), java.util.Arrays.copyOf(udp4, 28))))));

        Path cap = tmp.resolve("mixed.pcapng");
        try (CaptureWriter w = CaptureWriter.pcapng(cap)) {
            w.addInterface(1, "eth0", null);
            w.addInterface(113, "sll0", null);
            w.addInterface(276, "sll2", null);
            w.addInterface(101, "raw0", null);
            long ts = 1_000_000_000L;
            for (Frame f : frames) w.write(f.iface(), ts += 1_000_000, f.bytes(), 0, f.bytes().length);
        }
        List<String> ts = Tshark.fields(cap, "frame.number", "tcp.stream", "udp.stream", "communityid");
        assertEquals(frames.size(), ts.size());

        Map<Long, String> cid = new HashMap<>();
        StreamListener l = new StreamListener() {
            @Override
            public void flowEnd(Flow f) {
                cid.put(f.id(), f.communityId());
            }
        };
        Pipeline pipe = new Pipeline(FlowConfig.defaults(), l);
        List<Long> flowOf = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(cap)) {
            while (r.next()) {
                pipe.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType());
                assertNotNull(pipe.lastFlow(), "frame " + (flowOf.size() + 1) + " in a flow");
                flowOf.add(pipe.lastFlow().id());
            }
        }
        pipe.finish();
        Map<String, Long> flowOfStream = new HashMap<>();
        for (int i = 0; i < ts.size(); i++) {
            String[] c = ts.get(i).split("\\|", -1);
            long flow = flowOf.get(i);
            if (i + 1 != folded) assertEquals(c[3], cid.get(flow), "frame " + (i + 1) + ": Community ID");
            String stream = !c[1].isEmpty() ? "tcp" + c[1] : !c[2].isEmpty() ? "udp" + c[2] : null;
            if (stream != null) {
                assertEquals(flowOfStream.computeIfAbsent(stream, k -> flow), flow, "frame " + (i + 1) + ": " + stream);
            }
        }
        assertEquals(7, pipe.table().flowsCreated(), "tcp6, udp4 in vlan 42, icmp echo, icmpv6 echo, tcp4 over SLL/SLL2, udp6 raw, udp4");
        assertEquals(1, pipe.table().icmpErrorsFolded());
        assertEquals(c(ts.get(folded - 1), 2), c(ts.get(folded - 2), 2), "tshark too puts the error in the UDP stream");
    }

    private static String c(String line, int col) {
        return line.split("\\|", -1)[col];
    }
}
