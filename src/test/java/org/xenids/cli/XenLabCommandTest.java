package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.tap.LabRun;

/**
 * The real thing (Maven profile {@code -Pxen-lab}; minutes, root, network for the packages):
 * Xen 4.17 + dom0 + a PV guest under QEMU, the hypercall stream recorded through the gdbstub from
 * boot, and every frame dom0's tcpdump saw on the guest's vif rebuilt byte for byte by the tap
 * from that trace, except RX frames dom0 sent before the guest's ring carried anything
 * ({@link LabRun}). {@code -Dxenids.xenlab.dir=DIR} reuses a finished run instead of booting.
 */
class XenLabCommandTest {
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
        LabRun.Result r;
        try (InputStream trace = Files.newInputStream(dir.resolve("trace.bin"));
             InputStream pcap = Files.newInputStream(dir.resolve("vif.pcap"))) {
            r = LabRun.compare(trace, dir.resolve("trace.bin").toString(), pcap, dir.resolve("vif.pcap").toString());
        }
        String report = LabRun.describe(r);
        System.err.println("xen lab test: " + dir + ": " + report);
        assertTrue(r.trace().calls() > 0 && r.trace().ended(), "empty or cut trace");
        assertTrue(r.tx().captured() > 0 && r.rx().captured() > 0, report);
        // every captured frame rebuilt byte for byte, none invented; RX frames dom0 transmitted
        // before the ring carried anything never reached the guest (LabRun)
        assertEquals(List.of(), r.tx().missing(), report);
        assertEquals(List.of(), r.tx().extra(), report);
        assertEquals(List.of(), r.tx().beforeRing(), report);
        assertEquals(0, r.tx().reordered(), "TX frames in the order dom0 captured them: " + report);
        assertEquals(List.of(), r.rx().missing(), report);
        for (LabRun.Captured c : r.rx().beforeRing()) {
            // before the first guest frame netback forwarded, which it does only once connected
            assertTrue(c.timestampNanos() < r.tx().firstCapturedNanos(), "#" + c.index() + ": " + report);
        }
        assertEquals(List.of(), r.rx().extra(), report);
        for (LabRun.Direction d : List.of(r.tx(), r.rx())) {
            assertTrue(d.afterCapture().stream().allMatch(LabRun::chatter), "after the capture, only link-local chatter: " + report);
        }
        assertEquals(1, r.rings().size(), report);
        assertEquals(0, r.guest().lost() + r.guest().drops() + r.guest().unclassified(), report);
        assertTrue(r.anomalies().isEmpty(), report);
    }
}
