package org.xenids.tap;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xenids.pcap.CaptureReader;

/**
 * A real Xen lab run ({@code xenids xen lab run}: trace.bin and vif.pcap) replayed through the
 * tap and compared with dom0's capture of the guest's vif, per direction. Frames are paired in
 * order first (longest common subsequence, so repeated identical frames such as MLD reports pair
 * with the right capture), then any left over by content (a reordering). A captured RX frame that
 * no rebuilt frame pairs with and that dom0 captured before the frame the guest's RX ring carried
 * first is reported apart, as {@code beforeRing}: netback hands frames to the ring in the order
 * its device transmitted them (when tcpdump saw them), so such a frame never reached the ring
 * (netback drops what its vif transmits before the frontend connected).
 */
public final class LabRun {
    /** The lab guest's MAC (scripts/xen-lab.d/guest.cfg): frames from it are the guest's TX. */
    public static final byte[] GUEST_MAC = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
    public static final int GUEST = 1;

    /** A captured frame: its position among the direction's captured frames, bytes, capture time. */
    public record Captured(int index, byte[] bytes, long timestampNanos) {}

    /**
     * One direction: {@code missing} were captured but not rebuilt (and not before the ring),
     * {@code beforeRing} captured before the ring's first frame and not rebuilt (RX only),
     * {@code extra} rebuilt but never captured; {@code reordered} pairs made by content only.
     */
    public record Direction(int captured, int rebuilt, int matched, int reordered, List<Captured> missing,
                            List<Captured> beforeRing, List<byte[]> extra, List<byte[]> afterCapture,
                            long firstCapturedNanos) {}

    /** {@code rings}: the tap's rings when the guest's first frame came (a run ends with the guest shut down). */
    public record Result(Direction tx, Direction rx, Trace.Summary trace, List<Tap.Ring> rings,
                         Tap.RejectedPairs rejected, Tap.Counters guest, List<Object> anomalies, long failedReads) {}

    private LabRun() {}

    /** Replays {@code trace} through a tap and compares the guest's frames with {@code pcap}. */
    public static Result compare(InputStream trace, String traceName, InputStream pcap, String pcapName) throws IOException {
        List<List<Captured>> want = List.of(new ArrayList<>(), new ArrayList<>());
        try (CaptureReader r = CaptureReader.open(pcap, pcapName)) {
            while (r.next()) {
                if (r.originalLength() != r.capturedLength()) {
                    throw new IOException(pcapName + ": frame " + r.records() + " truncated by the capture");
                }
                byte[] f = Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + r.capturedLength());
                List<Captured> d = want.get(Arrays.equals(f, 6, 12, GUEST_MAC, 0, 6) ? Tap.TX : Tap.RX);
                d.add(new Captured(d.size(), f, r.timestampNanos()));
            }
        }
        List<List<byte[]>> got = List.of(new ArrayList<>(), new ArrayList<>());
        List<Object> anomalies = new ArrayList<>();
        Tap[] tap = new Tap[1];
        List<List<Tap.Ring>> rings = new ArrayList<>();
        Trace.Summary s = Trace.replay(trace, traceName, mem -> {
            tap[0] = new Tap(mem, (buf, off, len, domid, vif, queue, direction, peer, ts) -> {
                if (domid == GUEST) {
                    if (rings.isEmpty()) {
                        rings.add(tap[0].rings());
                    }
                    got.get(direction).add(Arrays.copyOfRange(buf, off, off + len));
                }
            }, anomalies::add);
            return tap[0];
        });
        Tap.Counters guest = tap[0].counters().stream().filter(c -> c.domid() == GUEST).findFirst().orElse(null);
        return new Result(direction(want.get(Tap.TX), got.get(Tap.TX), false),
                direction(want.get(Tap.RX), got.get(Tap.RX), true), s, rings.isEmpty() ? List.of() : rings.get(0),
                tap[0].rejectedPairs(), guest,
                anomalies, tap[0].failedReads());
    }

    private static Direction direction(List<Captured> want, List<byte[]> got, boolean rx) {
        int n = want.size(), m = got.size();
        int[] pairOfWant = new int[n];
        boolean[] gotUsed = new boolean[m];
        Arrays.fill(pairOfWant, -1);
        // longest common subsequence of the two frame sequences (a few hundred frames each)
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = Arrays.equals(want.get(i).bytes(), got.get(j))
                        ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // Walked so that a captured frame is left unpaired as early as the pairing allows: dom0
        // repeats identical frames (MLD reports) before and after the ring connects, and the copy
        // the ring carried is the later one; the earlier ones are "before the ring".
        int matched = 0;
        for (int i = 0, j = 0; i < n && j < m; ) {
            if (Arrays.equals(want.get(i).bytes(), got.get(j)) && lcs[i][j] == lcs[i + 1][j + 1] + 1
                    && lcs[i + 1][j] < lcs[i][j]) {
                pairOfWant[i++] = j;
                gotUsed[j++] = true;
                matched++;
            } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
                i++;
            } else {
                j++;
            }
        }
        int reordered = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m && pairOfWant[i] < 0; j++) {
                if (!gotUsed[j] && Arrays.equals(want.get(i).bytes(), got.get(j))) {
                    pairOfWant[i] = j;
                    gotUsed[j] = true;
                    reordered++;
                }
            }
        }
        // the capture position of the frame the ring carried first (the tap's first rebuilt frame)
        int firstOnRing = n;
        for (int i = 0; i < n; i++) {
            if (pairOfWant[i] == 0) {
                firstOnRing = i;
            }
        }
        List<Captured> missing = new ArrayList<>(), before = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (pairOfWant[i] < 0) {
                (rx && i < firstOnRing ? before : missing).add(want.get(i));
            }
        }
        // tcpdump is stopped before the machine is: what the ring carried after the last frame it
        // captured is "after the capture", not extra (dom0 and the guest keep sending router
        // solicitations and MLD reports until shutdown).
        int lastPaired = -1;
        for (int j = 0; j < m; j++) {
            lastPaired = gotUsed[j] ? j : lastPaired;
        }
        List<byte[]> extra = new ArrayList<>(), after = new ArrayList<>();
        for (int j = 0; j < m; j++) {
            if (!gotUsed[j]) {
                (j > lastPaired ? after : extra).add(got.get(j));
            }
        }
        return new Direction(n, m, matched + reordered, reordered, missing, before, extra, after,
                n == 0 ? Long.MAX_VALUE : want.get(0).timestampNanos());
    }

    /** Whether a frame is link-local chatter: to an IPv6 multicast MAC (33:33:…) or the broadcast MAC. */
    public static boolean chatter(byte[] f) {
        return f.length >= 6 && (f[0] == 0x33 && f[1] == 0x33 || Arrays.equals(f, 0, 6, new byte[] {-1, -1, -1, -1, -1, -1}, 0, 6));
    }

    /** One line per direction for a failure message. */
    public static String describe(Result r) {
        StringBuilder b = new StringBuilder();
        for (int d : new int[] {Tap.TX, Tap.RX}) {
            Direction x = d == Tap.TX ? r.tx() : r.rx();
            b.append(d == Tap.TX ? "TX" : "RX").append(": captured ").append(x.captured()).append(", rebuilt ")
                    .append(x.rebuilt()).append(", paired ").append(x.matched()).append(" (").append(x.reordered())
                    .append(" out of order), missing");
            for (Captured c : x.missing()) {
                b.append(" #").append(c.index()).append(" (").append(c.bytes().length).append(" B)");
            }
            b.append(", before the ring");
            for (Captured c : x.beforeRing()) {
                b.append(" #").append(c.index()).append(" (").append(c.bytes().length).append(" B)");
            }
            b.append(", extra ").append(x.extra().size()).append(", after the capture ").append(x.afterCapture().size()).append("; ");
        }
        return b.append("rings ").append(r.rings()).append(", rejected ").append(r.rejected()).append(", guest ")
                .append(r.guest()).append(", anomalies ").append(r.anomalies()).toString();
    }
}
