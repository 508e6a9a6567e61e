package org.xenids.pcap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.xenids.cli.Main;
import org.xenids.testdata.SharedData;

/**
 * Captures merged in one run are open together, and each xz one holds its own dictionary. Files
 * made with a large dictionary (64 MiB each, as {@code xz -9} makes) can together outgrow the heap
 * while each is under the per-file limit: the run then fails naming the capture and the cause,
 * not as damage to the file ("capture broken") and not as a bare "out of memory".
 */
class XzDictionaryHeapTest {
    private static final String CAPTURE = "traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz";

    @Test
    void dictionariesTheHeapCannotHoldTogetherAreNamedAsSuchNotAsDamage(@TempDir Path dir) throws Exception {
        byte[] plain = Files.readAllBytes(SharedData.plain(CAPTURE));
        // Compressed with a small dictionary, then declared 64 MiB: the decoder reserves what the
        // header declares, and the data decode the same in a larger dictionary.
        byte[] big = XzCapturesTest.xz(plain, new LZMA2Options());
        big[XzCapturesTest.blockHeaderDictByte(big)] = 28; // 2 << (28 / 2 + 11) = 64 MiB
        XzCapturesTest.fixBlockHeaderCrc(big);
        int records = records(plain, "plain.pcap");
        assertTrue(records > 10, records + " records");
        assertEquals(records, records(big, "big.pcap.xz"), "one such file alone reads whole");

        List<String> files = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Path f = dir.resolve("big" + i + ".pcap.xz");
            Files.write(f, big);
            files.add(f.toString());
        }
        Path out = dir.resolve("stdout.txt"), err = dir.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElse("java");
        // 5 × 64 MiB cannot be held in 160 MiB.
        Process p = new ProcessBuilder(java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "replay", "--guests", "10.0.0.0/24", "--pcap", String.join(",", files))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "replay did not end in 120 s");
        } finally {
            p.destroyForcibly();
        }
        String e = Files.readString(err), o = Files.readString(out);
        assertEquals(1, p.exitValue(), e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.matches("xenids: big[0-9]\\.pcap\\.xz: xz: block 1's 64 MiB dictionary does not fit in the \\d+ MiB"
                + " heap \\(xz captures read together each hold their own\\); raise the heap with XENIDS_JAVA_OPTS=-Xmx…,"
                + " or give fewer xz captures at once\\R?"), e);
        assertFalse(o.contains("capture broken"), o);
    }

    private static int records(byte[] file, String name) throws Exception {
        int n = 0;
        try (CaptureReader r = CaptureReader.of(file, 0, file.length, name)) {
            while (r.next()) {
                n++;
            }
        }
        return n;
    }
}
