package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xenids.pcap.CaptureReader;
import org.xenids.tap.Tap;
import org.xenids.tap.Trace;

/**
 * The real thing (Maven profile {@code -Pxen-lab}; minutes, root, network for the packages):
 * Xen 4.17 + dom0 + a PV guest under QEMU, the hypercall stream recorded through the gdbstub from
 * boot, and every frame dom0's tcpdump saw on the guest's vif rebuilt byte for byte by the tap
 * from that trace. {@code -Dxenids.xenlab.dir=DIR} reuses a finished run instead of booting.
 */
class XenLabCommandTest {
    static final byte[] GUEST_MAC = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};

    @Test
    void tapRebuildsEveryFrameOfTheGuestsVifFromTheRealTrace() throws IOException {
        String reuse = System.getProperty("xenids.xenlab.dir", "");
        assumeTrue(Boolean.getBoolean("xenids.xenlab") || !reuse.isEmpty(), "run with -Pxen-lab");
        Path dir;
        if (reuse.isEmpty()) {
            dir = Files.createTempDirectory("xenids-xen-lab");
            assertEquals(0, Main.execute("xen", "lab", "run", "--out", dir.toString()));
        } else {
            dir = Path.of(reuse);
        }
        // ground truth: dom0's capture of vif1.0; frames from the guest's MAC are its TX
        Map<Integer, List<byte[]>> want = new HashMap<>(Map.of(Tap.TX, new ArrayList<>(), Tap.RX, new ArrayList<>()));
        try (CaptureReader r = CaptureReader.open(dir.resolve("vif.pcap"))) {
            while (r.next()) {
                byte[] f = Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + r.capturedLength());
                assertEquals(r.originalLength(), r.capturedLength(), "tcpdump truncated a frame");
                boolean fromGuest = Arrays.equals(f, 6, 12, GUEST_MAC, 0, 6);
                want.get(fromGuest ? Tap.TX : Tap.RX).add(f);
            }
        }
        Map<Integer, List<byte[]>> got = new HashMap<>(Map.of(Tap.TX, new ArrayList<>(), Tap.RX, new ArrayList<>()));
        long[] tap = new long[2];
        List<Object> anomalies = new ArrayList<>();
        Trace.Summary s = Trace.replay(dir.resolve("trace.bin"), mem -> {
            Tap t = new Tap(mem, (buf, off, len, domid, vif, queue, direction, peer, ts) -> {
                if (domid == 1) {
                    got.get(direction).add(Arrays.copyOfRange(buf, off, off + len));
                }
            }, anomalies::add);
            return t;
        });
        assertTrue(s.calls() > 0, "empty trace");
        StringBuilder report = new StringBuilder();
        for (int d : new int[] {Tap.TX, Tap.RX}) {
            List<byte[]> w = want.get(d), g = got.get(d);
            assertTrue(w.size() > 0, "no frames captured in direction " + d);
            int missing = 0;
            StringBuilder which = new StringBuilder();
            List<byte[]> left = new ArrayList<>(g);
            for (int k = 0; k < w.size(); k++) {
                byte[] f = w.get(k);
                int i = indexOf(left, f);
                if (i < 0) {
                    missing++;
                    if (missing <= 5) {
                        which.append(" #").append(k).append(" (").append(f.length).append(" B)");
                    }
                } else {
                    left.remove(i);
                }
            }
            if (missing > 0) {
                report.append(d == Tap.TX ? "TX" : "RX").append(": ").append(missing).append(" of ").append(w.size())
                        .append(" captured frames not rebuilt (tap gave ").append(g.size()).append("):")
                        .append(which).append("; ");
            }
        }
        assertEquals("", report.toString());
        assertTrue(anomalies.isEmpty(), () -> "tap anomalies: " + anomalies);
    }

    private static int indexOf(List<byte[]> list, byte[] f) {
        for (int i = 0; i < list.size(); i++) {
            if (Arrays.equals(list.get(i), f)) {
                return i;
            }
        }
        return -1;
    }
}
