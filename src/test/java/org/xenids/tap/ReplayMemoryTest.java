package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.XZInputStream;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * A trace held in memory answers reads from the records after each call, and builds the memory
 * image only for other reads: every answer must be the one the documented image gives, which the
 * stream replay (applying every record as it meets it) computes.
 */
class ReplayMemoryTest {

    /** One read a probe makes: (domid, frame, offset, length), by the array or the segment read. */
    record Probe(int domid, long frame, int offset, int len, boolean segment) {
        String answer(DomainMemory m) {
            byte[] dst = new byte[len + 3];
            boolean ok = segment ? m.read(domid, frame, offset, MemorySegment.ofArray(dst).asSlice(3, len))
                    : m.read(domid, frame, offset, dst, 3, len);
            return ok ? HexFormat.of().formatHex(dst) : "failed" + HexFormat.of().formatHex(dst);
        }
    }

    /**
     * Replays {@code trace} with a listener that makes, in call {@code seq}, the reads {@code
     * probes} gives; the log of every answer.
     */
    static List<String> answers(byte[] trace, boolean inMemory, BiConsumer<Long, List<Probe>> probes,
                                ReplayMemory[] used) throws IOException {
        return answers(trace, inMemory ? Mode.IN_MEMORY : Mode.APPLYING_EVERY_RECORD, probes, used);
    }

    /** How a trace is replayed: the reference (every record applied as met), from a stream, or held in memory. */
    enum Mode { APPLYING_EVERY_RECORD, STREAM, TRICKLE, IN_MEMORY }

    /** A stream that gives at most a few bytes a read, as a pipe may. */
    static InputStream trickle(byte[] b) {
        return new java.io.FilterInputStream(new ByteArrayInputStream(b)) {
            int k;

            @Override
            public int read(byte[] dst, int off, int len) throws IOException {
                return super.read(dst, off, Math.min(len, 1 + k++ % 4099));
            }
        };
    }

    static List<String> answers(byte[] trace, Mode mode, BiConsumer<Long, List<Probe>> probes,
                                ReplayMemory[] used) throws IOException {
        List<String> log = new ArrayList<>();
        java.util.function.Function<DomainMemory, HypercallListener> l = mem -> {
            if (mem instanceof ReplayMemory r) {
                used[0] = r;
            }
            return new HypercallListener() {
                @Override
                public void completed(Hypercall c) {
                    List<Probe> ps = new ArrayList<>();
                    probes.accept(c.sequence(), ps);
                    for (Probe p : ps) {
                        log.add(c.sequence() + " " + p + " " + p.answer(mem));
                    }
                }
            };
        };
        try {
            switch (mode) {
                case APPLYING_EVERY_RECORD -> Trace.replayApplyingEveryRecord(new ByteArrayInputStream(trace), "t.trace", l);
                case STREAM -> Trace.replay(new ByteArrayInputStream(trace), "t.trace", l);
                case TRICKLE -> Trace.replay(trickle(trace), "t.trace", l);
                case IN_MEMORY -> Trace.replay(trace, "t.trace", true, l);
            }
        } catch (IOException e) {
            log.add(e.getMessage());
        }
        return log;
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void assertSameAnswers(byte[] trace, BiConsumer<Long, List<Probe>> probes, long minServed,
                                  long minThroughImage) throws IOException {
        List<String> reference = answers(trace, Mode.APPLYING_EVERY_RECORD, probes, new ReplayMemory[1]);
        for (Mode m : new Mode[] {Mode.STREAM, Mode.TRICKLE, Mode.IN_MEMORY}) {
            ReplayMemory[] used = new ReplayMemory[1];
            assertEquals(reference, answers(trace, m, probes, used), m.toString());
            assertTrue(used[0].served >= minServed, m + " served " + used[0].served);
            assertTrue(used[0].throughImage >= minThroughImage, m + " through the image " + used[0].throughImage);
        }
    }

    @Test
    void reReadOfBytesAnEarlierCallGaveIsAnsweredByTheImage() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call(); // 1: reads (1, 40, 100..116)
        w.read(1, 0, 40, 100, bytes(16, 1));
        w.call(); // 2: reads the same bytes again, and part of them, with nothing recorded after it
        w.call();
        byte[] t = w.end();
        List<String> log = answers(t, true, (seq, ps) -> {
            ps.add(new Probe(1, 40, 100, 16, false));
            ps.add(new Probe(1, 40, 104, 4, true));
        }, new ReplayMemory[1]);
        String all = HexFormat.of().formatHex(bytes(16, 1));
        assertEquals("1 " + new Probe(1, 40, 100, 16, false) + " 000000" + all, log.get(0));
        assertEquals("2 " + new Probe(1, 40, 100, 16, false) + " 000000" + all, log.get(2));
        assertEquals("3 " + new Probe(1, 40, 104, 4, true) + " 000000" + all.substring(8, 16), log.get(5));
        assertSameAnswers(t, (seq, ps) -> {
            ps.add(new Probe(1, 40, 100, 16, false));
            ps.add(new Probe(1, 40, 104, 4, true));
        }, 1, 1);
    }

    @Test
    void readOfBytesNeverGivenFailsAndCopiesNothing() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call();
        w.read(1, 0, 40, 100, bytes(16, 1));
        byte[] t = w.end();
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
            ps.add(new Probe(1, 40, 99, 2, false)); // one byte before the given ones
            ps.add(new Probe(1, 40, 100, 17, true)); // one byte past them
            ps.add(new Probe(1, 41, 100, 16, false)); // another frame
            ps.add(new Probe(2, 40, 100, 16, false)); // another domain
            ps.add(new Probe(1, 40, 4090, 16, false)); // leaves the page
        };
        for (String a : answers(t, true, probes, new ReplayMemory[1])) {
            assertTrue(a.matches(".* failed(00)+"), a);
        }
        assertSameAnswers(t, probes, 0, 5);
    }

    @Test
    void readFailedRecordAnswersFailedUntilALaterReadGivesTheBytes() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call(); // 1: the bytes given
        w.read(1, 0, 40, 0, bytes(64, 2));
        w.call(); // 2: a failed read of part of them
        w.failed(1, 0, 40, 8, 8);
        w.call(); // 3: nothing recorded
        w.call(); // 4: given again
        w.read(1, 0, 40, 8, bytes(8, 3));
        byte[] t = w.end();
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
            ps.add(new Probe(1, 40, 8, 8, false));
            ps.add(new Probe(1, 40, 0, 8, false));
            ps.add(new Probe(1, 40, 0, 64, true));
        };
        List<String> log = answers(t, true, probes, new ReplayMemory[1]);
        assertTrue(log.get(3).startsWith("2 ") && log.get(3).contains(" failed"), log.get(3)); // the failed record itself
        assertTrue(log.get(5).contains(" failed"), log.get(5)); // a read across the failed bytes
        assertTrue(!log.get(4).contains(" failed"), log.get(4)); // the bytes before them stay known
        assertTrue(log.get(6).contains(" failed"), log.get(6)); // still failed in call 3
        assertEquals("4 " + new Probe(1, 40, 8, 8, false) + " 000000" + HexFormat.of().formatHex(bytes(8, 3)),
                log.get(9));
        assertTrue(!log.get(11).contains(" failed"), log.get(11));
        assertSameAnswers(t, probes, 2, 1);
    }

    @Test
    void aLaterRecordOfTheSameCallThatChangesTheBytesDecidesTheAnswer() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call(); // 1: the range given twice with different bytes: the image holds the second
        w.read(1, 0, 40, 0, bytes(16, 4));
        w.read(1, 0, 40, 0, bytes(16, 5));
        w.call(); // 2: given, then failed in part
        w.read(1, 0, 41, 0, bytes(16, 6));
        w.failed(1, 0, 41, 4, 1);
        w.call(); // 3: given twice with the same bytes (a re-read): served from the first
        w.read(1, 0, 42, 0, bytes(16, 7));
        w.read(1, 0, 42, 8, java.util.Arrays.copyOfRange(bytes(16, 7), 8, 16));
        byte[] t = w.end();
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> ps.add(new Probe(1, 39 + seq, 0, 16, false));
        List<String> log = answers(t, true, probes, new ReplayMemory[1]);
        assertEquals("1 " + new Probe(1, 40, 0, 16, false) + " 000000" + HexFormat.of().formatHex(bytes(16, 5)),
                log.get(0));
        assertTrue(log.get(1).contains(" failed"), log.get(1));
        assertEquals("3 " + new Probe(1, 42, 0, 16, false) + " 000000" + HexFormat.of().formatHex(bytes(16, 7)),
                log.get(2));
        assertSameAnswers(t, probes, 1, 2);
    }

    /**
     * The reader tells the memory whether a call's records name a common byte: ranges of one page
     * that only touch are served from the records (none can change another); ranges overlapping
     * by a single byte, or a failed read of one byte inside a later record's range, still give the
     * image's answer (the later record decides).
     */
    @Test
    void touchingRangesAreServedFromTheRecordsAndOneByteOfOverlapStillDecides() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call(); // 1: [0,16) and [16,32) of one page, and the same range of another domain's page
        w.read(1, 0, 40, 0, bytes(16, 1));
        w.read(1, 0, 40, 16, bytes(16, 2));
        w.read(2, 0, 40, 0, bytes(16, 3));
        w.call(); // 2: [0,16) then [15,31) with other bytes: byte 15 is the second record's
        w.read(1, 0, 41, 0, bytes(16, 4));
        w.read(1, 0, 41, 15, bytes(16, 5));
        w.call(); // 3: [0,16) then a failed read of byte 15 alone
        w.read(1, 0, 42, 0, bytes(16, 6));
        w.failed(1, 0, 42, 15, 1);
        byte[] t = w.end();
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
            long f = 39 + seq;
            ps.add(new Probe(1, f, 0, 16, false));
            if (seq == 1) {
                ps.add(new Probe(1, f, 16, 16, true));
                ps.add(new Probe(2, f, 0, 16, false));
            }
        };
        ReplayMemory[] used = new ReplayMemory[1];
        List<String> log = answers(t, Mode.IN_MEMORY, probes, used);
        assertEquals(5, log.size(), log.toString());
        assertEquals(3, used[0].served, "call 1's three reads from the records");
        assertEquals(2, used[0].throughImage, "calls 2 and 3 by the image");
        byte[] second = bytes(16, 5);
        assertTrue(log.get(3).endsWith(HexFormat.of().formatHex(bytes(16, 4), 0, 15)
                + HexFormat.of().formatHex(second, 0, 1)), log.get(3));
        assertTrue(log.get(4).contains(" failed"), log.get(4));
        assertSameAnswers(t, probes, 3, 2);
    }

    /**
     * Random traces over a few pages (reads, failed reads, phase-1 reads, re-reads) and a probe
     * that mostly reads what each call's records give, in order, sometimes skipping, repeating,
     * re-reading older ranges or reading ranges never given: the in-memory answers equal the
     * image's, every one.
     */
    @Test
    void randomTracesAndProbesGiveTheImagesAnswersEveryTime() throws IOException {
        for (int round = 0; round < 40; round++) {
            Random r = new Random(round);
            TraceWriter w = new TraceWriter();
            List<List<Probe>> byCall = new ArrayList<>();
            byCall.add(new ArrayList<>()); // calls count from 1
            List<Probe> older = new ArrayList<>();
            for (int c = 0; c < 60; c++) {
                w.call();
                List<Probe> group = new ArrayList<>();
                int k = r.nextInt(6);
                for (int i = 0; i < k; i++) {
                    int dom = 1 + r.nextInt(2);
                    long frame = 10 + r.nextInt(3);
                    int off = r.nextInt(4) == 0 ? r.nextInt(4096 - 64) : 64 * r.nextInt(4);
                    int len = 1 + r.nextInt(r.nextBoolean() ? 16 : 64);
                    int phase = r.nextInt(10) == 0 ? 1 : 0;
                    if (r.nextInt(5) == 0) {
                        w.failed(dom, phase, frame, off, len);
                    } else {
                        w.read(dom, phase, frame, off, bytes(len, r.nextInt(3)));
                    }
                    group.add(new Probe(dom, frame, off, len, r.nextInt(4) == 0));
                }
                List<Probe> ps = new ArrayList<>();
                for (Probe p : group) {
                    int what = r.nextInt(10);
                    if (what == 0) {
                        continue; // skipped
                    }
                    ps.add(p);
                    if (what == 1) {
                        ps.add(p); // read twice
                    } else if (what == 2 && !older.isEmpty()) {
                        ps.add(older.get(r.nextInt(older.size())));
                    } else if (what == 3) {
                        ps.add(new Probe(p.domid(), p.frame(), Math.max(0, p.offset() - 1), p.len(), false));
                    }
                }
                if (r.nextInt(8) == 0) {
                    java.util.Collections.shuffle(ps, r);
                }
                older.addAll(group);
                byCall.add(ps);
            }
            byte[] t = w.end();
            assertSameAnswers(t, (seq, ps) -> ps.addAll(byCall.get((int) (long) seq)), 1, 1);
        }
    }

    @Test
    void aCallWhoseRecordsOutgrowTheStreamWindowIsAnsweredByTheImage() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call(); // 1: a small read, then two records of a type this reader skips, a MiB each, then reads
        w.read(1, 0, 40, 0, bytes(16, 8));
        w.record(99, new byte[Trace.MAX_BODY]);
        w.record(99, new byte[Trace.MAX_BODY]);
        w.read(1, 0, 41, 0, bytes(16, 9));
        w.failed(1, 0, 40, 4, 4);
        w.call(); // 2: a small group again
        w.read(1, 0, 42, 0, bytes(16, 10));
        byte[] t = w.end();
        BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
            ps.add(new Probe(1, 40, 0, 16, false));
            ps.add(new Probe(1, 41, 0, 16, false));
            ps.add(new Probe(1, 42, 0, 16, true));
        };
        List<String> reference = answers(t, Mode.APPLYING_EVERY_RECORD, probes, new ReplayMemory[1]);
        assertTrue(reference.get(0).contains(" failed"), reference.get(0));
        assertTrue(!reference.get(1).contains(" failed"), reference.get(1));
        assertTrue(reference.get(2).contains(" failed"), reference.get(2)); // given only after call 1
        for (Mode m : new Mode[] {Mode.STREAM, Mode.TRICKLE, Mode.IN_MEMORY}) {
            ReplayMemory[] used = new ReplayMemory[1];
            assertEquals(reference, answers(t, m, probes, used), m.toString());
            // in memory, call 1's own records answer its read of frame 41; from a stream they are gone
            assertEquals(m == Mode.IN_MEMORY ? 2 : 1, used[0].served, m.toString());
        }
    }

    @Test
    void pageLimitRefusesTheTraceAtTheSameRecordWithoutBuildingTheImage() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call();
        long limitAt = 0;
        for (int i = 0; i <= TraceStore.MAX_PAGES; i++) {
            if (i == TraceStore.MAX_PAGES) {
                limitAt = w.out.size();
            }
            w.read(1, 0, 1000 + i, 0, new byte[1]);
        }
        byte[] t = w.end();
        long at = limitAt;
        IOException e = assertThrows(IOException.class, () -> Trace.replay(t, "big.trace", true,
                mem -> c -> { }));
        assertEquals("big.trace: offset " + at + ": trace touches more than " + TraceStore.MAX_PAGES + " pages",
                e.getMessage());
    }

    /** The real Xen trace (an older tap recorded it) replays the same in memory as from the stream. */
    @Test
    void realXenTraceReplaysInMemoryAsFromTheStreamMostReadsServedFromTheRecords() throws IOException {
        byte[] t;
        try (InputStream in = new XZInputStream(getClass().getResourceAsStream(RealXenTraceTest.DIR + "trace.bin.xz"))) {
            t = in.readAllBytes();
        }
        List<Bench.Seen> fromStream = new ArrayList<>(), inMemory = new ArrayList<>();
        Tap[] taps = new Tap[2];
        ReplayMemory[] used = new ReplayMemory[1];
        Trace.Summary s1 = Trace.replay(new ByteArrayInputStream(t), "trace.bin",
                mem -> taps[0] = new Tap(mem, Bench.collector(fromStream), a -> { }));
        Trace.Summary s2 = Trace.replay(t, "trace.bin", true, mem -> {
            used[0] = (ReplayMemory) mem;
            return taps[1] = new Tap(mem, Bench.collector(inMemory), a -> { });
        });
        assertEquals(s1, s2);
        assertEquals(TraceTest.frames(fromStream), TraceTest.frames(inMemory));
        assertTrue(fromStream.size() > 100, "frames " + fromStream.size());
        assertEquals(taps[0].counters(), taps[1].counters());
        assertEquals(taps[0].failedReads(), taps[1].failedReads());
        assertTrue(used[0].served > 4 * used[0].throughImage, used[0].served + " served, "
                + used[0].throughImage + " through the image");
    }
}
