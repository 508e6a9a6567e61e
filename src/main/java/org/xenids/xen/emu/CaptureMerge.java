package org.xenids.xen.emu;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xenids.pcap.CaptureReader;
import org.xenids.pcap.LinkType;

/**
 * Several captures read as one, frame by frame in timestamp order (on a tie, the capture listed
 * first). Which frame comes next depends on the captures alone, so it is kept apart from
 * {@link TrafficDriver}, which only injects the frames it is handed and counts them.
 */
final class CaptureMerge {
    private final List<CaptureReader> readers = new ArrayList<>();
    private final List<Path> paths = new ArrayList<>();
    /** Whether each reader holds a frame not yet handed out. */
    private boolean[] live;
    /** The reader {@link #next()} returned last, moved on at the next call; −1: none. */
    private int current = -1;

    /** Records passed over for their link type: only Ethernet frames can enter a vif or the uplink. */
    long otherLinkTypes;
    private int lastOtherType;

    /**
     * Opens the captures in order, then takes the first Ethernet frame of each: a capture with
     * records but none of them Ethernet is refused here, before anything is replayed (the wrong
     * kind of file).
     */
    void open(List<Path> captures) throws IOException {
        for (Path p : captures) {
            CaptureReader r = CaptureReader.open(p);
            readers.add(r);
            paths.add(p);
        }
        live = new boolean[readers.size()];
        for (int i = 0; i < live.length; i++) {
            CaptureReader r = readers.get(i);
            long before = otherLinkTypes;
            live[i] = advance(r);
            if (!live[i] && otherLinkTypes > before) {
                throw new IOException(r.name() + ": no Ethernet frame, " + (otherLinkTypes - before)
                        + " records of link type " + lastOtherType + " (the driver replays Ethernet captures)");
            }
        }
    }

    /**
     * The reader holding the earliest frame left, after the one returned before has moved to its
     * next frame; null when every capture is done.
     */
    CaptureReader next() throws IOException {
        if (current >= 0) {
            live[current] = advance(readers.get(current));
        }
        int best = -1;
        for (int i = 0; i < live.length; i++) {
            if (live[i] && (best < 0 || readers.get(i).timestampNanos() < readers.get(best).timestampNanos())) {
                best = i;
            }
        }
        current = best;
        return best < 0 ? null : readers.get(best);
    }

    /**
     * Packets each capture says its capturer dropped (pcapng interface statistics), as far as it
     * was read; filled by {@link #close}, only captures that report some.
     */
    final Map<Path, Long> reportedDrops = new LinkedHashMap<>();

    /** Closes every capture opened, in order, keeping the drops each reported. */
    void close() throws IOException {
        for (int i = 0; i < readers.size(); i++) {
            long drops = readers.get(i).stats().reportedDrops();
            if (drops > 0) {
                reportedDrops.put(paths.get(i), drops);
            }
        }
        for (CaptureReader r : readers) {
            r.close();
        }
    }

    /**
     * The reader's next Ethernet frame. Records of another link type in a capture (a pcapng
     * interface of raw IP beside the Ethernet ones) are counted and passed over, so that the rest
     * of the capture is still replayed.
     */
    private boolean advance(CaptureReader r) throws IOException {
        while (r.next()) {
            if (r.linkType() == LinkType.ETHERNET) {
                return true;
            }
            otherLinkTypes++;
            lastOtherType = r.linkType();
        }
        return false;
    }
}
