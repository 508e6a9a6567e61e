package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;

/**
 * What the commands do with the files they are given: two outputs never one file, an output
 * never an input, an existing file left whole by a usage error, a write failure naming its file,
 * and training that yields no model refused before it writes one.
 */
class OutputFilesTest {
    static final String CAPTURE = "traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz";

    @TempDir
    Path dir;

    private Path precious(String name) throws Exception {
        return Files.writeString(dir.resolve(name), "precious\n");
    }

    private static void assertUsageError(String[] r, String... parts) {
        assertEquals("2", r[0], r[2]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        for (String p : parts) {
            assertTrue(r[2].contains(p), r[2]);
        }
    }

    @Test
    void twoOutputsNamingOneFileAreAUsageErrorAndTheFileStaysAsItWas() throws Exception {
        Path eve = precious("o.json");
        String capture = SharedData.file(CAPTURE).toString();
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.resolve("none").toString(),
                "--pcap", capture, "--eve", eve.toString(), "--scores", dir.resolve(".").resolve("o.json").toString());
        assertUsageError(r, "--scores", "--eve", "same file");
        assertEquals("precious\n", Files.readString(eve));
        // The same for the tap's outputs and eval's curves.
        r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture, "--eve", eve.toString(),
                "--write-pcap", eve.toString());
        assertUsageError(r, "--write-pcap", "--eve");
        r = MainTest.run("eval", "--labels", eve.toString(), "--scores", eve.toString(), "--roc-csv",
                dir.resolve("roc").toString(), "--roc-svg", dir.resolve("roc").toString());
        assertUsageError(r, "--roc-svg", "--roc-csv");
        assertEquals("precious\n", Files.readString(eve));
    }

    @Test
    void anOutputThatIsAnInputIsAUsageErrorAndTheInputStaysWhole() throws Exception {
        Path capture = Files.copy(SharedData.plain(CAPTURE), dir.resolve("c.pcap"));
        byte[] before = Files.readAllBytes(capture);
        Path link = Files.createLink(dir.resolve("link.pcap"), capture);
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture.toString(),
                "--write-pcap", link.toString());
        assertUsageError(r, "--write-pcap", "is the input --pcap", "destroy the input");
        assertArrayEquals(before, Files.readAllBytes(capture));
        r = MainTest.run("pcap", "flows", "--eve", capture.toString(), capture.toString());
        assertUsageError(r, "--eve", "is the input");
        assertArrayEquals(before, Files.readAllBytes(capture));
    }

    @Test
    void introspectionOutputsAreCheckedTheSameWay() throws Exception {
        // Checked before the memory is opened: a file standing for an image is enough (and a
        // failing check cannot destroy real data).
        Path image = precious("guest.raw");
        String[] r = MainTest.run("vmi", "psxview", "-m", image.toString(), "--eve", image.toString());
        assertUsageError(r, "--eve", "is the input --memory");
        Path eve = dir.resolve("w.json");
        r = MainTest.run("vmi", "watch", "-m", image.toString(), "--count", "1", "--eve", eve.toString(),
                "--stats", eve.toString());
        assertUsageError(r, "--stats", "same file as --eve");
        assertEquals("precious\n", Files.readString(image));
    }

    @Test
    void symbolicLinksAreFollowedToWhereTheSystemWouldWrite() throws Exception {
        String capture = SharedData.file(CAPTURE).toString();
        // A link to a file not there yet: writing through it makes the target.
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), Path.of("target.json"));
        assertUsageError(MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture, "--eve", link.toString(),
                "--write-pcap", dir.resolve("target.json").toString()), "same file");
        // A linked folder above folders still to be made.
        Files.createDirectory(dir.resolve("real"));
        Files.createSymbolicLink(dir.resolve("lnk"), Path.of("real"));
        assertUsageError(MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture,
                "--eve", dir.resolve("lnk/new/x").toString(), "--write-pcap", dir.resolve("real/new/x").toString()), "same file");
        // ".." after a link is the link target's parent, not the link's folder.
        Files.createDirectories(dir.resolve("a"));
        Files.createDirectory(dir.resolve("other"));
        Files.createSymbolicLink(dir.resolve("a/l"), Path.of("../other"));
        assertUsageError(MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture,
                "--eve", dir.resolve("a/l/../x").toString(), "--write-pcap", dir.resolve("x").toString()), "same file");
        assertFalse(Files.exists(dir.resolve("target.json")) || Files.exists(dir.resolve("x")));
        // "-" is a file like any other where a command does not take it for standard output.
        Path dash = Files.copy(SharedData.plain(CAPTURE), dir.resolve("-"));
        byte[] before = Files.readAllBytes(dash);
        assertUsageError(MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", dash.toString(), "--eve",
                dash.toString()), "is the input");
        assertArrayEquals(before, Files.readAllBytes(dash));
    }

    @Test
    void aDeviceMayTakeSeveralOutputs() throws Exception {
        assumeTrue(Files.isWritable(Path.of("/dev/null")));
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", SharedData.file(CAPTURE).toString(),
                "--eve", "/dev/null", "--write-pcap", "/dev/null");
        assertEquals("0", r[0], r[2]);
    }

    @Test
    void aHardLinkToACaptureIsTheSameCaptureGivenTwice() throws Exception {
        Path capture = Files.copy(SharedData.plain(CAPTURE), dir.resolve("c.pcap"));
        Path link = Files.createLink(dir.resolve("other-name.pcap"), capture);
        String[] r = MainTest.run("replay", "--guests", "10.0.0.0/24", "--pcap", capture.toString(), "--pcap", link.toString());
        assertUsageError(r, "given twice");
    }

    @Test
    void aUsageErrorOrAMissingInputLeavesAnExistingOutputWhole() throws Exception {
        Path eve = precious("flows.json");
        String capture = SharedData.file(CAPTURE).toString();
        assertUsageError(MainTest.run("pcap", "flows", "--eve", eve.toString(), "--seed", "99999", capture), "--seed");
        String[] r = MainTest.run("pcap", "flows", "--eve", eve.toString(), dir.resolve("missing.pcap").toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("missing.pcap: no such file"), r[2]);
        assertEquals("precious\n", Files.readString(eve));
    }

    @Test
    void aWriteThatFailsNamesItsFile() throws Exception {
        String capture = SharedData.file(CAPTURE).toString();
        // A folder that cannot be made: its would-be parent is a file.
        Path under = precious("plain-file").resolve("sub").resolve("flows.json");
        String[] r = MainTest.run("pcap", "flows", "--eve", under.toString(), capture);
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("output " + under + " (--eve): cannot create its folder: " + under.getParent().getParent()
                + " is not a folder"), r[2]);
        // Found before any output is opened: the first one is not left empty behind.
        r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.toString(), "--pcap", capture,
                "--eve", dir.resolve("first.json").toString(), "--scores", dir.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("output " + dir + " (--scores): is a folder"), r[2]);
        assertFalse(Files.exists(dir.resolve("first.json")));
        assumeTrue(Files.isWritable(Path.of("/dev/full")), "/dev/full (a device that is always full) is Linux's");
        for (String[] args : new String[][] {
                {"pcap", "flows", "--eve", "/dev/full", capture},
                {"replay", "--guests", "10.0.0.0/24", "--pcap", capture, "--write-pcap", "/dev/full"},
                {"replay", "--guests", "10.0.0.0/24", "--pcap", capture, "--record-trace", "/dev/full"}}) {
            r = MainTest.run(args);
            assertEquals("1", r[0], String.join(" ", args) + ": " + r[2]);
            assertTrue(r[2].contains("output /dev/full: No space left on device"), String.join(" ", args) + ": " + r[2]);
            assertFalse(r[2].contains("java."), r[2]);
        }
    }

    @Test
    void trainingThatYieldsNoModelFailsAndLeavesNoModelsFolder() {
        Path models = dir.resolve("models");
        // Five short attack flows: too few payloads for any model.
        String[] r = MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", SharedData.file(CAPTURE).toString(),
                "--models", models.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("no model trained"), r[2]);
        assertFalse(Files.exists(models));
        assertUsageError(MainTest.run("train", "--guests", "10.0.0.0/24", "--pcap", SharedData.file(CAPTURE).toString(),
                "--models", models.toString(), "--holdout", "0"), "--holdout must be in (0, 1)");
        assertTrue(r[1].contains("rebuilt by the tap"), "what training saw is printed: " + r[1]);
    }
}
