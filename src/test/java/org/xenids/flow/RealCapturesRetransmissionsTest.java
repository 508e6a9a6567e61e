package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;

/**
 * Real retransmissions between Linux hosts carry the bytes they carried the first time: over the
 * dev captures, with the flow stage set up as detection sets it (PAYL's depth of 4,096 bytes, a
 * new flow on a 5-tuple only after a close or with a new sequence number outside a connection),
 * later copies of delivered bytes not yet acknowledged are compared, and none differs; every such
 * byte could be kept for it.
 */
class RealCapturesRetransmissionsTest {
    @Test
    void retransmittedBytesOfRealTrafficAreComparedAndNoneDiffers() throws Exception {
        long rechecked = 0;
        for (String c : List.of("traffic/dev/train/train_benign.pcap.xz", "traffic/dev/test/test_mixed.pcap.xz")) {
            Pipeline p = new Pipeline(FlowConfig.defaults().withDepth(4096)
                    .withSplit(FlowConfig.SplitPolicy.NEW_ISN_OR_AFTER_CLOSE), StreamListener.NONE);
            try (CaptureReader r = CaptureReader.open(SharedData.file(c))) {
                while (r.next()) {
                    p.frame(r.array(), r.dataOffset(), r.capturedLength(), r.timestampNanos(), r.linkType(), true);
                }
            }
            p.finish();
            assertEquals(0, p.table().overlapDifferentBytes(), c);
            assertEquals(0, p.table().unkeptBytes(), c);
            assertEquals(0, p.table().uncomparedBytes(), c);
            rechecked += p.table().recheckedBytes();
        }
        assertTrue(rechecked > 0, "real retransmitted bytes inside the depth, compared: " + rechecked);
    }
}
