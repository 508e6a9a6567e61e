package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

class ModelFileRefusesDamageTest {
    static final Subject WEB = new Subject("web", Direction.TO_SERVER, Subject.TCP, 80);
    static PaylModels models;
    static List<byte[]> probes;

    @TempDir
    Path dir;

    @BeforeAll
    static void build() {
        PaylTrainer t = new PaylTrainer(PaylSettings.defaults());
        for (byte[] p : MergeEqualsUnionPropertyTest.payloads(5, 2000)) {
            t.add(WEB, p, 0, p.length);
        }
        models = t.build();
        probes = MergeEqualsUnionPropertyTest.payloads(6, 50);
    }

    Path saved() throws IOException {
        Path f = dir.resolve("web.payl");
        models.save(f);
        return f;
    }

    static String refusal(Path f) {
        IOException e = assertThrows(IOException.class, () -> PaylModels.load(f));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void savedModelsLoadAndScoreExactlyTheSame() throws Exception {
        PaylModels back = PaylModels.load(saved());
        assertEquals(models.models(), back.models());
        for (byte[] p : probes) {
            assertEquals(models.score(WEB, p, 0, p.length), back.score(WEB, p, 0, p.length));
        }
    }

    @Test
    void everySingleFlippedByteIsRefused() throws Exception {
        Path f = saved();
        byte[] good = Files.readAllBytes(f);
        Random r = new Random(1);
        // Every byte of the header and trailer, and a sample of the body.
        for (int i = 0; i < good.length; i += i < 16 || i > good.length - 16 ? 1 : 1 + r.nextInt(997)) {
            byte[] bad = good.clone();
            bad[i] ^= (byte) (1 << r.nextInt(8));
            Files.write(f, bad);
            String msg = refusal(f);
            assertTrue(msg.contains("checksum mismatch") || msg.contains("magic") || msg.contains("version")
                    || msg.contains("holds") || msg.contains("end marker"), "byte " + i + ": " + msg);
        }
    }

    @Test
    void truncatedFileIsRefusedAsTruncated() throws Exception {
        Path f = saved();
        byte[] good = Files.readAllBytes(f);
        for (int len : new int[] {good.length - 1, good.length / 2, 13, 8}) {
            Files.write(f, Arrays.copyOf(good, len));
            assertTrue(refusal(f).contains("truncated"), "cut to " + len);
        }
        Files.write(f, new byte[0]);
        assertTrue(refusal(f).contains("bad magic"));
    }

    @Test
    void foreignFileIsRefusedForItsMagic() throws Exception {
        Path f = dir.resolve("x.pcap");
        Files.write(f, new byte[] {(byte) 0xd4, (byte) 0xc3, (byte) 0xb2, (byte) 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        assertTrue(refusal(f).contains("not a xenids PAYL model file"));
    }

    @Test
    void fileFromAFutureVersionIsRefusedNamingBothVersions() throws Exception {
        Path f = saved();
        byte[] b = Files.readAllBytes(f);
        ByteBuffer.wrap(b).putShort(8, (short) 2);
        resign(b);
        Files.write(f, b);
        String msg = refusal(f);
        assertTrue(msg.contains("format version 2 is newer than this xenids reads (1)"), msg);
    }

    @Test
    void trainingStateIsNotAcceptedAsModels() throws Exception {
        Path f = dir.resolve("state.payl");
        new PaylTrainer(PaylSettings.defaults()).save(f);
        assertTrue(refusal(f).contains("holds PAYL training statistics, expected PAYL models"));
    }

    @Test
    void craftedBodyWithValidChecksumIsRefusedAtItsOffset() throws Exception {
        Path f = saved();
        byte[] b = Files.readAllBytes(f);
        // First model's first mean: after header (12), settings (50), model count (4), the key
        // (2+3 image bytes, dir, proto, port, lo, hi = 19), role (1) and n (8).
        int meanAt = 12 + 50 + 4 + 19 + 1 + 8;
        ByteBuffer.wrap(b).putDouble(meanAt, Double.NaN);
        resign(b);
        Files.write(f, b);
        String msg = refusal(f);
        assertTrue(msg.contains("offset " + meanAt + ":") && msg.contains("mean frequency of byte 0 is NaN"), msg);
    }

    @Test
    void failedSaveLeavesTheOldModelAndNoTemporaryFile() throws Exception {
        Path f = saved();
        byte[] before = Files.readAllBytes(f);
        // The target is now a non-empty directory: the final atomic rename must fail.
        Path blocker = dir.resolve("blocked.payl");
        Files.createDirectories(blocker.resolve("x"));
        assertThrows(IOException.class, () -> models.save(blocker));
        assertTrue(Files.isDirectory(blocker));
        try (var s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary file left behind");
        }
        assertEquals(Arrays.toString(before), Arrays.toString(Files.readAllBytes(f)));
    }

    /** Recomputes the CRC32C trailer, as a crafted file would. */
    static void resign(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, b.length - 12);
        ByteBuffer.wrap(b).putInt(b.length - 12, (int) c.getValue());
    }
}
