package org.xenids.vmi.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.LiveGuest;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/** The watch on a running guest: a process started and one killed in the guest are reported once each. */
class ProcessWatchLiveTest {
    private static LiveGuest vm;
    private static PhysicalMemory ram;
    private static LinuxKernel k;
    private static LinuxGuest guest;

    @BeforeAll
    static void boot() {
        vm = LiveGuest.shared();
        ram = MemorySources.openLive(vm.ramFile(), MemorySources.Machine.PC);
        k = KernelLocator.locate(ram);
        guest = LinuxGuest.open(ram, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(ram, k));
    }

    private static List<ProcessWatch.Change> named(ProcessWatch.Tick t, String comm) {
        return t.changes().stream().filter(c -> c.task().comm().equals(comm)).toList();
    }

    @Test
    void processStartedAndExitedInTheGuestAreReportedOnceEachAsSchemaValidEve() throws Exception {
        List<EveEvent> events = new ArrayList<>();
        try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "shared", 0, null)) {
            ProcessWatch.Tick base = w.tick(System.currentTimeMillis() * 1_000_000L);
            assertTrue(base.scanned(), "the first walk runs the scan view");
            assertEquals(0, base.hidden());
            assertTrue(base.processes() >= 160, "80 workers with a sleep child each: " + base.processes());
            assertEquals(List.of(), base.changes(), "the first walk is the baseline");

            int pid = Integer.parseInt(vm.startProcess("watch-probe").info().replaceAll(".*pid=(\\d+).*", "$1"));
            ProcessWatch.Tick started = w.tick(System.currentTimeMillis() * 1_000_000L);
            events.addAll(started.events());
            List<ProcessWatch.Change> s = named(started, "watch-probe");
            assertEquals(1, s.size(), "changes: " + started.changes());
            assertEquals(ProcessWatch.Kind.STARTED, s.get(0).kind());
            assertEquals(pid, s.get(0).task().pid());
            assertTrue(!started.scanned(), "no scan before --scan-every");

            ProcessWatch.Tick quiet = w.tick(System.currentTimeMillis() * 1_000_000L);
            assertEquals(List.of(), named(quiet, "watch-probe"), "reported once");

            vm.killProcess("watch-probe");
            ProcessWatch.Tick exited = w.tick(System.currentTimeMillis() * 1_000_000L);
            events.addAll(exited.events());
            List<ProcessWatch.Change> x = named(exited, "watch-probe");
            assertEquals(1, x.size(), "changes: " + exited.changes());
            assertEquals(ProcessWatch.Kind.EXITED, x.get(0).kind());
            assertEquals(pid, x.get(0).task().pid());
            assertTrue(exited.reads() > 0 && exited.walkNanos() > 0);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (EveWriter out = EveWriter.of(bytes)) {
            events.forEach(out::write);
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        EveSchema.assertValid(lines);
        ObjectMapper m = new ObjectMapper();
        List<String> probe = new ArrayList<>();
        for (String l : lines) {
            JsonNode a = m.readTree(l).get("alert");
            if (a.get("context").get("comm").asText().equals("watch-probe")) {
                probe.add(a.get("signature_id").asLong() + "/" + a.get("severity").asInt());
            }
        }
        assertEquals(List.of(ProcessWatch.SID_PROCESS_STARTED + "/3", ProcessWatch.SID_PROCESS_EXITED + "/3"), probe);
    }

    @Test
    void pausingThroughQmpLeavesTheGuestRunningAfterEachWalk() {
        try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "shared", 0, vm.qmpSocket())) {
            for (int i = 0; i < 3; i++) {
                ProcessWatch.Tick t = w.tick(System.currentTimeMillis() * 1_000_000L);
                assertEquals(0, t.anomalies(), "a paused guest is consistent");
            }
        }
        assertTrue(vm.qmp("query-status", null).contains("\"running\": true") || vm.qmp("query-status", null).contains("\"running\":true"),
                "guest resumed");
    }
}
