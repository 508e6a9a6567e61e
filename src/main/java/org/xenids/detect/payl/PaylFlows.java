package org.xenids.detect.payl;

import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Function;
import org.xenids.alert.Endpoints;
import org.xenids.alert.EveEvent;
import org.xenids.detect.AlertSite;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.StreamListener;

/**
 * Connects the flow stage to PAYL. Each TCP stream direction is counted as it is reassembled, up
 * to the depth, into a pooled histogram and trained or scored as soon as the depth is reached
 * (later bytes cannot change its score, so an attack in a long connection is reported when its
 * first {@code depth} bytes have passed, not when the connection closes), or when the flow ends
 * if it never reaches the depth; each UDP
 * datagram is trained or scored on its own. With {@code perPacket}, every TCP payload delivery is
 * scored on its own instead. A flow whose server is not a known guest (the image function returns
 * null) is skipped and counted. Payload bytes are read in place, never copied.
 *
 * <p>A gap the reassembly reports inside what is scored (a hole it gave up: its window or its pool
 * ran out, or the flow ended first) means the score misses bytes the guest may well have received:
 * a sender can cause it on purpose to hide an attack. So can a segment that overlaps bytes held
 * out of order with different ones: the bytes held first are scored, while the guest's stack may
 * keep the others, and so can a later copy of delivered bytes the guest has not acknowledged (its
 * stack may have dropped the first copy). Each is counted, and when detecting, the first of each kind
 * in a flow direction is reported as an EVE {@code anomaly} ({@code stream}, {@code
 * stream.reassembly_seq_gap} or {@code stream.reassembly_overlap_different_data}, Suricata's names;
 * {@code stream.reassembly_copy_not_compared} when the delivered copy could not be kept to compare
 * with) naming the flow, beside its score.
 * So is the first packet in a flow direction that its receiver's stack drops (a bad checksum, IPv4
 * options or IPv6 headers it rejects, a stale timestamp): such a packet feeds nothing, but a sender
 * may be trying to show the detector bytes the guest never takes ({@code decode} with the
 * decoder's event name, or {@code stream}).
 */
public final class PaylFlows implements StreamListener {

    /** One scored flow direction: the row of a scores file. {@code score} is the highest of its payloads. */
    public record Scored(long flowId, String communityId, int ipProto, String client, int clientPort, String server,
                         int serverPort, long flowStartNanos, Direction direction, String image, ModelKey model,
                         double score, long payloadBytes) {}

    private final PaylTrainer trainer;
    private final PaylModels models;
    private final Function<Flow, String> imageOf;
    /** Where a flow's monitored guest is, for alerts: {domain, vif}; null parts are left out. */
    private Function<Flow, String[]> placeOf = f -> NO_PLACE;
    private static final String[] NO_PLACE = {null, null};
    private final boolean perPacket;
    private final Consumer<Scored> scores;
    private final Consumer<EveEvent.Alert> alerts;
    private Consumer<EveEvent.Anomaly> anomalies = a -> { };
    private final int depth;
    private final FlowStates states = new FlowStates();
    private final ArrayDeque<PaylFlowState> pool = new ArrayDeque<>();
    private final ByteHistogram packet;
    private long flows;
    private long unmonitored, unmonitoredBytes;
    private long directions;
    private long gaps;
    private long gapBytes;
    private long differingBytes;
    private long notComparedBytes;
    private long refusedPackets;
    private long urgentBytes;
    private long urgentTakenOut;
    /** What is reported once per flow direction, by kind: flow directions that had it. */
    private static final int GAP = 0, DIFFERING = 1, REFUSED = 2, URGENT = 3, NOT_COMPARED = 4;
    private final long[] reportedDirections = new long[5];
    private long pastDepth;

    private PaylFlows(PaylTrainer trainer, PaylModels models, Function<Flow, String> imageOf, boolean perPacket,
                      Consumer<Scored> scores, Consumer<EveEvent.Alert> alerts) {
        this.trainer = trainer;
        this.models = models;
        this.imageOf = imageOf;
        this.perPacket = perPacket;
        this.scores = scores;
        this.alerts = alerts;
        this.depth = trainer != null ? trainer.settings().depth() : models.settings().depth();
        this.packet = new ByteHistogram(depth);
    }

    /** Learns every monitored flow's payload into {@code trainer}. */
    public static PaylFlows training(PaylTrainer trainer, Function<Flow, String> imageOf, boolean perPacket) {
        return new PaylFlows(trainer, null, imageOf, perPacket, s -> { }, a -> { });
    }

    /** Scores every monitored flow's payload: a row per scored direction, an alert per direction above threshold. */
    public static PaylFlows detecting(PaylModels models, Function<Flow, String> imageOf, boolean perPacket,
                                      Consumer<Scored> scores, Consumer<EveEvent.Alert> alerts) {
        return new PaylFlows(null, models, imageOf, perPacket, scores, alerts);
    }

    /**
     * The flow stage PAYL needs: streams held up to PAYL's depth and no further (unlimited when
     * every packet is scored on its own), and a new flow on a 5-tuple after FIN/RST or a SYN
     * with a new sequence number, as the label files count flows, but never in the middle of an
     * established connection ({@link FlowConfig.SplitPolicy#NEW_ISN_OR_AFTER_CLOSE}).
     */
    public static FlowConfig flowConfig(PaylSettings settings, boolean perPacket) {
        return FlowConfig.defaults().withDepth(perPacket ? -1 : settings.depth())
                .withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE);
    }

    /** Where the anomalies go: the first gap inside a scored flow direction (see the class comment). */
    public PaylFlows anomaliesTo(Consumer<EveEvent.Anomaly> sink) {
        this.anomalies = sink == null ? a -> { } : sink;
        return this;
    }

    /**
     * Names the guest domain and vif of each flow in its alerts (the tap knows them; a pcap
     * does not). Called once per alert, never per packet.
     */
    public PaylFlows placedBy(Function<Flow, String[]> place) {
        this.placeOf = place == null ? f -> NO_PLACE : place;
        return this;
    }

    private PaylFlowState state(Flow f) {
        PaylFlowState s = states.get(f.id());
        if (s != null) {
            return s;
        }
        s = pool.isEmpty() ? new PaylFlowState() : pool.pop();
        String image = imageOf.apply(f);
        s.monitored = image != null;
        flows++;
        if (image == null) {
            unmonitored++;
        } else {
            int proto = f.protocol();
            s.subject[0] = subject(new Subject(image, Direction.TO_SERVER, proto, f.serverPort()));
            s.subject[1] = subject(new Subject(image, Direction.TO_CLIENT, proto, f.serverPort()));
        }
        s.reset(depth);
        states.put(f.id(), s);
        return s;
    }

    private Subject subject(Subject s) {
        return models == null ? s : models.canonical(s);
    }

    @Override
    public void payload(Flow flow, boolean toServer, byte[] buf, int off, int len, long streamOffset) {
        PaylFlowState s = state(flow);
        if (!s.monitored || len <= 0) {
            return;
        }
        int d = toServer ? 0 : 1;
        s.bytes[d] += len;
        if (flow.protocol() == 6 && !perPacket) {
            ByteHistogram h = s.hist[d];
            pastDepth += len - h.add(buf, off, len);
            if (h.full() && !s.done[d]) {
                s.done[d] = true;
                stream(flow, s, d);
            }
            return;
        }
        packet.reset();
        pastDepth += len - packet.add(buf, off, len);
        if (trainer != null) {
            trainer.add(s.subject[d], packet);
            return;
        }
        double score = models.score(s.subject[d], packet);
        if (!Double.isNaN(score)) {
            s.max[d] = Double.isNaN(s.max[d]) ? score : Math.max(s.max[d], score);
            if (score > 1 && !s.alerted[d]) {
                s.alerted[d] = true;
                alerts.accept(models.explain(s.subject[d], packet, site(flow)));
            }
        }
    }

    @Override
    public void gap(Flow flow, boolean toServer, long streamOffset, long length) {
        PaylFlowState s = scored(flow, toServer, streamOffset);
        if (s != null) {
            gaps++;
            gapBytes += length;
            once(s, flow, toServer, GAP, "stream", "stream.reassembly_seq_gap");
        }
    }

    /**
     * Bytes inside the depth came twice with different content: held out of order, or delivered
     * and not yet acknowledged by the guest. Reported even when the direction was scored already:
     * a first copy its receiver dropped may have been scored in place of the one it took.
     */
    @Override
    public void overlapDiffers(Flow flow, boolean toServer, long streamOffset, long bytes) {
        PaylFlowState s = scoredOrWas(flow, streamOffset);
        if (s != null) {
            differingBytes += bytes;
            once(s, flow, toServer, DIFFERING, "stream", "stream.reassembly_overlap_different_data");
        }
    }

    /**
     * A later copy of bytes inside the depth that the guest had not acknowledged, which could not be
     * compared with the delivered ones (no buffer was free to keep them): as a differing copy would
     * be, whether or not it differs, since a sender can spend the buffers first on purpose.
     * Reported even when the direction was scored already ({@code stream.reassembly_copy_not_compared}).
     */
    @Override
    public void copyNotCompared(Flow flow, boolean toServer, long streamOffset, long bytes) {
        PaylFlowState s = scoredOrWas(flow, streamOffset);
        if (s != null) {
            notComparedBytes += bytes;
            once(s, flow, toServer, NOT_COMPARED, "stream", "stream.reassembly_copy_not_compared");
        }
    }

    /**
     * An urgent byte inside what is scored: taken out of the stream (the flow stage's default, as
     * the guest's application skips it) or left in, the scored bytes are the application's only
     * under an assumption of when it reads (see {@link FlowConfig.UrgentPolicy}); and real traffic
     * hardly uses urgent data any more, while a sender can mark a byte of every segment urgent.
     * Counted, and the first in a flow direction reported ({@code stream.urgent_data}).
     */
    @Override
    public void urgentByte(Flow flow, boolean toServer, long streamOffset, boolean outOfBand) {
        PaylFlowState s = scored(flow, toServer, streamOffset);
        if (s != null) {
            urgentBytes++;
            urgentTakenOut += outOfBand ? 1 : 0;
            once(s, flow, toServer, URGENT, "stream", "stream.urgent_data");
        }
    }

    /**
     * Reports an anomaly of {@code kind} the first time the flow direction has one: what is
     * reported once per flow direction, counted by direction.
     */
    private void once(PaylFlowState s, Flow flow, boolean toServer, int kind, String type, String event) {
        boolean[] seen = s.reported[kind];
        int d = toServer ? 0 : 1;
        if (!seen[d]) {
            seen[d] = true;
            reportedDirections[kind]++;
            anomaly(flow, toServer, type, event);
        }
    }

    /**
     * The flow's state when stream bytes at {@code streamOffset} are scored (a monitored direction
     * not yet scored, or, per packet, any), else null.
     */
    private PaylFlowState scored(Flow flow, boolean toServer, long streamOffset) {
        PaylFlowState s = scoredOrWas(flow, streamOffset);
        return s != null && (perPacket || !s.done[toServer ? 0 : 1]) ? s : null;
    }

    /** The flow's state when stream bytes at {@code streamOffset} are or were scored (inside the depth, or per packet), else null. */
    private PaylFlowState scoredOrWas(Flow flow, long streamOffset) {
        PaylFlowState s = state(flow);
        return s.monitored && flow.protocol() == 6 && (perPacket || streamOffset < depth) ? s : null;
    }

    /**
     * A packet its receiver drops fed nothing, as it should; but a sender who sends one inside a
     * connection to a guest may be trying to show the detector bytes the guest never takes. Counted,
     * and the first in a flow direction reported as an EVE anomaly ({@code decode} with the
     * decoder's name, or {@code stream}).
     */
    @Override
    public void refused(Flow flow, boolean toServer, String event) {
        PaylFlowState s = state(flow);
        if (s.monitored) {
            refusedPackets++;
            once(s, flow, toServer, REFUSED, event.startsWith("stream.") ? "stream" : "decode", event);
        }
    }

    private void anomaly(Flow flow, boolean toServer, String type, String event) {
        AlertSite site = site(flow);
        String where = site.domain() == null ? null : site.vif() == null ? site.domain() : site.domain() + "/" + site.vif();
        // Oriented as the direction the bytes travel, as a packet of it would be.
        Endpoints e = toServer ? site.endpoints() : site.endpoints().reversed();
        anomalies.accept(new EveEvent.Anomaly(site.timestampNanos(), site.flowId(), e, type, event, null, 0, where));
    }

    @Override
    public void flowEnd(Flow flow) {
        PaylFlowState s = states.remove(flow.id());
        if (s == null) {
            return;
        }
        if (s.monitored) {
            for (int d = 0; d < 2; d++) {
                if (flow.protocol() == 6 && !perPacket && !s.done[d] && s.hist[d].length() > 0) {
                    stream(flow, s, d);
                }
                if (trainer == null && !Double.isNaN(s.max[d])) {
                    directions++;
                    ModelKey k = models.modelFor(s.subject[d], (int) Math.min(s.bytes[d], depth));
                    scores.accept(new Scored(flow.id(), flow.communityId(), flow.protocol(), flow.clientAddress(),
                            flow.clientPort(), flow.serverAddress(), flow.serverPort(), flow.firstNanos(),
                            s.subject[d].direction(), s.subject[d].image(), k, s.max[d], s.bytes[d]));
                }
            }
        } else {
            // All its payload, past the depth too: none of it was looked at.
            unmonitoredBytes += flow.payloadBytes(true) + flow.payloadBytes(false) + flow.bytesPastDepth(true)
                    + flow.bytesPastDepth(false);
        }
        s.subject[0] = s.subject[1] = null;
        pool.push(s);
    }

    /** Trains or scores direction {@code d}'s stream histogram, once per flow direction. */
    private void stream(Flow flow, PaylFlowState s, int d) {
        if (trainer != null) {
            trainer.add(s.subject[d], s.hist[d]);
            return;
        }
        double score = models.score(s.subject[d], s.hist[d]);
        s.max[d] = score;
        if (score > 1) {
            s.alerted[d] = true;
            alerts.accept(models.explain(s.subject[d], s.hist[d], site(flow)));
        }
    }

    private AlertSite site(Flow f) {
        String proto = f.protocol() == 6 ? "TCP" : f.protocol() == 17 ? "UDP" : Integer.toString(f.protocol());
        String[] place = placeOf.apply(f);
        return new AlertSite(f.lastNanos(), f.id(), new Endpoints(f.clientAddress(), f.clientPort(),
                f.serverAddress(), f.serverPort(), proto), f.communityId(), place[0], place[1]);
    }

    /** Flows seen with payload, or with a gap, a refused packet or an urgent byte before any. */
    public long flows() {
        return flows;
    }

    /**
     * Flows with payload that were neither trained on nor scored because none of their endpoints is
     * a known guest (no VM image judges them): a broadcast or another host's traffic flooded to a
     * guest, or a guest's address the topology does not name.
     */
    public long unmonitoredFlows() {
        return unmonitored;
    }

    /** Payload bytes of the {@linkplain #unmonitoredFlows() unmonitored flows} that have ended, past the depth too. */
    public long unmonitoredBytes() {
        return unmonitoredBytes;
    }

    /** Flow directions scored (detecting). */
    public long scoredDirections() {
        return directions;
    }

    /**
     * What the reassembly could not vouch for inside scored (or trained) payload, so far: gaps
     * (those bytes are missing from the histograms), with their bytes and the flow directions that
     * had one; bytes a later segment overlapped with different ones, and those a later copy of which
     * could not be compared (not kept: no buffer was free); packets their receiver drops
     * (monitored flows, fed nothing); and TCP urgent bytes, with how many were taken out of the
     * stream. Each with the flow directions that had it; when detecting, each such flow direction
     * got one anomaly of each kind it had.
     */
    public record ReassemblyDoubts(long gaps, long gapBytes, long gapDirections, long differingBytes,
                                   long differingDirections, long refusedPackets, long refusedDirections,
                                   long urgentBytes, long urgentTakenOut, long urgentDirections,
                                   long notComparedBytes, long notComparedDirections) {}

    public ReassemblyDoubts doubts() {
        long[] r = reportedDirections;
        return new ReassemblyDoubts(gaps, gapBytes, r[GAP], differingBytes, r[DIFFERING], refusedPackets, r[REFUSED],
                urgentBytes, urgentTakenOut, r[URGENT], notComparedBytes, r[NOT_COMPARED]);
    }

    /** Payload bytes beyond the depth: delivered by the flow stage, not modelled. */
    public long bytesPastDepth() {
        return pastDepth;
    }

    /** Flows with payload not yet ended. */
    public int liveFlows() {
        return states.size();
    }
}
