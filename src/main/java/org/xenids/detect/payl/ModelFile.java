package org.xenids.detect.payl;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/**
 * The PAYL file format, for trained models and for training statistics (to merge across guests
 * and days). Layout, big-endian: magic "XNIDPAYL", u16 format version, u16 kind (1 training
 * statistics, 2 models), the body, then a u32 CRC32C of everything before it and the end marker
 * "PAYL-END". Checked in that order, so a foreign, newer, truncated or corrupted file is refused
 * with one line naming the file and the fault; the body is then parsed with every count bounded.
 */
final class ModelFile {
    static final byte[] MAGIC = "XNIDPAYL".getBytes(StandardCharsets.US_ASCII);
    static final byte[] END = "PAYL-END".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int KIND_TRAINING = 1;
    static final int KIND_MODELS = 2;
    private static final int HEAD = 12;
    private static final int TAIL = 12;
    private static final long MAX_FILE = 1L << 31;
    private static final int MAX_MODELS = 1 << 20;
    /** Bytes of the smallest model record (a one-byte image name): sizes the list, whatever count a file claims. */
    private static final int MIN_MODEL_RECORD = modelRecordBytes(1);

    private ModelFile() {}

    static int modelRecordBytes(ModelKey k) {
        return modelRecordBytes(k.image().getBytes(StandardCharsets.UTF_8).length);
    }

    private static int modelRecordBytes(int imageBytes) {
        return 2 + imageBytes + 1 + 1 + 4 + 4 + 4 + 1 + 8 + 256 * 8 * 2 + 8 + 4 + 1;
    }

    interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    // ---- writing ----

    static void writeModels(Path file, PaylModels set) throws IOException {
        write(file, KIND_MODELS, out -> {
            settings(out, set.settings);
            out.writeInt(set.models.size());
            for (PaylModel m : set.models) {
                ModelKey k = m.key;
                string(out, k.image());
                out.writeByte(k.direction().ordinal());
                out.writeByte(k.ipProto());
                out.writeInt(k.port());
                out.writeInt(k.lenLo());
                out.writeInt(k.lenHi());
                out.writeByte(m.role.ordinal());
                moments(out, m.stats);
                out.writeDouble(m.threshold);
                out.writeInt(m.calSamples);
                out.writeBoolean(m.ownQuantile);
            }
        });
    }

    static void writeTraining(Path file, PaylTrainer t) throws IOException {
        write(file, KIND_TRAINING, out -> {
            settings(out, t.settings);
            out.writeLong(t.trained);
            out.writeLong(t.heldOutSamples);
            out.writeLong(t.bytes);
            out.writeLong(t.empty);
            List<Subject> subjects = new ArrayList<>(t.bins.keySet());
            subjects.sort(PaylTrainer.SUBJECT_ORDER);
            out.writeInt(subjects.size());
            for (Subject s : subjects) {
                subject(out, s);
                Moments[] b = t.bins.get(s);
                int n = 0;
                for (Moments m : b) {
                    n += m == null ? 0 : 1;
                }
                out.writeShort(n);
                for (int i = 0; i < b.length; i++) {
                    if (b[i] != null) {
                        out.writeByte(i);
                        moments(out, b[i]);
                    }
                }
            }
            List<Subject> held = new ArrayList<>(t.heldOut.keySet());
            held.sort(PaylTrainer.SUBJECT_ORDER);
            out.writeInt(held.size());
            for (Subject s : held) {
                HeldOut h = t.heldOut.get(s);
                subject(out, s);
                out.writeInt(h.count);
                out.writeInt(h.size);
                for (int i = 0; i < h.size; i++) {
                    out.writeInt(h.data[i]);
                }
            }
        });
    }

    private static void write(Path file, int kind, Body body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(MAGIC);
        out.writeShort(VERSION);
        out.writeShort(kind);
        body.write(out);
        CRC32C crc = new CRC32C();
        byte[] content = bytes.toByteArray();
        crc.update(content);
        out.writeInt((int) crc.getValue());
        out.write(END);
        out.flush();
        byte[] all = bytes.toByteArray();
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: its owner-only permissions would stick to the model after the rename.
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer bb = ByteBuffer.wrap(all);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        // The rename itself is durable only once the directory is synced.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Some file systems cannot sync a directory; the data file itself is synced.
        }
    }

    private static void settings(DataOutputStream out, PaylSettings s) throws IOException {
        out.writeDouble(s.alpha());
        out.writeInt(s.depth());
        out.writeInt(s.minSamples());
        out.writeDouble(s.mergeDistance());
        out.writeDouble(s.targetFpr());
        out.writeDouble(s.holdoutFraction());
        out.writeLong(s.seed());
        out.writeShort(s.topBytes());
    }

    private static void subject(DataOutputStream out, Subject s) throws IOException {
        string(out, s.image());
        out.writeByte(s.direction().ordinal());
        out.writeByte(s.ipProto());
        out.writeShort(s.servicePort());
    }

    private static void moments(DataOutputStream out, Moments m) throws IOException {
        out.writeLong(m.n);
        for (double v : m.mean) {
            out.writeDouble(v);
        }
        for (double v : m.m2) {
            out.writeDouble(v);
        }
    }

    private static void string(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeShort(b.length);
        out.write(b);
    }

    // ---- reading ----

    static PaylModels readModels(Path file) throws IOException {
        return readModels(file.toString(), bytes(file));
    }

    /** Reads models from the whole content {@code all} of the file {@code name}. */
    static PaylModels readModels(String name, byte[] all) throws IOException {
        FileReader r = open(name, all, KIND_MODELS);
        PaylSettings settings = r.settings();
        int n = r.count("model count", MAX_MODELS);
        List<PaylModel> models = new ArrayList<>(Math.min(n, r.remaining() / MIN_MODEL_RECORD + 1));
        KeyCheck keys = new KeyCheck();
        for (int i = 0; i < n; i++) {
            int at = r.position();
            String image = r.string();
            Direction dir = r.direction();
            int proto = r.u8();
            int port = r.i32();
            int lo = r.i32();
            int hi = r.i32();
            int role = r.u8();
            if (role >= PaylModel.Role.values().length) {
                throw r.fail(at, "unknown model role " + role);
            }
            ModelKey key;
            try {
                key = new ModelKey(image, dir, proto, port, lo, hi);
            } catch (IllegalArgumentException e) {
                throw r.fail(at, e.getMessage());
            }
            String wrong = keys.add(key, PaylModel.Role.values()[role]);
            if (wrong != null) {
                throw r.fail(at, wrong);
            }
            Moments m = r.moments();
            PaylModel model = new PaylModel(key, PaylModel.Role.values()[role], m, settings.alpha());
            double threshold = r.f64();
            // Calibration never sets a threshold below the model's resolution; a lower one would
            // turn one changed byte into an alert and tiny ones into infinite scores.
            double floor = model.resolution(settings.depth());
            if (!(threshold > 0 && threshold >= floor) || Double.isInfinite(threshold)) {
                throw r.fail(at, "model " + key + " has threshold " + threshold + " (its floor is " + floor + ")");
            }
            model.threshold = threshold;
            model.calSamples = r.i32();
            model.ownQuantile = r.u8() != 0;
            models.add(model);
        }
        r.end();
        return new PaylModels(settings, models);
    }

    static PaylTrainer readTraining(Path file) throws IOException {
        return readTraining(file.toString(), bytes(file));
    }

    /** Reads training statistics from the whole content {@code all} of the file {@code name}. */
    static PaylTrainer readTraining(String name, byte[] all) throws IOException {
        FileReader r = open(name, all, KIND_TRAINING);
        PaylTrainer t = new PaylTrainer(r.settings());
        t.trained = r.i64();
        t.heldOutSamples = r.i64();
        t.bytes = r.i64();
        t.empty = r.i64();
        int subjects = r.count("subject count", MAX_MODELS);
        for (int i = 0; i < subjects; i++) {
            Subject s = r.subject();
            int bins = r.u16();
            Moments[] b = new Moments[LengthBins.COUNT];
            for (int j = 0; j < bins; j++) {
                int at = r.position();
                int bin = r.u8();
                if (bin >= LengthBins.COUNT || b[bin] != null) {
                    throw r.fail(at, "bad or repeated length bin " + bin);
                }
                b[bin] = r.moments();
            }
            if (t.bins.put(s, b) != null) {
                throw r.fail(r.position(), "subject " + s + " repeated");
            }
        }
        int held = r.count("held-out subject count", MAX_MODELS);
        for (int i = 0; i < held; i++) {
            Subject s = r.subject();
            HeldOut h = new HeldOut();
            h.count = r.count("held-out sample count", Integer.MAX_VALUE);
            int size = r.count("held-out data size", r.remaining() / 4);
            h.data = new int[Math.max(size, 16)];
            h.size = size;
            for (int j = 0; j < size; j++) {
                h.data[j] = r.i32();
            }
            r.checkHeldOut(h, t.settings.depth());
            t.heldOut.put(s, h);
        }
        r.end();
        return t;
    }

    private static byte[] bytes(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE) {
            throw new IOException("model file " + file + ": " + size + " bytes is too large for a PAYL model file");
        }
        return Files.readAllBytes(file);
    }

    private static FileReader open(String name, byte[] all, int kind) throws IOException {
        if (all.length < MAGIC.length || !java.util.Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IOException("model file " + name + ": not a xenids PAYL model file (bad magic)");
        }
        if (all.length < HEAD + TAIL) {
            throw new IOException("model file " + name + ": truncated (" + all.length + " bytes, no end marker)");
        }
        ByteBuffer bb = ByteBuffer.wrap(all);
        int version = bb.getShort(8) & 0xFFFF;
        int k = bb.getShort(10) & 0xFFFF;
        if (version > VERSION) {
            throw new IOException("model file " + name + ": format version " + version
                    + " is newer than this xenids reads (" + VERSION + ")");
        }
        if (version != VERSION) {
            throw new IOException("model file " + name + ": unknown format version " + version);
        }
        if (k != kind) {
            throw new IOException("model file " + name + ": holds " + kindName(k) + ", expected " + kindName(kind));
        }
        if (!java.util.Arrays.equals(all, all.length - END.length, all.length, END, 0, END.length)) {
            throw new IOException("model file " + name + ": truncated or unfinished (no end marker)");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - TAIL);
        int stored = bb.getInt(all.length - TAIL);
        if (stored != (int) crc.getValue()) {
            throw new IOException(String.format("model file %s: checksum mismatch (stored %08x, computed %08x): the file is corrupt",
                    name, stored, (int) crc.getValue()));
        }
        return new FileReader(name, bb.slice(0, all.length - TAIL).position(HEAD));
    }

    private static String kindName(int k) {
        return switch (k) {
            case KIND_TRAINING -> "PAYL training statistics";
            case KIND_MODELS -> "PAYL models";
            default -> "unknown content kind " + k;
        };
    }
}
