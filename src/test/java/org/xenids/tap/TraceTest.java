package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.Xen;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.HypercallListener;

/** A recorded trace replays to the same frames, and a damaged one fails naming where. */
class TraceTest {

    static byte[] recordedTraffic(List<Bench.Seen> liveOut) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Bench b = new Bench(out);
        b.guestOrdered(1, TapFramesTest.MAC1, 1);
        b.guestOrdered(2, TapFramesTest.MAC2, 1);
        byte[] m1 = Bench.mac(TapFramesTest.MAC1);
        byte[] m2 = Bench.mac(TapFramesTest.MAC2);
        int seed = 0;
        for (int n : new int[] {60, 128, 129, 1514, 4097, 9000}) {
            b.send(1, Bench.frame(TapFramesTest.GW, m1, n, seed++), 0, 0);
            b.fromOutside(Bench.frame(m1, TapFramesTest.GW, n, seed++), 0);
            b.send(2, Bench.frame(m1, m2, n, seed++), 0, 0);
        }
        b.send(1, Bench.frame(TapFramesTest.GW, m1, 40000, seed++), 1448, Xen.XEN_NETIF_GSO_TYPE_TCPV4);
        b.recorder.close();
        liveOut.addAll(b.tapped);
        TapFramesTest.assertSame(b.delivered, b.tapped);
        return out.toByteArray();
    }

    @Test
    void replayedTraceGivesTheFramesTheLiveTapGave() throws IOException {
        List<Bench.Seen> live = new ArrayList<>();
        byte[] trace = recordedTraffic(live);
        List<Bench.Seen> replayed = new ArrayList<>();
        Tap[] tap = new Tap[1];
        Trace.Summary s = Trace.replay(new ByteArrayInputStream(trace), "t.trace",
                mem -> tap[0] = new Tap(mem, Bench.collector(replayed), a -> { }));
        assertTrue(s.ended());
        assertTrue(s.calls() > 0);
        assertEquals(live.size(), replayed.size());
        for (int i = 0; i < live.size(); i++) {
            assertEquals(live.get(i).domid(), replayed.get(i).domid());
            assertEquals(live.get(i).direction(), replayed.get(i).direction());
            assertEquals(live.get(i).peer(), replayed.get(i).peer());
            assertTrue(Arrays.equals(live.get(i).bytes(), replayed.get(i).bytes()), "frame " + i);
        }
        assertEquals(0, tap[0].failedReads());
    }

    static String fail(byte[] trace) {
        IOException e = assertThrows(IOException.class, () -> Trace.replay(new ByteArrayInputStream(trace),
                "bad.trace", mem -> new Tap(mem, (b, o, l, d, v, q, dir, p, t) -> { }, a -> { })));
        return e.getMessage();
    }

    @Test
    void damagedTracesFailNamingFileAndOffset() throws IOException {
        byte[] good = recordedTraffic(new ArrayList<>());
        byte[] t = Arrays.copyOf(good, good.length - 3);
        assertTrue(fail(t).matches("bad\\.trace: offset \\d+: truncated record body.*"), fail(t));
        t = good.clone();
        t[Trace.HEADER + 20] ^= 1;
        assertEquals("bad.trace: offset 32: record checksum mismatch (type " + (good[32]) + ")", fail(t));
        t = good.clone();
        t[0] = 'Y';
        assertEquals("bad.trace: offset 0: not a xenids tap trace (bad magic)", fail(t));
        t = good.clone();
        t[Trace.HEADER + 4] = (byte) 0xff;
        t[Trace.HEADER + 7] = (byte) 0x7f;
        assertTrue(fail(t).startsWith("bad.trace: offset 32: record length"), fail(t));
        t = Arrays.copyOf(good, 20);
        assertEquals("bad.trace: offset 0: truncated file header (20 of 32 bytes)", fail(t));
        t = Arrays.copyOf(good, good.length + 1);
        assertTrue(fail(t).endsWith("data after the end record"), fail(t));
    }

    @Test
    void readOfAFrameNumberPast2To44FailsNamingItsOffset() throws IOException {
        byte[] good = recordedTraffic(new ArrayList<>());
        // The first READ record: its frame set to 2^44 + its frame, checksum redone.
        int at = Trace.HEADER;
        while (good[at] != Trace.T_READ) {
            at += Trace.REC_HEAD + le32(good, at + 4) + 4;
        }
        byte[] t = good.clone();
        t[at + Trace.REC_HEAD + 8 + 5] |= 0x10; // bit 44 of the little-endian frame
        int len = le32(t, at + 4);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(t, at, Trace.REC_HEAD + len);
        int crc = (int) c.getValue();
        for (int i = 0; i < 4; i++) {
            t[at + Trace.REC_HEAD + len + i] = (byte) (crc >>> 8 * i);
        }
        assertTrue(fail(t).matches("bad\\.trace: offset " + at + ": frame number \\d+ is not below 2\\^44"), fail(t));
    }

    @Test
    void aReadWhoseOffsetPlusLengthOverflowsFailsNamingItsOffset() throws IOException {
        // Offset 2^31 - 1 and 8 bytes: the sum wraps to a negative int, which must not pass as inside the page.
        TraceWriter w = new TraceWriter();
        w.call();
        int at = w.out.size();
        w.read(1, 0, 5, Integer.MAX_VALUE, new byte[8]);
        byte[] t = w.end();
        String want = "bad.trace: offset " + at + ": read of 8 bytes at page offset 2147483647 leaves the page";
        assertEquals(want, fail(t));
        Trace.FormatException inMemory = assertThrows(Trace.FormatException.class, () -> Trace.replay(t, "bad.trace", true,
                mem -> new Tap(mem, (b, o, l, d, v, q, dir, p, ts) -> { }, a -> { })));
        assertEquals(want, inMemory.getMessage());
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    @Test
    void everyTruncationPointFailsCleanlyOrEndsEarly() throws IOException {
        byte[] good = recordedTraffic(new ArrayList<>());
        // Cutting anywhere either fails with a located message or (at a record boundary) ends without the end record.
        for (int cut = 0; cut < good.length; cut += Math.max(1, good.length / 300)) {
            byte[] t = Arrays.copyOf(good, cut);
            try {
                Trace.Summary s = Trace.replay(new ByteArrayInputStream(t), "cut.trace",
                        mem -> new Tap(mem, (b, o, l, d, v, q, dir, p, ts) -> { }, a -> { }));
                assertTrue(!s.ended());
            } catch (Trace.FormatException e) {
                assertTrue(e.getMessage().startsWith("cut.trace: offset "), e.getMessage());
            }
        }
    }

    /** One way of replaying a trace, given the tap to drive. */
    interface Replay {
        Trace.Summary run(Function<DomainMemory, HypercallListener> tap) throws IOException;
    }

    /** A replay's outcome: its summary and the frames the tap rebuilt, or the error message. */
    static String outcome(Replay replay) {
        List<Bench.Seen> seen = new ArrayList<>();
        try {
            Trace.Summary s = replay.run(mem -> new Tap(mem, Bench.collector(seen), a -> { }));
            return s + " " + frames(seen);
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** The in-memory replay, parsed where it lies. */
    static String inMemory(byte[] trace, boolean verify) {
        return outcome(tap -> Trace.replay(trace, "bad.trace", verify, tap));
    }

    /** The replay as the format states it (every record applied as met), from a stream. */
    static String fromStream(byte[] trace) {
        return outcome(tap -> Trace.replayApplyingEveryRecord(new ByteArrayInputStream(trace), "bad.trace", tap));
    }

    /** The replay of a stream through the reader's window, reads answered lazily. */
    static String windowed(byte[] trace) {
        return outcome(tap -> Trace.replay(ReplayMemoryTest.trickle(trace), "bad.trace", tap));
    }

    static String frames(List<Bench.Seen> seen) {
        StringBuilder b = new StringBuilder();
        for (Bench.Seen f : seen) {
            b.append(f.domid()).append('/').append(f.direction()).append('/').append(f.peer()).append(':')
                    .append(Arrays.hashCode(f.bytes())).append(',');
        }
        return b.toString();
    }

    @Test
    void inMemoryReplayParsedInPlaceMatchesTheStreamReplayOnGoodAndDamagedTraces() throws IOException {
        byte[] good = recordedTraffic(new ArrayList<>());
        assertEquals(fromStream(good), inMemory(good, true));
        assertEquals(fromStream(good), inMemory(good, false));
        assertEquals(fromStream(good), windowed(good));
        List<byte[]> bad = new ArrayList<>();
        for (int cut = 0; cut < good.length; cut += Math.max(1, good.length / 200)) {
            bad.add(Arrays.copyOf(good, cut));
        }
        bad.add(Arrays.copyOf(good, good.length + 1));
        Random r = new Random(3);
        for (int i = 0; i < 200; i++) {
            byte[] t = good.clone();
            t[Trace.HEADER + r.nextInt(good.length - Trace.HEADER)] ^= (byte) (1 << r.nextInt(8));
            bad.add(t);
        }
        for (byte[] t : bad) {
            String stream = fromStream(t);
            assertTrue(stream.startsWith("bad.trace: offset ") || stream.startsWith("Summary["), stream);
            assertEquals(stream, inMemory(t, true), "trace of " + t.length + " bytes");
            assertEquals(stream, windowed(t), "trace of " + t.length + " bytes");
        }
    }
}
