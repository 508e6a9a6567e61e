package org.xenids.vmi.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.testdata.Dkom;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.LiveGuest;
import org.xenids.vmi.linux.CrossView;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Processes hidden in the running guest by the recorded images' technique (a kernel module built
 * against Debian's headers for the guest's kernel unlinks one from the task list, and another also
 * from the pid IDR): the watch alerts each once, naming the views that still saw it, and nothing else.
 */
class HiddenProcessLiveTest {
    private static LiveGuest vm;
    private static LinuxKernel k;
    private static LinuxGuest guest;

    @BeforeAll
    static void boot() {
        vm = LiveGuest.shared();
        PhysicalMemory ram = MemorySources.openLive(vm.ramFile(), MemorySources.Machine.PC);
        k = KernelLocator.locate(ram);
        guest = LinuxGuest.open(ram, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(ram, k));
    }

    private static long now() { return System.currentTimeMillis() * 1_000_000L; }

    private static int pid(LiveGuest.Ack started) {
        return Integer.parseInt(started.info().replaceAll(".*pid=(\\d+).*", "$1"));
    }

    /** pid → "seen_by/missing_from" of each hidden-process alert among {@code events}. */
    private static Map<Integer, String> hiddenAlerts(List<EveEvent> events) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (EveWriter out = EveWriter.of(bytes)) {
            events.forEach(out::write);
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        EveSchema.assertValid(lines);
        return hiddenAlertsIn(lines);
    }

    private static Map<Integer, String> hiddenAlertsIn(List<String> eveLines) throws Exception {
        Map<Integer, String> out = new TreeMap<>();
        for (String l : eveLines) {
            JsonNode a = new ObjectMapper().readTree(l).path("alert");
            if (a.path("signature_id").asLong() != CrossView.SID_HIDDEN_PROCESS) continue;
            JsonNode c = a.path("context");
            String was = out.put(c.path("pid").asInt(), c.path("seen_by") + "/" + c.path("missing_from"));
            assertEquals(null, was, "one alert per hidden process: " + eveLines);
        }
        return out;
    }

    @Test
    void processesHiddenByDkomAreAlertedOnceWithTheViewsThatSawThemAndNeitherExitNorRestart(@TempDir Path dir) throws Exception {
        int listOnly = pid(vm.startProcess("dkom-list"));
        int full = pid(vm.startProcess("dkom-full"));
        try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "shared", 0, null)) {
            ProcessWatch.Tick base = w.tick(now());
            assertEquals(0, base.hidden(), "nothing hidden before the module");

            try (Dkom d = Dkom.hide(vm, List.of(listOnly), List.of(full))) {
                // The technique as recorded: the guest's own ps (/proc, through the pid IDR) still
                // lists the task-list-only one and no longer the other.
                List<Integer> theirs = d.psAfterHiding().stream().map(LiveGuest.Proc::pid).toList();
                assertTrue(theirs.contains(listOnly), "unlinked from the task list only: still in /proc");
                assertFalse(theirs.contains(full), "removed from the pid IDR too: gone from /proc");

                ProcessWatch.Tick hidden = w.tick(now());
                assertEquals(2, hidden.hidden(), "changes: " + hidden.changes());
                List<String> changes = hidden.changes().stream()
                        .filter(c -> c.task().pid() == listOnly || c.task().pid() == full || c.kind() == ProcessWatch.Kind.HIDDEN)
                        .map(c -> c.kind() + " " + c.task().pid() + " " + c.task().comm()).sorted().toList();
                assertEquals(List.of("HIDDEN " + listOnly + " dkom-list", "HIDDEN " + full + " dkom-full").stream().sorted().toList(),
                        changes, "hidden, not exited, and nothing else hidden");
                // No scan at this walk (--scan-every): the pid IDR and the children tree saw them.
                assertEquals(Map.of(
                        listOnly, "[\"pid-idr\",\"children-tree\"]/[\"task-list\"]",
                        full, "[\"children-tree\"]/[\"task-list\",\"pid-idr\"]"), hiddenAlerts(hidden.events()));

                ProcessWatch.Tick again = w.tick(now());
                assertEquals(2, again.hidden());
                assertEquals(Map.of(), hiddenAlerts(again.events()), "alerted once");

                // xenids vmi watch: its first walk also scans memory for task_structs.
                Path eve = dir.resolve("eve.json");
                String[] r = org.xenids.testdata.Cli.run("vmi", "watch", "--live", "--memory", vm.ramFile().toString(),
                        "--interval", "100ms", "--count", "2", "--eve", eve.toString());
                assertEquals("0", r[0], r[2]);
                // Kernel workers may start or exit meanwhile: only the hidden lines are counted.
                List<String> lines = r[1].lines().filter(l -> l.contains(" hidden ")).toList();
                assertEquals(2, lines.size(), r[1]);
                assertTrue(lines.stream().anyMatch(l -> l.contains("hidden  pid=" + listOnly + " ppid=1 comm=dkom-list")), r[1]);
                assertTrue(lines.stream().anyMatch(l -> l.contains("hidden  pid=" + full + " ppid=1 comm=dkom-full")), r[1]);
                List<String> eveLines = Files.readAllLines(eve);
                EveSchema.assertValid(eveLines);
                assertEquals(Map.of(
                        listOnly, "[\"pid-idr\",\"children-tree\",\"scan\"]/[\"task-list\"]",
                        full, "[\"children-tree\",\"scan\"]/[\"task-list\",\"pid-idr\"]"), hiddenAlertsIn(eveLines));
            }

            ProcessWatch.Tick shown = w.tick(now());
            assertEquals(0, shown.hidden(), "back on the task list after rmmod");
            assertEquals(List.of(), shown.changes().stream().filter(c -> c.task().pid() == listOnly || c.task().pid() == full).toList(),
                    "they never exited, so they do not start again");
        } finally {
            vm.killProcess("dkom-list");
            vm.killProcess("dkom-full");
        }
    }
}
