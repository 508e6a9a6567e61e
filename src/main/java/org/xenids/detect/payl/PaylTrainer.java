package org.xenids.detect.payl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/**
 * Learns PAYL statistics from benign payloads: per subject (image, direction, transport, port)
 * and fine length bin, the Welford moments of the 256 relative byte frequencies. A share of the
 * payloads (drawn with a seeded generator) is held out for calibration instead. Trainers from
 * different guests or days {@link #merge} exactly; their state can be saved and loaded, and
 * {@link #build()} turns the merged statistics into calibrated {@link PaylModels}.
 *
 * <p>{@link #add} allocates nothing once a subject has been seen. Not thread-safe.
 */
public final class PaylTrainer {
    final PaylSettings settings;
    final Map<Subject, Moments[]> bins = new HashMap<>();
    final Map<Subject, HeldOut> heldOut = new HashMap<>();
    private final SplittableRandom draw;
    private final ByteHistogram scratch;
    long trained;
    long heldOutSamples;
    long bytes;
    long empty;
    private Subject lastSubject;
    private Moments[] lastBins;

    public PaylTrainer(PaylSettings settings) {
        this.settings = settings;
        this.draw = new SplittableRandom(settings.seed());
        this.scratch = new ByteHistogram(settings.depth());
    }

    public PaylSettings settings() {
        return settings;
    }

    /** Learns one payload (a packet, or a stream direction up to the depth). */
    public void add(Subject subject, byte[] buf, int off, int len) {
        scratch.reset();
        scratch.add(buf, off, len);
        add(subject, scratch);
    }

    /** Learns the payload counted in {@code h} (its depth must be the trainer's). */
    public void add(Subject subject, ByteHistogram h) {
        if (h.depth() != settings.depth()) {
            throw new IllegalArgumentException("histogram depth " + h.depth() + " differs from the trainer's " + settings.depth());
        }
        int len = h.length();
        if (len == 0) {
            empty++;
            return;
        }
        bytes += len;
        if (settings.holdoutFraction() > 0 && draw.nextDouble() < settings.holdoutFraction()) {
            heldOut.computeIfAbsent(subject, s -> new HeldOut()).add(h.counts, len);
            heldOutSamples++;
            return;
        }
        Moments[] b;
        if (subject.equals(lastSubject)) {
            b = lastBins;
        } else {
            b = bins.computeIfAbsent(subject, s -> new Moments[LengthBins.COUNT]);
            lastSubject = subject;
            lastBins = b;
        }
        int bin = LengthBins.of(len);
        Moments m = b[bin];
        if (m == null) {
            m = b[bin] = new Moments();
        }
        m.add(h.counts, len);
        trained++;
    }

    /** Adds another trainer's statistics and held-out samples (same depth and α required). */
    public void merge(PaylTrainer other) {
        if (other.settings.depth() != settings.depth() || other.settings.alpha() != settings.alpha()) {
            throw new IllegalArgumentException("cannot merge training with depth/alpha " + other.settings.depth()
                    + "/" + other.settings.alpha() + " into " + settings.depth() + "/" + settings.alpha());
        }
        other.bins.forEach((s, ob) -> {
            Moments[] b = bins.computeIfAbsent(s, k -> new Moments[LengthBins.COUNT]);
            for (int i = 0; i < ob.length; i++) {
                if (ob[i] != null) {
                    if (b[i] == null) {
                        b[i] = new Moments();
                    }
                    b[i].merge(ob[i]);
                }
            }
        });
        other.heldOut.forEach((s, h) -> heldOut.computeIfAbsent(s, k -> new HeldOut()).merge(h));
        trained += other.trained;
        heldOutSamples += other.heldOutSamples;
        bytes += other.bytes;
        empty += other.empty;
    }

    /** Payloads learned into the statistics. */
    public long trainedSamples() {
        return trained;
    }

    /** Payloads kept aside for calibration. */
    public long heldOutSamples() {
        return heldOutSamples;
    }

    /** Bytes counted (after the depth cap), trained and held out. */
    public long bytes() {
        return bytes;
    }

    /** Empty payloads seen (not modelled). */
    public long emptyPayloads() {
        return empty;
    }

    /** Writes the statistics and held-out samples atomically (see {@link PaylModels#save}). */
    public void save(Path file) throws IOException {
        ModelFile.writeTraining(file, this);
    }

    /** Reads a file written by {@link #save}; a corrupt or foreign file fails naming what is wrong. */
    public static PaylTrainer load(Path file) throws IOException {
        return ModelFile.readTraining(file);
    }

    /**
     * Folds and merges length bins, builds the fallbacks and calibrates every threshold on the
     * held-out samples.
     *
     * @throws IllegalStateException when nothing was trained or nothing was held out
     */
    public PaylModels build() {
        if (bins.isEmpty()) {
            throw new IllegalStateException("nothing to build: no payload was trained");
        }
        List<Subject> subjects = new ArrayList<>(bins.keySet());
        subjects.sort(SUBJECT_ORDER);
        List<PaylModel> models = new ArrayList<>();
        Map<String, Moments[]> images = new LinkedHashMap<>();
        for (Subject s : subjects) {
            Moments[] b = bins.get(s);
            Moments all = new Moments();
            for (Moments m : b) {
                if (m != null) {
                    all.merge(m);
                }
            }
            for (Group g : BinGrouping.groups(b, settings.minSamples(), settings.mergeDistance())) {
                models.add(new PaylModel(new ModelKey(s.image(), s.direction(), s.ipProto(), s.servicePort(), g.lenLo, g.lenHi),
                        PaylModel.Role.PRIMARY, g.stats, settings.alpha()));
            }
            if (all.n >= MIN_MODEL_SAMPLES) {
                models.add(new PaylModel(new ModelKey(s.image(), s.direction(), s.ipProto(), s.servicePort(), 1,
                        Integer.MAX_VALUE), PaylModel.Role.PORT_ALL_LENGTHS, all, settings.alpha()));
            }
            Moments[] im = images.computeIfAbsent(s.image(), k -> new Moments[2]);
            int d = s.direction().ordinal();
            if (im[d] == null) {
                im[d] = new Moments();
            }
            im[d].merge(all);
        }
        images.forEach((image, im) -> {
            for (Direction d : Direction.values()) {
                // Too few samples for even the image-wide model: that image's rare traffic is not
                // scored (counted as noModel) rather than judged by a model without spread.
                if (im[d.ordinal()] != null && im[d.ordinal()].n >= MIN_MODEL_SAMPLES) {
                    models.add(new PaylModel(new ModelKey(image, d, 0, -1, 1, Integer.MAX_VALUE),
                            PaylModel.Role.IMAGE_ALL_PORTS, im[d.ordinal()], settings.alpha()));
                }
            }
        });
        PaylModels built = new PaylModels(settings, models);
        Calibration.calibrate(built, heldOut, settings.targetFpr());
        return built;
    }

    /**
     * Fewest payloads a fallback model may be built from. Below this the per-byte standard
     * deviations are mostly zero (a byte value absent from three samples has σ = 0), so the model
     * would call almost any payload anomalous. Length bins use the larger {@code minSamples}.
     */
    static final int MIN_MODEL_SAMPLES = 10;

    static final Comparator<Subject> SUBJECT_ORDER = Comparator.comparing(Subject::image)
            .thenComparing(Subject::direction).thenComparingInt(Subject::ipProto).thenComparingInt(Subject::servicePort);

    /** A run of fine bins that became one model. */
    static final class Group {
        final Moments stats = new Moments();
        int lenLo;
        int lenHi;
    }
}
