package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenids.tap.ReplayMemoryTest.answers;
import static org.xenids.tap.ReplayMemoryTest.assertSameAnswers;
import static org.xenids.tap.ReplayMemoryTest.bytes;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.xenids.tap.ReplayMemoryTest.Mode;
import org.xenids.tap.ReplayMemoryTest.Probe;

/**
 * Replay of calls of many records (a busy ring's): one whose reads may not overlap is served from
 * its records, whatever its size; one whose reads may is searched read by read up to 64 records,
 * and a larger one is answered by the image.
 * Every answer is compared with the image's ({@link ReplayMemoryTest} has the helpers).
 */
class ReplayMemoryLargeCallsTest {

    /**
     * A busy call reads many slots of a ring page in ascending order and many packet pages: no two
     * of its reads overlap, so all of them are served from the records, beyond the size up to
     * which a group is scanned for overlaps read by read. The same call with one read meeting an
     * earlier one (a re-read of a slot with other bytes) is answered by the image, every read.
     */
    @Test
    void aLargeCallWhoseReadsDoNotOverlapIsServedFromItsRecords() throws IOException {
        int n = 3 * ReplayMemory.MAX_GROUP;
        for (boolean overlap : new boolean[] {false, true}) {
            TraceWriter w = new TraceWriter();
            w.call();
            List<Probe> ps = new ArrayList<>();
            w.read(1, 0, 9, 0, bytes(16, 1)); // the ring's indexes
            ps.add(new Probe(1, 9, 0, 16, false));
            for (int i = 0; i < n; i++) {
                int slot = 64 + 8 * i;
                w.read(1, 0, 9, slot, bytes(8, 100 + i));
                ps.add(new Probe(1, 9, slot, 8, i % 2 == 0));
                w.read(0, 0, 1000 + i, 2, bytes(64, 1000 + i));
                ps.add(new Probe(0, 1000 + i, 2, 64, false));
            }
            if (overlap) {
                w.read(1, 0, 9, 64, bytes(8, 7)); // slot 0 again, other bytes: the image holds these
            }
            byte[] t = w.end();
            ReplayMemory[] used = new ReplayMemory[1];
            List<String> log = answers(t, Mode.IN_MEMORY, (seq, list) -> list.addAll(ps), used);
            assertEquals(ps.size(), log.size(), log.toString());
            assertEquals(overlap ? 0 : ps.size(), used[0].served, "overlap " + overlap);
            assertEquals(overlap ? ps.size() : 0, used[0].throughImage, "overlap " + overlap);
            String slot0 = HexFormat.of().formatHex(bytes(8, overlap ? 7 : 100));
            assertTrue(log.get(1).endsWith(slot0), log.get(1));
            assertSameAnswers(t, (seq, list) -> list.addAll(ps), overlap ? 0 : ps.size(), overlap ? ps.size() : 0);
        }
    }

    /**
     * A busy RX call reads a ring's slots to the ring's end and on from its first slot (the ring
     * wrapped): its reads still do not overlap, and all are served from the records. The same call
     * reading on into the first slot it read, or naming a page in more separate runs of bytes than
     * the check keeps ({@link GroupOverlap#RUNS}), is answered by the image: the same answers.
     */
    @Test
    void aRingReadPastItsEndAndFromItsFirstSlotIsServedFromItsRecords() throws IOException {
        for (String variant : new String[] {"wrapped", "wrapped onto its first read", "too many runs"}) {
            TraceWriter w = new TraceWriter();
            w.call();
            List<Probe> ps = new ArrayList<>();
            w.read(1, 0, 9, 0, bytes(16, 1)); // the ring's indexes
            ps.add(new Probe(1, 9, 0, 16, false));
            // 120 slots from slot 200 wrap at 256; 257 come back to slot 200; 40 every other slot never touch.
            int first = 200, slots = variant.equals("wrapped") ? 120 : variant.startsWith("wrapped") ? 257 : 40;
            int stride = variant.equals("too many runs") ? 2 : 1;
            for (int i = 0; i < slots; i++) {
                int slot = 64 + 8 * ((first + stride * i) % 256);
                w.read(1, 0, 9, slot, bytes(8, 100 + i));
                ps.add(new Probe(1, 9, slot, 8, false));
                w.read(0, 0, 1000 + i, 2, bytes(64, 1000 + i));
                ps.add(new Probe(0, 1000 + i, 2, 64, false));
            }
            byte[] t = w.end();
            boolean served = variant.equals("wrapped");
            ReplayMemory[] used = new ReplayMemory[1];
            List<String> log = answers(t, Mode.IN_MEMORY, (seq, list) -> list.addAll(ps), used);
            assertEquals(ps.size(), log.size(), variant);
            assertEquals(served ? ps.size() : 0, used[0].served, variant);
            assertEquals(served ? 0 : ps.size(), used[0].throughImage, variant);
            assertSameAnswers(t, (seq, list) -> list.addAll(ps), served ? ps.size() : 0, served ? 0 : ps.size());
        }
    }

    /**
     * As {@link ReplayMemoryTest#randomTracesAndProbesGiveTheImagesAnswersEveryTime}, with calls of many records:
     * some whose reads are disjoint (ascending slots, one page per packet), some with reads that
     * overlap at random, above and below the size up to which groups are scanned read by read.
     */
    @Test
    void randomLargeCallsGiveTheImagesAnswersEveryTime() throws IOException {
        for (int round = 0; round < 30; round++) {
            Random r = new Random(1000 + round);
            TraceWriter w = new TraceWriter();
            List<List<Probe>> byCall = new ArrayList<>();
            byCall.add(new ArrayList<>());
            for (int c = 0; c < 12; c++) {
                w.call();
                int k = 1 + r.nextInt(3 * ReplayMemory.MAX_GROUP);
                boolean disjoint = r.nextBoolean();
                List<Probe> group = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    int dom = disjoint ? 1 : 1 + r.nextInt(2);
                    long frame = disjoint ? (i % 2 == 0 ? 9 : 100 + i) : 10 + r.nextInt(3);
                    int len = disjoint ? 8 : 1 + r.nextInt(64);
                    int off = disjoint ? 8 * i % (4096 - 8) : r.nextInt(4096 - len);
                    if (r.nextInt(disjoint ? 20 : 5) == 0) {
                        w.failed(dom, 0, frame, off, len);
                    } else {
                        w.read(dom, 0, frame, off, bytes(len, r.nextInt(disjoint ? 1000 : 3)));
                    }
                    group.add(new Probe(dom, frame, off, len, r.nextInt(4) == 0));
                }
                List<Probe> ps = new ArrayList<>();
                for (Probe p : group) {
                    int what = r.nextInt(20);
                    if (what != 0) {
                        ps.add(p);
                    }
                    if (what == 1) {
                        ps.add(p);
                    } else if (what == 2) {
                        ps.add(new Probe(p.domid(), p.frame(), Math.max(0, p.offset() - 1), p.len(), false));
                    }
                }
                byCall.add(ps);
            }
            byte[] t = w.end();
            assertSameAnswers(t, (seq, ps) -> ps.addAll(byCall.get((int) (long) seq)), 1, 1);
        }
    }

    /**
     * A call of more than 64 records of which two overlap is answered by the image, even for a read
     * of a page no other record names; at 64 records the read is served from its own record.
     */
    @Test
    void aCallWithMoreThan64RecordsSomeOverlappingIsAnsweredByTheImage() throws IOException {
        for (int k : new int[] {ReplayMemory.MAX_GROUP, ReplayMemory.MAX_GROUP + 1}) {
            TraceWriter w = new TraceWriter();
            w.call();
            for (int i = 0; i < k - 1; i++) {
                w.read(1, 0, 40 + i, 0, bytes(8, i));
            }
            w.read(1, 0, 41, 4, bytes(8, 999)); // overlaps the record of frame 41
            w.call();
            byte[] t = w.end();
            BiConsumer<Long, List<Probe>> probes = (seq, ps) -> {
                if (seq == 1) {
                    ps.add(new Probe(1, 40, 0, 8, false));
                }
            };
            List<String> reference = answers(t, Mode.APPLYING_EVERY_RECORD, probes, new ReplayMemory[1]);
            for (Mode m : new Mode[] {Mode.STREAM, Mode.IN_MEMORY}) {
                ReplayMemory[] used = new ReplayMemory[1];
                assertEquals(reference, answers(t, m, probes, used), m + " " + k);
                assertEquals(k <= ReplayMemory.MAX_GROUP ? 1 : 0, used[0].served, m + " " + k);
            }
        }
    }

    /**
     * A failed read of a page no READ record has named yet cannot be told apart by page, so a large
     * call holding one is answered by the image: here a later READ of the same bytes decides what
     * the image holds. The same failed read of a page an earlier call's READ named is tracked, and
     * the call, whose records do not overlap, is served from its records.
     */
    @Test
    void aFailedReadOfAPageNoReadHasNamedMakesALargeCallGoThroughTheImage() throws IOException {
        for (boolean named : new boolean[] {false, true}) {
            TraceWriter w = new TraceWriter();
            if (named) {
                w.call();
                w.read(1, 0, 77, 64, bytes(8, 5)); // names page 77, bytes the second call does not touch
            }
            w.call();
            w.failed(1, 0, 77, 0, 8);
            List<Probe> ps = new ArrayList<>();
            ps.add(new Probe(1, 77, 0, 8, false));
            for (int i = 0; i < 2 * ReplayMemory.MAX_GROUP; i++) {
                w.read(1, 0, 1000 + i, 0, bytes(8, i));
                ps.add(new Probe(1, 1000 + i, 0, 8, false));
            }
            if (!named) {
                w.read(1, 0, 77, 0, bytes(8, 3)); // the same bytes given after all: the image holds them
            }
            byte[] t = w.end();
            long call = named ? 2 : 1;
            BiConsumer<Long, List<Probe>> probes = (seq, list) -> {
                if (seq == call) {
                    list.addAll(ps);
                }
            };
            ReplayMemory[] used = new ReplayMemory[1];
            List<String> log = answers(t, Mode.IN_MEMORY, probes, used);
            assertEquals(named ? ps.size() : 0, used[0].served, "named " + named);
            assertEquals(named ? 0 : ps.size(), used[0].throughImage, "named " + named);
            assertEquals(!named, log.get(0).endsWith(HexFormat.of().formatHex(bytes(8, 3))), log.get(0));
            assertEquals(named, log.get(0).contains(" failed"), log.get(0));
            assertSameAnswers(t, probes, named ? ps.size() : 0, named ? 0 : ps.size());
        }
    }

    /**
     * A busy TX copy call as netback makes one: the ring's indexes and slots, then each backend
     * page given as two separate packets' heads (its second half, then its first). Every page but
     * the packets' is read in two runs, many more pages so than a call has rings; none overlap, so
     * every read is served from its records (a call of 113 records).
     */
    @Test
    void aCallGivingManyPagesInTwoRunsEachIsServedFromItsRecords() throws IOException {
        TraceWriter w = new TraceWriter();
        w.call();
        List<Probe> ps = new ArrayList<>();
        w.read(1, 0, 8, 0, bytes(16, 1)); // the ring's indexes
        ps.add(new Probe(1, 8, 0, 16, false));
        for (int i = 0; i < 32; i++) {
            w.read(1, 0, 8, 844 + 12 * i, bytes(12, 10 + i)); // 32 TX requests from slot 65
            ps.add(new Probe(1, 8, 844 + 12 * i, 12, false));
        }
        for (int i = 0; i < 40; i++) {
            w.read(0, 0, 400 - i, 2112, bytes(64, 500 + i));
            ps.add(new Probe(0, 400 - i, 2112, 64, false));
            w.read(0, 0, 400 - i, 64, bytes(64, 600 + i));
            ps.add(new Probe(0, 400 - i, 64, 64, i % 2 == 0));
        }
        byte[] t = w.end();
        ReplayMemory[] used = new ReplayMemory[1];
        List<String> log = answers(t, Mode.IN_MEMORY, (seq, list) -> list.addAll(ps), used);
        assertEquals(ps.size(), log.size());
        assertEquals(ps.size(), used[0].served);
        assertEquals(0, used[0].throughImage);
        assertSameAnswers(t, (seq, list) -> list.addAll(ps), ps.size(), 0);
    }

    /**
     * A call naming more than 2^16 pages in three separate runs each keeps every page's runs
     * apart: the last page's read of a range it was already given, with other bytes, is found
     * overlapping (a page told apart by a 16-bit entry number would take the runs of another, find
     * no overlap, and answer the read from its first record instead of the image's later bytes).
     */
    @Test
    void aCallOfMoreThan65536PagesInThreeRunsKeepsEveryPageApart() throws IOException {
        int pages = (1 << 16) + 2;
        TraceWriter w = new TraceWriter();
        w.call();
        byte[] some = bytes(8, 1);
        for (int p = 0; p < pages; p++) {
            int base = p == pages - 1 ? 2000 : 0;
            for (int run = 0; run < 3; run++) {
                w.read(1, 0, 5000 + p, base + 16 * run, some);
            }
        }
        w.read(1, 0, 5000 + pages - 1, 2016, bytes(8, 77)); // the last page's second run again, other bytes
        byte[] t = w.end();
        // The tap reads every record in order, so each read could be answered from its own record.
        List<Probe> all = new ArrayList<>();
        for (int p = 0; p < pages; p++) {
            int base = p == pages - 1 ? 2000 : 0;
            for (int run = 0; run < 3; run++) {
                all.add(new Probe(1, 5000 + p, base + 16 * run, 8, false));
            }
        }
        ReplayMemory[] used = new ReplayMemory[1];
        List<String> log = answers(t, Mode.IN_MEMORY, (seq, ps) -> ps.addAll(all), used);
        String second = log.get(3 * (pages - 1) + 1);
        assertTrue(second.endsWith(HexFormat.of().formatHex(bytes(8, 77))), second);
        assertEquals(0, used[0].served);
        assertEquals(all.size(), used[0].throughImage);
    }
}
