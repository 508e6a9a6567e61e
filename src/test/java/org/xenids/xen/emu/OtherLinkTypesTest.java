package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.CaptureWriter;
import org.xenids.pcap.LinkType;
import org.xenids.testdata.SharedData;

/**
 * A pcapng may hold interfaces of several link types. Only Ethernet frames can enter a vif or the
 * uplink: records of another type are counted as not replayable and the rest of the capture is
 * replayed; a capture with no Ethernet record at all is refused before anything runs.
 */
class OtherLinkTypesTest {
    private static final String CAPTURE = "traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz";

    @Test
    void aRawIpRecordAmidEthernetOnesIsCountedAndTheRestReplayed(@TempDir Path dir) throws IOException {
        List<byte[]> frames = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(SharedData.file(CAPTURE))) {
            while (frames.size() < 40 && r.next()) {
                frames.add(java.util.Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + r.capturedLength()));
                times.add(r.timestampNanos());
            }
        }
        Path mixed = dir.resolve("mixed.pcapng");
        try (CaptureWriter w = CaptureWriter.pcapng(mixed)) {
            int eth = w.addInterface(LinkType.ETHERNET, "eth0", null);
            int raw = w.addInterface(LinkType.RAW, "tun0", null);
            for (int i = 0; i < frames.size(); i++) {
                byte[] f = frames.get(i);
                if (i == 0) {
                    // A tunnel's record first: it does not make the capture the wrong kind.
                    w.write(raw, times.get(i), f, 14, f.length - 14);
                }
                w.write(eth, times.get(i), f, 0, f.length);
                if (i == 2) {
                    // The same IP packet as seen on a tunnel: no Ethernet header.
                    w.write(raw, times.get(i), f, 14, f.length - 14);
                }
            }
        }
        TrafficDriver all = new TrafficDriver(Topology.fromCaptures(List.of(SharedData.file(CAPTURE)),
                List.of("10.0.0.0/24"), Map.of()));
        all.start(0);
        TrafficDriver.Stats mixedStats;
        TrafficDriver d = new TrafficDriver(Topology.fromCaptures(List.of(SharedData.file(CAPTURE)),
                List.of("10.0.0.0/24"), Map.of()));
        d.start(0);
        mixedStats = d.replay(List.of(mixed), null);
        assertEquals(frames.size() + 2, mixedStats.frames());
        assertEquals(2, mixedStats.skipped(), "the raw IP records, not replayable");
        // Every Ethernet frame went where it goes without the raw one.
        Path plain = dir.resolve("plain.pcapng");
        try (CaptureWriter w = CaptureWriter.pcapng(plain)) {
            int eth = w.addInterface(LinkType.ETHERNET, "eth0", null);
            for (int i = 0; i < frames.size(); i++) {
                w.write(eth, times.get(i), frames.get(i), 0, frames.get(i).length);
            }
        }
        TrafficDriver.Stats plainStats = all.replay(List.of(plain), null);
        assertEquals(0, plainStats.skipped());
        assertTrue(plainStats.fromGuests() > 0 && plainStats.fromOutside() > 0, plainStats.toString());
        assertEquals(plainStats.fromGuests(), mixedStats.fromGuests());
        assertEquals(plainStats.fromOutside(), mixedStats.fromOutside());
        assertEquals(plainStats.deliveredToGuests(), mixedStats.deliveredToGuests());
        assertEquals(plainStats.toUplink(), mixedStats.toUplink());
    }

    @Test
    void aCaptureWithNoEthernetRecordIsRefusedBeforeAnythingIsReplayed(@TempDir Path dir) throws IOException {
        byte[] ip = new byte[40];
        ip[0] = 0x45;
        ip[3] = 40;
        Path raw = dir.resolve("tun.pcapng");
        try (CaptureWriter w = CaptureWriter.pcapng(raw)) {
            int i = w.addInterface(LinkType.RAW, "tun0", null);
            w.write(i, 1_000_000_000L, ip, 0, ip.length);
            w.write(i, 2_000_000_000L, ip, 0, ip.length);
        }
        TrafficDriver d = new TrafficDriver(Topology.fromCaptures(List.of(SharedData.file(CAPTURE)),
                List.of("10.0.0.0/24"), Map.of()));
        d.start(0);
        IOException e = assertThrows(IOException.class, () -> d.replay(List.of(SharedData.file(CAPTURE), raw), null));
        assertTrue(e.getMessage().endsWith("tun.pcapng: no Ethernet frame, 2 records of link type 101 (the driver replays"
                + " Ethernet captures)"), e.getMessage());
        TrafficDriver.Stats st = d.stats();
        assertEquals(0, st.fromGuests() + st.fromOutside(), "nothing replayed: " + st);
        assertEquals(st.frames(), st.skipped(), "what was read is counted as not replayable: " + st);
    }
}
