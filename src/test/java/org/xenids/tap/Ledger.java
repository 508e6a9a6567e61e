package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.xenids.xen.emu.TrafficDriver;

/**
 * Frames as fingerprints (length and two checksums in one long, plus the bytes' own hash), per
 * domain and direction: what entered the host, what the guests' drivers sent and received (the
 * oracle), and what the tap rebuilt. Keeps a whole capture's comparison in a few MB.
 */
final class Ledger implements TrafficDriver.Observer, Tap.FrameSink {
    final Map<Integer, List<Long>> sentByGuest = new HashMap<>();
    final Map<Integer, List<Long>> receivedByGuest = new HashMap<>();
    final Map<Integer, List<Long>> tapTx = new HashMap<>();
    final Map<Integer, List<Long>> tapRx = new HashMap<>();
    final Map<Integer, Map<Long, Integer>> enteredFor = new HashMap<>();
    final Map<String, Long> macToDomid;
    long entered, fromGuests, tapFrames, g2gRx, g2gRxNamed, maxLen;
    /** Frames the tap rebuilt per direction and queue; the drivers' own per-queue counts (set by the runner). */
    final long[][] tapQueue = new long[2][org.xenids.xen.emu.Topology.MAX_QUEUES];
    final long[][] driverQueue = new long[2][org.xenids.xen.emu.Topology.MAX_QUEUES];
    /** A guest whose vif is down: what enters for it is counted here, not expected at the tap. */
    int detached = -1;
    long enteredForDetached, groupWhileDetached, refusedFromDetached;
    private final CRC32C crc = new CRC32C();

    Ledger(Map<String, Long> macToDomid) {
        this.macToDomid = macToDomid;
    }

    long print(byte[] b, int off, int len) {
        crc.reset();
        crc.update(b, off, len);
        int h = 1;
        for (int i = off; i < off + len; i++) {
            h = 31 * h + b[i];
        }
        return ((long) len << 48) ^ (crc.getValue() << 16) ^ (h & 0xffffffffL) * 0x9E3779B97F4A7C15L;
    }

    static String mac(byte[] b, int at) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            s.append(i > 0 ? ":" : "").append(String.format("%02x", b[at + i] & 0xff));
        }
        return s.toString();
    }

    @Override
    public void entered(int fromDomid, byte[] buf, int len) {
        entered++;
        maxLen = Math.max(maxLen, len);
        Long to = (buf[0] & 1) == 0 ? macToDomid.get(mac(buf, 0)) : null;
        if (detached >= 0 && (buf[0] & 1) != 0 && fromDomid != detached) {
            groupWhileDetached++; // flooded to every port, the detached one too
        }
        if (to != null && to == detached) {
            enteredForDetached++;
        } else if (to != null && (detached < 0 || fromDomid != detached)) { // the detached guest's own are refused
            enteredFor.computeIfAbsent(to.intValue(), k -> new HashMap<>()).merge(print(buf, 0, len), 1, Integer::sum);
        }
    }

    @Override
    public void transmitted(int domid, byte[] buf, int off, int len, boolean accepted) {
        if (!accepted && domid == detached) {
            refusedFromDetached++;
        }
        if (accepted) {
            fromGuests++;
            sentByGuest.computeIfAbsent(domid, k -> new ArrayList<>()).add(print(buf, off, len));
        }
    }

    @Override
    public void delivered(int domid, byte[] buf, int len) {
        receivedByGuest.computeIfAbsent(domid, k -> new ArrayList<>()).add(print(buf, 0, len));
    }

    @Override
    public void frame(byte[] buf, int off, int len, int domid, int vif, int queue, int direction, int peer, long ts) {
        tapFrames++;
        tapQueue[direction][queue]++;
        (direction == Tap.TX ? tapTx : tapRx).computeIfAbsent(domid, k -> new ArrayList<>()).add(print(buf, off, len));
        if (direction == Tap.RX && (buf[off + 6] & 1) == 0 && macToDomid.containsKey(mac(buf, off + 6))) {
            g2gRx++;
            if (peer >= 0 && peer == macToDomid.get(mac(buf, off + 6))) {
                g2gRxNamed++;
            }
        }
    }

    /** Tap = drivers, per domain and direction, in order; every frame entered for a guest reached it. */
    void check(String what) {
        assertEquals(sentByGuest, tapTx, what + ": TX the tap rebuilt vs what netfronts sent");
        assertEquals(receivedByGuest, tapRx, what + ": RX the tap rebuilt vs what guest stacks received");
        for (var e : enteredFor.entrySet()) {
            Map<Long, Integer> got = new HashMap<>();
            for (long p : tapRx.getOrDefault(e.getKey(), List.of())) {
                got.merge(p, 1, Integer::sum);
            }
            for (var f : e.getValue().entrySet()) {
                assertTrue(got.getOrDefault(f.getKey(), 0) >= f.getValue(),
                        what + ": a frame entered for dom" + e.getKey() + " is missing from the tap's RX");
            }
        }
    }
}
