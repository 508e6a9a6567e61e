package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.detect.Direction;
import org.xenids.xen.emu.Topology;

/**
 * Model files whose checksum is right but whose keys are not what training writes: each is
 * refused in one line naming the file and the offset of the model, instead of loading with a model
 * shadowed or failing outside the loader.
 */
class ModelFileRefusesCraftedKeysTest {
    /** Where the first model record starts: header (12), settings (50), model count (4). */
    static final int FIRST = 12 + 50 + 4;

    @TempDir
    Path dir;
    byte[] file;
    /** Offset of each model record, and its role. */
    final List<Integer> at = new ArrayList<>();
    final List<Integer> role = new ArrayList<>();

    @BeforeEach
    void save() throws IOException {
        Path f = dir.resolve("good.payl");
        ModelFileRefusesDamageTest.build();
        ModelFileRefusesDamageTest.models.save(f);
        file = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(file);
        int n = b.getInt(FIRST - 4);
        for (int i = 0, p = FIRST; i < n; i++) {
            at.add(p);
            role.add(file[roleAt(p)] & 0xFF);
            int image = b.getShort(p) & 0xFFFF;
            p += ModelFile.modelRecordBytes(new ModelKey("x".repeat(image), Direction.TO_SERVER, 6, 80, 1, 2));
        }
        assertTrue(role.subList(0, 2).equals(List.of(0, 0)) && role.contains(1) && role.contains(2),
                "expected two length models then both fallbacks: " + role);
    }

    int portAt(int model) {
        return at.get(model) + 2 + (file[at.get(model) + 1] & 0xFF) + 2;
    }

    /** The role byte of the record at {@code p}: after the image ("web", 3 bytes and their length), direction, transport, port and lengths. */
    static int roleAt(int p) {
        return p + 2 + 3 + 2 + 12;
    }

    int thresholdAt(int model) {
        return roleAt(at.get(model)) + 1 + 8 + 256 * 16;
    }

    String refusal() throws IOException {
        ModelFileRefusesDamageTest.resign(file);
        Path f = dir.resolve("crafted.payl");
        Files.write(f, file);
        return ModelFileRefusesDamageTest.refusal(f);
    }

    @Test
    void theUntouchedFileLoads() throws Exception {
        Path f = dir.resolve("again.payl");
        Files.write(f, file);
        assertEquals(ModelFileRefusesDamageTest.models.models(), PaylModels.load(f).models());
    }

    @Test
    void aLengthModelWithoutAPortIsRefused() throws Exception {
        ByteBuffer.wrap(file).putInt(portAt(0), -1);
        String msg = refusal();
        assertTrue(msg.contains("offset " + at.get(0) + ": model web/to_server/any/len:") && msg.contains("is a port's model but names no port"), msg);
    }

    @Test
    void twoModelsForOneLengthAreRefused() throws Exception {
        // The second length model takes the first one's range: one of the two would never score.
        System.arraycopy(file, portAt(0), file, portAt(1), 12);
        String msg = refusal();
        assertTrue(msg.contains("offset " + at.get(1) + ": ") && msg.contains("overlaps the lengths of an earlier model"), msg);
    }

    @Test
    void aSecondAllPortsFallbackIsRefused() throws Exception {
        int portAll = role.indexOf(1);
        int imageAll = role.indexOf(2);
        System.arraycopy(file, at.get(imageAll), file, at.get(portAll), roleAt(at.get(0)) + 1 - at.get(0));
        String msg = refusal();
        assertTrue(msg.contains("offset " + at.get(Math.max(portAll, imageAll)) + ": second all-ports model"), msg);
    }

    @Test
    void aThresholdBelowTheModelsResolutionIsRefused() throws Exception {
        // 1e-300 would turn any payload's distance into an infinite score.
        ByteBuffer.wrap(file).putDouble(thresholdAt(0), 1e-300);
        String msg = refusal();
        assertTrue(msg.contains("offset " + at.get(0) + ": ") && msg.contains("has threshold 1.0E-300 (its floor is "), msg);
    }

    @Test
    void aDeviationNoSamplesCouldHaveIsRefused() throws Exception {
        // σ near infinity makes a weight, and with it the threshold's floor, 0. Found by the fuzzer:
        // a model with such a σ and a threshold of 0 loaded, and scored a payload as infinite.
        int moments = roleAt(at.get(0)) + 1;
        int byte7 = moments + 8 + 256 * 8 + 8 * 7;
        ByteBuffer.wrap(file).putDouble(byte7, 1e300);
        String msg = refusal();
        assertTrue(msg.contains("offset " + byte7 + ": squared deviation of byte 7 is 1.0E300"), msg);
    }

    @Test
    void aSmoothingFactorTooSmallForTheScorerIsRefused() throws Exception {
        // Found by the fuzzer: α = 8.6e-81 gave a byte value unseen in training (σ = 0) an infinite
        // float weight, and a payload an infinite score.
        ByteBuffer.wrap(file).putDouble(12, 8.6e-81);
        String msg = refusal();
        assertTrue(msg.contains("offset 12: bad settings: alpha must be in [1.0E-6, 1]: 8.6E-81"), msg);
    }

    @Test
    void aNameWithALineBreakIsRefused() throws Exception {
        file[at.get(0) + 2] = '\n';
        String msg = refusal();
        assertTrue(msg.contains("offset " + (at.get(0) + 2) + ": name holds control character 0xa"), msg);
    }

    @Test
    void aTopologyCannotNameAnImageAModelFileCouldNotHold() {
        Topology.Vif vif = new Topology.Vif("00:16:3e:00:00:01", List.of("10.0.0.1"), 1);
        for (String image : new String[] {"web\tserver", "é".repeat(128), ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Topology("fe:ff:ff:ff:ff:ff", List.of(new Topology.Guest(1, "g1", image, List.of(vif)))));
            assertTrue(e.getMessage().startsWith("guest g1: VM image '") && e.getMessage().endsWith("without control characters"),
                    e.getMessage());
        }
        assertEquals("é".repeat(127), new Topology("fe:ff:ff:ff:ff:ff", List.of(new Topology.Guest(1, "g1", "é".repeat(127), List.of(vif))))
                .guests().getFirst().image());
    }
}
