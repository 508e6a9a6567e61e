package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;

/** {@code xenids train} and {@code xenids detect} on real captures through the emulated host and the tap. */
class TrainDetectCommandTest {

    @Test
    void trainThenDetectFindsTheShellcodeOfTheInventoryService(@TempDir Path dir) throws Exception {
        // The inventory service's benign sessions are in the training capture; the attack capture
        // sends it NOP sleds and execve shellcode.
        String train = SharedData.file("traffic/dev/train/train_benign.pcap.xz").toString();
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        String[] t = MainTest.run("train", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                "--pcap", train, "--models", dir.toString());
        assertEquals("0", t[0], t[2]);
        assertTrue(t[1].contains("inventory/to_server/tcp/9000"), t[1]);
        Path eve = dir.resolve("eve.json");
        Path scores = dir.resolve("scores.csv");
        String[] d = MainTest.run("detect", "--guests", "10.0.0.0/24", "--image", "10.0.0.16/32=inventory",
                "--models", dir.toString(), "--pcap", attack, "--eve", eve.toString(), "--scores", scores.toString());
        assertEquals("0", d[0], d[2]);
        List<String> alerts = Files.readAllLines(eve);
        EveSchema.assertValid(alerts);
        long shellcodeAlerts = alerts.stream().filter(l -> l.contains("\"vm_image\":\"inventory\"")
                && l.contains("\"dest_port\":9000")).count();
        assertTrue(shellcodeAlerts >= 5, "each of the 5 shellcode flows alerts: " + shellcodeAlerts + "\n" + d[1]);
        assertTrue(Files.readAllLines(scores).size() > 5);
    }

    @Test
    void withoutGuestsOrTopologyItIsAUsageError() {
        String[] r = MainTest.run("train", "--pcap", "x.pcap", "--models", "m");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("give either --topology or --guests"), r[2]);
    }

    @Test
    void detectWithoutTrainedModelsFailsInOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.toString(), "--pcap", attack,
                "--eve", dir.resolve("e.json").toString());
        assertEquals("1", r[0]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].contains(PaylRun.MODEL_FILE), r[2]);
    }

    @Test
    void detectRefusesACraftedModelFileInOneLineNamingFileAndOffset(@TempDir Path dir) throws Exception {
        // Models `xenids train` wrote for the inventory service (image "10.0.0.16"), with the first
        // model's port set to -1 and the checksum made right again, as someone crafting it would.
        byte[] body;
        try (InputStream in = getClass().getResourceAsStream("/org/xenids/detect/payl/ModelFileFuzzTestInputs/"
                + "anyModelFileLoadsAndScoresOrIsRefusedInOneLine/inventory-service-models")) {
            body = in.readAllBytes();
        }
        ByteBuffer.wrap(body).putInt(50 + 4 + 2 + "10.0.0.16".length() + 2, -1);
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.writeBytes("XNIDPAYL".getBytes(StandardCharsets.US_ASCII));
        f.writeBytes(new byte[] {0, 1, 0, 2});
        f.writeBytes(body);
        CRC32C crc = new CRC32C();
        crc.update(f.toByteArray());
        f.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        f.writeBytes("PAYL-END".getBytes(StandardCharsets.US_ASCII));
        Path model = dir.resolve(PaylRun.MODEL_FILE);
        Files.write(model, f.toByteArray());
        String attack = SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz").toString();
        String[] r = MainTest.run("detect", "--guests", "10.0.0.0/24", "--models", dir.toString(), "--pcap", attack,
                "--eve", dir.resolve("e.json").toString());
        assertEquals("1", r[0], r[1]);
        assertEquals("xenids: model file " + model + ": offset 66: model 10.0.0.16/to_server/any/len:all"
                + " is a port's model but names no port (only an image's all-ports fallback may)",
                r[2].strip());
    }

    @Test
    void anOutOfRangeSettingIsAUsageErrorNamingTheOptionTyped() {
        String[][] cases = {{"--depth", "-1", "--depth must be 1..16777215: -1"},
            {"--target-fpr", "1.5", "--target-fpr must be in (0, 0.5): 1.5"},
            {"--holdout", "NaN", "--holdout must be in [0, 1): NaN"}};
        for (String[] c : cases) {
            String[] r = MainTest.run("train", "--guests", "10.0.0.0/8", "--pcap", "x.pcap", "--models", "m", c[0], c[1]);
            assertEquals("2", r[0], r[2]);
            assertTrue(r[2].startsWith("xenids: " + c[2] + " (see"), r[2]);
        }
    }
}
