package org.xenids.pcap;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Test-side copies of records, for comparing two readings of the same packets. */
final class Frames {
    private Frames() {}

    record Frame(int linkType, int iface, long ts, int origLen, byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Frame f && f.linkType == linkType && f.iface == iface && f.ts == ts
                    && f.origLen == origLen && Arrays.equals(f.bytes, bytes);
        }

        @Override
        public int hashCode() { return Long.hashCode(ts) * 31 + Arrays.hashCode(bytes); }

        @Override
        public String toString() {
            return "Frame[link=" + linkType + " if=" + iface + " ts=" + ts + " len=" + origLen + " cap=" + bytes.length + "]";
        }
    }

    static Frame current(CaptureReader r) {
        return new Frame(r.linkType(), r.interfaceId(), r.timestampNanos(), r.originalLength(),
                Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + r.capturedLength()));
    }

    static List<Frame> all(CaptureReader r) throws IOException {
        List<Frame> out = new ArrayList<>();
        while (r.next()) {
            out.add(current(r));
        }
        return out;
    }

    /** The current record as {@code tshark -T fields -e frame.time_epoch -e frame.len -e frame.cap_len} prints it. */
    static String tsharkLine(CaptureReader r) {
        long ts = r.timestampNanos();
        return String.format("%d.%09d\t%d\t%d", Math.floorDiv(ts, 1_000_000_000L),
                Math.floorMod(ts, 1_000_000_000L), r.originalLength(), r.capturedLength());
    }
}
