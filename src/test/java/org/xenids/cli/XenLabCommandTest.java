package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.tap.LabRun;

/**
 * {@code xenids xen lab run}: its checks and errors with a stand-in lab script (quick), and the real
 * thing (Maven profile {@code -Pxen-lab}; minutes, root, network for the packages):
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

    /** A lab script standing in for scripts/xen-lab: {@code body} after the shebang; it marks that it ran. */
    private static Path labScript(Path dir, String body) throws IOException {
        Path s = dir.resolve("lab.sh");
        Files.writeString(s, "#!/bin/sh\ntouch '" + dir.resolve("ran") + "'\n" + body + "\n");
        s.toFile().setExecutable(true);
        return s;
    }

    @Test
    void aFailingLabScriptIsOneLineNamingItAndItsStatusAndTheEmptyOutputFolderGoes(@TempDir Path dir) throws IOException {
        Path lab = labScript(dir, "echo 'xen-lab: starting' >&2\necho 'xen-lab: boot failed: no kernel' >&2\nexit 4");
        Path out = dir.resolve("made/out");
        String[] r = MainTest.run("xen", "lab", "run", "--out", out.toString(), "--no-probe", "--script", lab.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: xen lab: '" + lab + " run' exited with status 4; its stderr ended: xen-lab: starting"
                + " | xen-lab: boot failed: no kernel", r[2].strip());
        assertTrue(Files.exists(dir.resolve("ran")));
        assertFalse(Files.exists(dir.resolve("made")), "the folders made for the run, empty, are removed");
    }

    @Test
    void aLabScriptFailingInSilenceSaysSoAndWhatItWroteStays(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        Path lab = labScript(dir, "echo boot > '" + out.resolve("serial.log") + "'\nexit 1");
        String[] r = MainTest.run("xen", "lab", "run", "--out", out.toString(), "--no-probe", "--script", lab.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: xen lab: '" + lab + " run' exited with status 1 and wrote nothing on stderr", r[2].strip());
        assertTrue(Files.exists(out.resolve("serial.log")), "a folder the script wrote into is kept");
    }

    @Test
    void aTimeoutBelowOneSecondIsAUsageError(@TempDir Path dir) throws IOException {
        Path lab = labScript(dir, "exit 0");
        for (String t : List.of("-5", "0")) {
            String[] r = MainTest.run("xen", "lab", "run", "--out", dir.resolve("out").toString(), "--no-probe",
                    "--script", lab.toString(), "--timeout", t);
            assertEquals("2", r[0], r[2]);
            assertEquals("xenids: --timeout must be at least 1 second, not " + t + " (see 'xenids xen lab run --help')", r[2].strip());
        }
        assertFalse(Files.exists(dir.resolve("ran")) || Files.exists(dir.resolve("out")));
    }

    @Test
    void aMissingScriptIsNamedBeforeAnythingRunsOrTheOutputFolderIsMade(@TempDir Path dir) throws IOException {
        Path lab = labScript(dir, "exit 0");
        Path out = dir.resolve("out");
        Path none = dir.resolve("none.sh");
        String[][] cases = {
            {"--script", none.toString(), "lab script " + none + ": no such file"},
            {"--script", lab.toString(), "--guest-script", none.toString(), "guest script " + none + ": no such file"},
            {"--script", lab.toString(), "--dom0-script", none.toString(), "dom0 script " + none + ": no such file"},
            {"--script", lab.toString(), "--dom0-script", dir.toString(), "dom0 script " + dir + " is a directory"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("xen", "lab", "run", "--out", out.toString(), "--no-probe"));
            args.addAll(List.of(c).subList(0, c.length - 1));
            String[] r = MainTest.run(args.toArray(String[]::new));
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: xen lab: " + c[c.length - 1], r[2].strip());
            assertFalse(Files.exists(dir.resolve("ran")), "nothing ran");
            assertFalse(Files.exists(out), "no output folder");
        }
    }

    @Test
    void aSucceedingLabScriptExitsZeroAndKeepsTheFolder(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        String[] r = MainTest.run("xen", "lab", "run", "--out", out.toString(), "--no-probe",
                "--script", labScript(dir, "exit 0").toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(Files.isDirectory(out));
    }
}
