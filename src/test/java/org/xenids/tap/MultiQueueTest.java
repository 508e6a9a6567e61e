package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Multi-queue vifs on the real captures: netfront spreads a guest's frames over its queues by
 * flow hash, netback spreads frames for the guest the same way, and the tap rebuilds every
 * frame exactly whichever queue carried it — counted per queue as the drivers count them.
 */
class MultiQueueTest {

    static String counts(Ledger l) {
        return "tap TX " + Arrays.toString(l.tapQueue[Tap.TX]) + " RX " + Arrays.toString(l.tapQueue[Tap.RX])
                + "; drivers TX " + Arrays.toString(l.driverQueue[Tap.TX]) + " RX "
                + Arrays.toString(l.driverQueue[Tap.RX]);
    }

    /** Per queue, the tap's frames equal the drivers' packets; and at least {@code minQueues} queues carry each direction. */
    static void assertQueues(Ledger l, int queues, int minQueues) {
        String what = counts(l);
        assertArrayEquals(l.driverQueue[Tap.TX], l.tapQueue[Tap.TX], "TX per queue: " + what);
        assertArrayEquals(l.driverQueue[Tap.RX], l.tapQueue[Tap.RX], "RX per queue: " + what);
        for (int dir = 0; dir < 2; dir++) {
            int used = 0;
            for (int q = 0; q < queues; q++) {
                used += l.tapQueue[dir][q] > 0 ? 1 : 0;
            }
            for (int q = queues; q < l.tapQueue[dir].length; q++) {
                assertTrue(l.tapQueue[dir][q] == 0, "no queue beyond " + queues + ": " + what);
            }
            assertTrue(used >= minQueues, (dir == Tap.TX ? "TX" : "RX") + " queues used " + used + ": " + what);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"attack_bruteforce_http_login", "attack_bruteforce_ssh", "attack_http_exploits",
        "attack_nmap_nse_http", "attack_nmap_syn_scan", "attack_nmap_version_scan", "attack_shellcode_tcp",
        "attack_sqlmap_sqli", "attack_syn_flood"})
    void everyScenarioFrameOnFourQueueVifsIsRebuiltExactlyOnTheQueueThatCarriedIt(String scenario)
            throws IOException {
        // The attackers and benign clients are guests too: outside↔guest and guest→guest both ways.
        Ledger l = DevCapturesTest.run(0, 4, null, List.of("test/scenarios/" + scenario + ".pcap.xz"),
                "203.0.113.0/26", "203.0.113.160/27");
        assertQueues(l, 4, 2);
        assertTrue(l.g2gRx > 0, "guest→guest frames: " + l.g2gRx);
    }

    @ParameterizedTest
    @ValueSource(strings = {"train/train_benign.pcap.xz", "test/test_mixed.pcap.xz"})
    void everyFrameOfTheBigCapturesOnFourQueueVifsIsRebuiltAndEveryQueueCarriesBothWays(String capture)
            throws IOException {
        Ledger l = DevCapturesTest.run(0, 4, null, List.of(capture));
        assertQueues(l, 4, 4);
    }

    @ParameterizedTest
    @ValueSource(strings = {"train/train_benign.pcap.xz", "test/scenarios/attack_sqlmap_sqli.pcap.xz"})
    void guestToGuestAndSuperFramesOnThreeQueueVifsAreRebuiltWhole(String capture) throws IOException {
        Ledger l = DevCapturesTest.run(65535, 3, null, List.of(capture), "203.0.113.0/26", "203.0.113.160/27");
        assertQueues(l, 3, 3);
        // sqlmap's exchanges are short: its super-frames stay a few KiB; the training capture's reach 30 KiB+.
        assertTrue(l.maxLen > (capture.startsWith("train") ? 30000 : 1514), "largest frame " + l.maxLen);
        assertTrue(l.g2gRx > 1000, "guest→guest frames: " + l.g2gRx);
    }
}
