package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;
import org.xenids.alert.Endpoints;
import org.xenids.alert.EveEvent;
import org.xenids.detect.AlertSite;
import org.xenids.detect.Subject;

/**
 * A model file is input too: whoever can write into the models folder can hand the detector any
 * bytes, and a checksum stops accidents, not a crafted file. Here the fuzzer's bytes are the body
 * of a file whose header and checksum are made right, so that mutations reach the parser behind
 * the checksum. The file must load, or be refused by a one-line {@link IOException} naming the
 * file and an offset; what loads must score every payload to a finite score or to "no model",
 * and explain every alert with finite figures; training statistics that load must build models
 * or say in one line why not. In the normal build these run once over the committed inputs in
 * {@code ModelFileFuzzTestInputs/} (the bodies of files written by {@code xenids train} and by
 * {@link PaylTrainer#save} from real captures); with {@code JAZZER_FUZZ=1} Jazzer mutates them.
 */
class ModelFileFuzzTest {
    static final String NAME = "fuzz.payl";
    /** Models scored per input: enough to reach every role, bounded so a huge file stays quick. */
    static final int MODELS_SCORED = 40;

    @FuzzTest(maxDuration = "5m")
    void anyModelFileLoadsAndScoresOrIsRefusedInOneLine(byte[] body) {
        PaylModels models;
        try {
            models = ModelFile.readModels(NAME, file(ModelFile.KIND_MODELS, body));
        } catch (IOException refused) {
            checkRefusal(refused);
            return;
        }
        scoreWith(models);
    }

    @FuzzTest(maxDuration = "5m")
    void anyTrainingFileLoadsAndBuildsOrIsRefusedInOneLine(byte[] body) {
        PaylTrainer t;
        try {
            t = ModelFile.readTraining(NAME, file(ModelFile.KIND_TRAINING, body));
        } catch (IOException refused) {
            checkRefusal(refused);
            return;
        }
        PaylModels models;
        try {
            models = t.build();
        } catch (IllegalStateException cannot) {
            // Nothing trained, or nothing held out to calibrate with: said, not guessed.
            assertEquals(1, cannot.getMessage().lines().count(), cannot.getMessage());
            return;
        }
        scoreWith(models);
    }

    /** The file whose body is {@code body}: header, body, then the checksum and end marker it needs. */
    static byte[] file(int kind, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 24);
        out.writeBytes(ModelFile.MAGIC);
        out.writeBytes(ByteBuffer.allocate(4).putShort((short) ModelFile.VERSION).putShort((short) kind).array());
        out.writeBytes(body);
        CRC32C crc = new CRC32C();
        crc.update(out.toByteArray());
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        out.writeBytes(ModelFile.END);
        return out.toByteArray();
    }

    static void checkRefusal(IOException e) {
        String msg = e.getMessage();
        assertEquals(1, msg.lines().count(), msg);
        assertTrue(msg.startsWith("model file " + NAME + ": offset "), msg);
    }

    /**
     * Scores payloads of a few lengths (the shortest, the model's own range, the depth) against
     * the first models' subjects, and a port no model has, so all three roles are reached.
     */
    static void scoreWith(PaylModels models) {
        List<PaylModels.ModelInfo> infos = models.models();
        int depth = models.settings().depth();
        for (int i = 0; i < Math.min(infos.size(), MODELS_SCORED); i++) {
            ModelKey k = infos.get(i).key();
            assertTrue(infos.get(i).threshold() > 0 && Double.isFinite(infos.get(i).threshold()), k.toString());
            int port = k.port() < 0 ? 1 : k.port();
            int proto = k.port() < 0 ? Subject.TCP : k.ipProto();
            for (Subject s : new Subject[] {new Subject(k.image(), k.direction(), proto, port),
                    new Subject(k.image(), k.direction(), proto, port ^ 0x5a5a)}) {
                for (long len : new long[] {1, k.lenLo(), (k.lenLo() + (long) k.lenHi()) / 2, depth}) {
                    score(models, s, (int) Math.min(Math.min(len, depth), 4096));
                }
            }
        }
    }

    static void score(PaylModels models, Subject s, int len) {
        byte[] payload = new byte[len];
        for (int j = 0; j < len; j++) {
            payload[j] = (byte) (j * 31 + (j >>> 3));
        }
        double score = models.score(s, payload, 0, len);
        if (Double.isNaN(score)) {
            return;
        }
        assertTrue(score >= 0 && Double.isFinite(score), s + " scored " + score);
        EveEvent.Alert a = models.explain(s, payload, 0, len, new AlertSite(0, 1,
                new Endpoints("10.0.0.1", 40000, "10.0.0.2", s.servicePort(), "TCP"), null, "d1", "vif1.0"));
        double told = ((Number) a.context().get("score")).doubleValue();
        assertTrue(Double.isFinite(told) && Double.isFinite(((Number) a.context().get("distance")).doubleValue()), a.context().toString());
    }
}
