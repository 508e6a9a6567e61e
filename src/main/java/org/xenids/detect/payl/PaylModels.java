package org.xenids.detect.payl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xenids.alert.EveEvent;
import org.xenids.alert.Signature;
import org.xenids.detect.AlertSite;
import org.xenids.detect.Detector;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/**
 * A calibrated set of PAYL models (Wang and Stolfo, RAID 2004): the payload detector. A payload is
 * scored against the model of its image, direction, service port and length; a length the port
 * never showed falls back to the port's all-lengths model, a port never seen to the image's
 * all-ports model, and the alert says which. The score is the simplified Mahalanobis distance
 * d = Σ|x−x̄|/(σ+α) divided by the model's threshold: above 1 is anomalous.
 *
 * <p>{@link #score} allocates nothing; instances reuse a scratch histogram and are not thread-safe
 * ({@link #copy()} gives another scorer on the same models for another thread).
 */
public final class PaylModels implements Detector {
    public static final long SID_PRIMARY = 9000001;
    public static final long SID_FALLBACK_LENGTH = 9000002;
    public static final long SID_FALLBACK_PORT = 9000003;

    final PaylSettings settings;
    final List<PaylModel> models;
    /**
     * Per subject: the model of each length bin, and in slot {@link #PORT_SLOT} the model of all
     * lengths; one map so that a payload costs one hash look-up.
     */
    private final Map<Subject, PaylModel[]> bySubject = new HashMap<>();
    /** This set's own object for each subject it has models for (see {@link #canonical}). */
    private final Map<Subject, Subject> canonical = new HashMap<>();
    private final Map<String, PaylModel[]> imageAll = new HashMap<>();
    private final ByteHistogram scratch;
    private final float[] terms = new float[256];
    private Subject lastSubject;
    private PaylModel[] lastBins;
    private long scored;
    private long noModel;
    private long empty;
    private long fallbackLength;
    private long fallbackPort;
    private long anomalous;

    PaylModels(PaylSettings settings, List<PaylModel> models) {
        this.settings = settings;
        this.models = Collections.unmodifiableList(new ArrayList<>(models));
        this.scratch = new ByteHistogram(settings.depth());
        for (PaylModel m : models) {
            ModelKey k = m.key;
            switch (m.role) {
                case PRIMARY -> {
                    PaylModel[] bins = slots(k);
                    for (int b = LengthBins.of(k.lenLo()); b <= LengthBins.of(k.lenHi()); b++) {
                        bins[b] = m;
                    }
                }
                case PORT_ALL_LENGTHS -> slots(k)[PORT_SLOT] = m;
                case IMAGE_ALL_PORTS -> imageAll.computeIfAbsent(k.image(), i -> new PaylModel[2])[k.direction().ordinal()] = m;
            }
        }
    }

    private static final int PORT_SLOT = LengthBins.COUNT;

    private PaylModel[] slots(ModelKey k) {
        return bySubject.computeIfAbsent(subject(k), s -> {
            canonical.put(s, s);
            return new PaylModel[PORT_SLOT + 1];
        });
    }

    /**
     * This set's own object equal to {@code s} when it has models for that subject, else {@code s}.
     * A flow keeps it for its life: when its direction is scored, the look-up compares it by
     * reference and reads an object every flow of that service shares, so it is in cache. A
     * subject made for the flow when it began usually is not by then: a cache miss per scored
     * direction, 14% of scoring's time in the benchmark.
     */
    public Subject canonical(Subject s) {
        Subject c = canonical.get(s);
        return c == null ? s : c;
    }

    private static Subject subject(ModelKey k) {
        return new Subject(k.image(), k.direction(), k.ipProto(), k.port());
    }

    /** Another scorer sharing these (immutable) models, for another thread. */
    public PaylModels copy() {
        return new PaylModels(settings, models);
    }

    @Override
    public String name() {
        return "payl";
    }

    public PaylSettings settings() {
        return settings;
    }

    /** A histogram of this model set's depth, to feed a stream direction in pieces. */
    public ByteHistogram newHistogram() {
        return new ByteHistogram(settings.depth());
    }

    @Override
    public double score(Subject subject, byte[] buf, int off, int len) {
        scratch.reset();
        scratch.add(buf, off, len);
        return score(subject, scratch);
    }

    /** Scores a payload counted in {@code h} (e.g. a reassembled stream direction up to the depth). */
    public double score(Subject subject, ByteHistogram h) {
        int len = h.length();
        if (len == 0) {
            empty++;
            return Double.NaN;
        }
        PaylModel m = lookup(subject, len);
        if (m == null) {
            noModel++;
            return Double.NaN;
        }
        scored++;
        if (m.role == PaylModel.Role.PORT_ALL_LENGTHS) {
            fallbackLength++;
        } else if (m.role == PaylModel.Role.IMAGE_ALL_PORTS) {
            fallbackPort++;
        }
        double s = m.distance(h.counts, len, terms) / m.threshold;
        if (s > 1) {
            anomalous++;
        }
        return s;
    }

    /** The key of the model that scores a payload of {@code len} bytes of {@code subject}, or null. */
    public ModelKey modelFor(Subject subject, int len) {
        PaylModel m = len > 0 ? lookup(subject, Math.min(len, settings.depth())) : null;
        return m == null ? null : m.key;
    }

    PaylModel lookup(Subject s, int len) {
        if (s != lastSubject && !s.equals(lastSubject)) {
            lastSubject = s;
            lastBins = bySubject.get(s);
        }
        PaylModel[] bins = lastBins;
        if (bins != null) {
            PaylModel m = bins[LengthBins.of(len)];
            if (m != null || (m = bins[PORT_SLOT]) != null) {
                return m;
            }
        }
        return imageFallback(s);
    }

    PaylModel portFallback(Subject s) {
        PaylModel[] bins = bySubject.get(s);
        return bins == null ? null : bins[PORT_SLOT];
    }

    PaylModel imageFallback(Subject s) {
        PaylModel[] im = imageAll.get(s.image());
        return im == null ? null : im[s.direction().ordinal()];
    }

    @Override
    public EveEvent.Alert explain(Subject subject, byte[] buf, int off, int len, AlertSite site) {
        ByteHistogram h = newHistogram();
        h.add(buf, off, len);
        return explain(subject, h, site);
    }

    /** The alert for the payload counted in {@code h}; fails when no model applies. */
    public EveEvent.Alert explain(Subject subject, ByteHistogram h, AlertSite site) {
        int len = h.length();
        PaylModel m = len == 0 ? null : lookup(subject, len);
        if (m == null) {
            throw new IllegalArgumentException("no PAYL model for " + subject + " (" + len + " bytes)");
        }
        double distance = m.distance(h.counts, len);
        double[] contrib = m.contributions(h.counts, len, settings.alpha());
        Integer[] order = new Integer[256];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Double.compare(contrib[b], contrib[a]));
        List<Map<String, Object>> top = new ArrayList<>();
        for (int j = 0; j < settings.topBytes(); j++) {
            int b = order[j];
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("byte", String.format("0x%02x", b));
            e.put("observed", round(h.count(b) / (double) len));
            e.put("expected", round(m.stats.mean[b]));
            e.put("stddev", round(m.stats.sd(b)));
            e.put("contribution", round(contrib[b]));
            top.add(e);
        }
        Map<String, Object> ctx = new LinkedHashMap<>();
        if (site.domain() != null) {
            ctx.put("domain", site.domain());
        }
        ctx.put("vm_image", subject.image());
        if (site.vif() != null) {
            ctx.put("vif", site.vif());
        }
        ctx.put("direction", subject.direction().label());
        ctx.put("model", m.key.toString());
        ctx.put("fallback", m.role.fallback);
        ctx.put("payload_bytes", len);
        ctx.put("training_samples", m.stats.n);
        ctx.put("distance", round(distance));
        ctx.put("threshold", round(m.threshold));
        ctx.put("score", round(distance / m.threshold));
        ctx.put("top_bytes", top);
        Signature sig = switch (m.role) {
            case PRIMARY -> Signature.detect(SID_PRIMARY, "XENIDS PAYL anomalous payload byte distribution",
                    "Anomalous payload", 2);
            case PORT_ALL_LENGTHS -> Signature.detect(SID_FALLBACK_LENGTH,
                    "XENIDS PAYL anomalous payload byte distribution (fallback: length not seen in training)",
                    "Anomalous payload", 2);
            case IMAGE_ALL_PORTS -> Signature.detect(SID_FALLBACK_PORT,
                    "XENIDS PAYL anomalous payload byte distribution (fallback: port not seen in training)",
                    "Anomalous payload", 2);
        };
        return new EveEvent.Alert(site.timestampNanos(), site.flowId(), site.endpoints(), site.communityId(),
                sig, ctx, site.vif());
    }

    private static double round(double v) {
        return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.6g", v));
    }

    /** Counters since creation: what was scored, and every payload that could not be. */
    public record Counters(long scored, long anomalous, long fallbackLength, long fallbackPort,
                           long noModel, long empty) {}

    public Counters counters() {
        return new Counters(scored, anomalous, fallbackLength, fallbackPort, noModel, empty);
    }

    /** One model as a reader sees it (for listings and reports). */
    public record ModelInfo(ModelKey key, String fallbackRole, long trainingSamples, double threshold,
                            int calibrationSamples, boolean ownQuantile, int fileBytes) {}

    public List<ModelInfo> models() {
        List<ModelInfo> out = new ArrayList<>(models.size());
        for (PaylModel m : models) {
            out.add(new ModelInfo(m.key, m.role.fallback, m.stats.n, m.threshold, m.calSamples, m.ownQuantile, m.fileBytes()));
        }
        return out;
    }

    /** Per-byte mean frequency and standard deviation of one model (copies). */
    public double[][] statistics(ModelKey key) {
        for (PaylModel m : models) {
            if (m.key.equals(key)) {
                double[] sd = new double[256];
                Arrays.setAll(sd, m.stats::sd);
                return new double[][] {m.stats.mean.clone(), sd};
            }
        }
        throw new IllegalArgumentException("no model " + key);
    }

    /**
     * Writes the models atomically: a temporary file beside {@code file}, fsync, then an atomic
     * rename, so an interrupted write never leaves a half-written model. Versioned, CRC32C trailer.
     */
    public void save(Path file) throws IOException {
        ModelFile.writeModels(file, this);
    }

    /** Reads models written by {@link #save}; a corrupt, truncated or foreign file fails naming what is wrong. */
    public static PaylModels load(Path file) throws IOException {
        return ModelFile.readModels(file);
    }

    static Direction direction(int ordinal) {
        return Direction.values()[ordinal];
    }
}
