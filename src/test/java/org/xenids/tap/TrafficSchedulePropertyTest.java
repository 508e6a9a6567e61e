package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.xenids.xen.abi.Xen;

/**
 * Any schedule of frames between three guests (one, two and four queues) and the outside, of any
 * size up to 64 KiB (GSO above the MTU), sent one by one or in bursts that fill the rings before
 * the host runs: every frame a guest's netfront accepted and every frame a guest's stack received
 * is rebuilt by the tap, byte for byte, in order per domain and direction, and nothing else; no
 * op is left unclassified and no anomaly is raised; and the schedule's recorded trace replays to
 * the same frames. The fixed cases of {@link TapFramesTest} and
 * the real captures of {@link DevCapturesTest}, with the interleavings they do not have.
 */
class TrafficSchedulePropertyTest {
    static final String[] MACS = {null, "00:16:3e:00:00:01", "00:16:3e:00:00:02", "00:16:3e:00:00:03"};
    static final int[] QUEUES = {0, 1, 2, 4};
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    /**
     * One frame: from 0 (outside) or guest 1-3, to 0 (outside), guest 1-3 or 4 (broadcast), of
     * {@code size} bytes; {@code run} lets the host run after it (else it waits in the rings).
     */
    record Act(int from, int to, int size, boolean run) {}

    @Provide
    Arbitrary<List<Act>> schedules() {
        Arbitrary<Integer> size = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.integers().between(14, 1514)),
                Tuple.of(2, Arbitraries.integers().between(1515, 9000)),
                Tuple.of(1, Arbitraries.integers().between(9001, 65535)));
        Arbitrary<Act> act = Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, 4),
                size, Arbitraries.integers().between(0, 9).map(x -> x < 4)).as(Act::new);
        return act.list().ofMinSize(1).ofMaxSize(300);
    }

    @Property(tries = 200)
    void anyScheduleOfFramesIsRebuiltByteForByte(@ForAll("schedules") List<Act> schedule) {
        Bench b = run(schedule, null);
        TapFramesTest.assertSame(b.delivered, b.tapped);
        for (Bench.Seen f : b.tapped) {
            // A frame one guest sent another is the receiver's RX naming the sender; from outside, no one.
            int sender = 0;
            for (int g = 1; g <= 3; g++) {
                sender = java.util.Arrays.equals(f.bytes(), 6, 12, Bench.mac(MACS[g]), 0, 6) ? g : sender;
            }
            assertEquals(f.direction() == Tap.RX && sender != 0 ? sender : -1, f.peer(), () -> "peer of " + f);
        }
        assertEquals(0, b.tap.unclassified(), "ops matching no ring");
        assertTrue(b.anomalies.isEmpty(), b.anomalies::toString);
    }

    /** The tap on the schedule's recorded trace gives the live tap's frames, in its order, with the same peers. */
    @Property(tries = 50)
    void anyScheduleReplaysFromItsTraceToTheSameFrames(@ForAll("schedules") List<Act> schedule) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Bench b = run(schedule, out);
        b.recorder.close();
        List<Bench.Seen> replayed = new ArrayList<>();
        Tap[] tap = new Tap[1];
        Trace.Summary s = Trace.replay(new ByteArrayInputStream(out.toByteArray()), "schedule.trace",
                mem -> tap[0] = new Tap(mem, Bench.collector(replayed), a -> { }));
        assertTrue(s.ended());
        assertEquals(b.tapped.size(), replayed.size());
        for (int i = 0; i < replayed.size(); i++) {
            Bench.Seen l = b.tapped.get(i), r = replayed.get(i);
            assertEquals(List.of(l.domid(), l.direction(), l.peer()), List.of(r.domid(), r.direction(), r.peer()), "frame " + i);
            assertArrayEquals(l.bytes(), r.bytes(), "frame " + i);
        }
        assertEquals(0, tap[0].failedReads());
    }

    static Bench run(List<Act> schedule, OutputStream trace) {
        Bench b = new Bench(trace);
        for (int g = 1; g <= 3; g++) {
            b.guestOrdered(g, MACS[g], QUEUES[g]);
        }
        int seed = 0;
        for (Act a : schedule) {
            int from = a.from(), to = a.to() == a.from() || (a.from() == 0 && a.to() == 0) ? (from % 3) + 1 : a.to();
            byte[] dst = to == 4 ? BROADCAST : to == 0 ? TapFramesTest.GW : Bench.mac(MACS[to]);
            byte[] src = from == 0 ? TapFramesTest.GW : Bench.mac(MACS[from]);
            byte[] f = Bench.frame(dst, src, a.size(), seed++);
            int gso = a.size() > 9000 ? 1448 : 0;
            if (from == 0) {
                b.bridge.fromUplink(f, 0, f.length, gso);
            } else if (b.vifs.get(from - 1).front().transmit(f, 0, f.length, gso, gso > 0 ? Xen.XEN_NETIF_GSO_TYPE_TCPV4 : 0)) {
                b.delivered.add(new Bench.Seen(from, Tap.TX, -1, f));
            }
            if (a.run()) {
                b.host.runPending();
            }
        }
        b.host.runPending();
        return b;
    }
}
