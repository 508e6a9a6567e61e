package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xenids.tap.ReplayMemoryTest.Mode;
import org.xenids.tap.ReplayMemoryTest.Probe;

/**
 * Hostile traces. In the normal build these run once over the committed inputs in
 * {@code TraceFuzzTestInputs/}; with {@code JAZZER_FUZZ=1} Jazzer mutates them.
 */
class TraceFuzzTest {

    /**
     * Any bytes given as a trace, replayed into a real tap without checksums (so that mutations
     * reach the records and the tap, not only the checksum check): the replay ends, or fails with
     * a one-line {@link Trace.FormatException} naming the file and an offset within it; nothing
     * else escapes, and every frame the tap hands on lies inside the buffer it names.
     */
    @FuzzTest(maxDuration = "5m")
    void anyBytesReplayIntoATapOrFailWithAFormatError(byte[] data) {
        try {
            Trace.replay(data, "fuzz.trace", false, mem -> new Tap(mem, (b, off, len, d, v, q, dir, peer, ts) -> {
                assertTrue(off >= 0 && len > 0 && off + len <= b.length, "frame slice in bounds");
            }, e -> {}));
        } catch (Trace.FormatException e) {
            String m = e.getMessage();
            Matcher at = Pattern.compile("fuzz\\.trace: offset (\\d+): [^\n]+").matcher(m);
            assertTrue(at.matches() && Long.parseLong(at.group(1)) <= data.length, m);
        } catch (IOException e) {
            throw new AssertionError("not a format error: " + e, e);
        }
    }

    /**
     * A trace made of calls and READ / READ FAILED records of a few pages (chosen by the input),
     * and reads the listener makes in each call, some naming a record of the call, some not: the
     * replay of a trace held in memory, from a stream and from a trickling stream answers every
     * read as the memory image does (the reference replay, every record applied as met). This is
     * the contract of {@link ReplayMemory} and its overlap check.
     */
    @FuzzTest(maxDuration = "5m")
    void everyReplayAnswersAsTheMemoryImage(FuzzedDataProvider in) throws IOException {
        TraceWriter w = new TraceWriter();
        List<List<Probe>> byCall = new ArrayList<>();
        byCall.add(new ArrayList<>());
        List<Probe> recorded = new ArrayList<>();
        int next = 0;
        int steps = in.consumeInt(0, 600);
        for (int i = 0; i < steps && in.remainingBytes() > 0; i++) {
            int dom = in.consumeInt(1, 2);
            long frame = 8 + in.consumeInt(0, 3);
            int len = in.consumeInt(1, 80);
            int off = switch (in.consumeInt(0, 2)) {
                case 0 -> 8 * in.consumeInt(0, 511);
                case 1 -> in.consumeInt(0, 4096);
                default -> next; // on from the last record, as a ring's next slot
            };
            if (off + len > 4096) { // past the page's end: back to the first slot (a ring wrapping), or to the end
                off = in.consumeBoolean() ? 64 : 4096 - len;
            }
            List<Probe> current = byCall.get(byCall.size() - 1);
            switch (in.consumeInt(0, 5)) {
                case 0 -> {
                    w.call();
                    byCall.add(new ArrayList<>());
                    recorded.clear();
                }
                case 1, 2 -> {
                    int phase = in.consumeInt(0, 9) == 0 ? 1 : 0; // a phase-1 read belongs to the next call
                    byte[] b = in.consumeBytes(len);
                    if (b.length == 0) {
                        b = new byte[1];
                    }
                    w.read(dom, phase, frame, off, b);
                    next = off + b.length;
                    recorded.add(new Probe(dom, frame, off, b.length, in.consumeBoolean()));
                }
                case 3 -> {
                    w.failed(dom, 0, frame, off, len);
                    next = off + len;
                    recorded.add(new Probe(dom, frame, off, len, false));
                }
                case 4 -> { // a read of a record of the call so far, as a tap makes them
                    if (!recorded.isEmpty()) {
                        current.add(recorded.get(in.consumeInt(0, recorded.size() - 1)));
                    }
                }
                default -> current.add(new Probe(dom, frame, off, len, in.consumeBoolean()));
            }
        }
        byte[] t = w.end();
        // Call k (sequence k) makes the reads listed for it; the list before the first call is unused.
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
            if (seq < byCall.size()) {
                ps.addAll(byCall.get((int) (long) seq));
            }
        };
        List<String> reference = ReplayMemoryTest.answers(t, Mode.APPLYING_EVERY_RECORD, probes, new ReplayMemory[1]);
        for (Mode m : new Mode[] {Mode.IN_MEMORY, Mode.STREAM, Mode.TRICKLE}) {
            assertEquals(reference, ReplayMemoryTest.answers(t, m, probes, new ReplayMemory[1]), m.toString());
        }
    }
}
