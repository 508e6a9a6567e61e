package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenids.testdata.SharedData;
import org.xenids.xen.emu.Topology;
import org.xenids.xen.emu.TrafficDriver;

/**
 * The real dev captures replayed through the emulated host: the frames the tap rebuilt are the
 * frames the drivers carried, byte for byte, none missing, none extra — outside→guest,
 * guest→outside and (with outside clients made guests) guest→guest.
 */
class DevCapturesTest {

    static final String DEV = "traffic/dev/";

    /** Runs one or more captures; the servers 10.0.0.11-16 are guests, and so are the clients inside {@code alsoGuests}. */
    static Ledger run(List<String> captures, String... alsoGuests) throws IOException {
        return run(0, captures, alsoGuests);
    }

    static Ledger run(int coalesce, List<String> captures, String... alsoGuests) throws IOException {
        return run(coalesce, 1, null, captures, alsoGuests);
    }

    /**
     * As {@link #run(int, List, String...)} with every vif given {@code queues} queues (the
     * drivers' per-queue counts go to the ledger), and {@code hook} (may be null) called with
     * the driver, tap and ledger before replaying, e.g. to install a mid-replay action.
     */
    static Ledger run(int coalesce, int queues, Hook hook, List<String> captures, String... alsoGuests)
            throws IOException {
        List<Path> files = new ArrayList<>();
        for (String c : captures) {
            files.add(SharedData.plain(DEV + c));
        }
        List<String> cidrs = new ArrayList<>(List.of("10.0.0.0/24"));
        cidrs.addAll(List.of(alsoGuests));
        Topology t = withQueues(Topology.fromCaptures(files, cidrs, Map.of("10.0.0.11/32", "nginx")), queues);
        Map<String, Long> macs = new HashMap<>();
        for (Topology.Guest g : t.guests()) {
            macs.put(Topology.normalMac(g.vifs().get(0).mac()), (long) g.domid());
        }
        TrafficDriver d = new TrafficDriver(t);
        if (coalesce > 0) {
            d.coalesce(coalesce);
        }
        Ledger ledger = new Ledger(macs);
        List<Object> anomalies = new ArrayList<>();
        Tap tap = new Tap(d.host().memory(), ledger, anomalies::add);
        d.host().addListener(tap);
        d.observer(ledger);
        d.start(0);
        if (hook != null) {
            hook.before(d, tap, ledger);
        }
        TrafficDriver.Stats s = d.replay(files, null);
        String what = String.join("+", captures);
        for (Topology.Guest g : t.guests()) {
            for (int v = 0; v < g.vifs().size(); v++) {
                var vif = d.vif(g.domid(), v);
                long[] sent = vif.front().queueSent();
                long[][] back = vif.back().queueCounters();
                for (int q = 0; q < sent.length; q++) {
                    ledger.driverQueue[Tap.TX][q] += sent[q];
                }
                for (int q = 0; q < back.length; q++) {
                    ledger.driverQueue[Tap.RX][q] += back[q][1];
                }
            }
        }
        if (hook != null) {
            hook.after(d, tap, ledger, s, anomalies);
            return ledger;
        }
        assertEquals(0, s.notAccepted(), what + ": frames netfront refused");
        assertEquals(0, s.skipped(), what + ": frames not replayable");
        assertEquals(0, tap.unclassified(), what + ": ops the tap could not classify");
        assertEquals(0, tap.failedReads(), what + ": reads the tap could not make");
        assertEquals(new Tap.Unfinished(0, 0), tap.unfinished(), what + ": packets left in part at the end");
        assertTrue(anomalies.isEmpty(), () -> what + ": " + anomalies);
        for (Tap.Counters c : tap.counters()) {
            assertEquals(0, c.drops() + c.lost() + c.refused(), what + ": " + c);
        }
        for (TrafficDriver.VifCounters c : d.vifCounters()) {
            assertEquals(0, c.frontTxDropped() + c.frontTxErrors() + c.frontRxErrors() + c.backTxDropped()
                    + c.backTxFailed() + c.backRxDropped(), what + ": driver losses " + c);
        }
        ledger.check(what);
        assertEquals(s.frames(), ledger.entered + s.coalesced(), what + ": every capture frame entered");
        return ledger;
    }

    /** Something done around a replay; {@code after} replaces the default loss checks (it must make its own). */
    interface Hook {
        void before(TrafficDriver d, Tap tap, Ledger ledger);

        void after(TrafficDriver d, Tap tap, Ledger ledger, TrafficDriver.Stats s, List<Object> anomalies);
    }

    /** The topology with every vif asking for {@code queues} queues. */
    static Topology withQueues(Topology t, int queues) {
        if (queues == 1) {
            return t;
        }
        List<Topology.Guest> gs = new ArrayList<>();
        for (Topology.Guest g : t.guests()) {
            List<Topology.Vif> vs = new ArrayList<>();
            for (Topology.Vif v : g.vifs()) {
                vs.add(new Topology.Vif(v.mac(), v.ips(), queues));
            }
            gs.add(new Topology.Guest(g.domid(), g.name(), g.image(), vs));
        }
        return new Topology(t.uplinkMac(), gs);
    }

    @ParameterizedTest
    @ValueSource(strings = {"attack_bruteforce_http_login", "attack_bruteforce_ssh", "attack_http_exploits",
        "attack_nmap_nse_http", "attack_nmap_syn_scan", "attack_nmap_version_scan", "attack_shellcode_tcp",
        "attack_sqlmap_sqli", "attack_syn_flood"})
    void everyScenarioFrameIsRebuiltExactly(String scenario) throws IOException {
        Ledger l = run(List.of("test/scenarios/" + scenario + ".pcap.xz"));
        assertTrue(l.tapFrames >= l.entered - l.fromGuests, "frames rebuilt: " + l.tapFrames);
    }

    @ParameterizedTest
    @ValueSource(strings = {"train/train_benign.pcap.xz", "test/test_mixed.pcap.xz"})
    void everyFrameOfTheBigCapturesIsRebuiltExactly(String capture) throws IOException {
        run(List.of(capture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"train/train_benign.pcap.xz", "test/scenarios/attack_sqlmap_sqli.pcap.xz"})
    void clientsMadeGuestsGiveGuestToGuestTrafficSeenOnceAsTxAndOnceAsRxNamingTheSender(String capture)
            throws IOException {
        Ledger l = run(List.of(capture), "203.0.113.0/26", "203.0.113.160/27");
        assertTrue(l.g2gRx > 1000, "guest→guest frames: " + l.g2gRx);
        assertEquals(l.g2gRx, l.g2gRxNamed, "every guest→guest RX frame names its sender");
    }

    @ParameterizedTest
    @ValueSource(ints = {9014, 65535})
    void coalescedTcpSuperFramesUpTo64KiBAreRebuiltWhole(int max) throws IOException {
        Ledger l = run(max, List.of("train/train_benign.pcap.xz"), "203.0.113.0/28");
        assertTrue(l.maxLen > (max > 10000 ? 30000 : 6000) && l.maxLen <= max, "largest frame " + l.maxLen);
        assertTrue(l.g2gRx > 0);
    }
}
