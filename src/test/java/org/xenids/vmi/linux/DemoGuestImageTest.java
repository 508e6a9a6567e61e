package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.LiveGuest;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * The demo's bundled guest core (a 128 MiB Debian 6.1 guest, kernel code left out): introspected
 * with nothing given, its task list is the guest's own, recorded when the core was taken. Needs no
 * live guest.
 */
class DemoGuestImageTest {
    @Test
    void demoImageTaskListEqualsTheGuestsOwnList() throws Exception {
        Path raw = Path.of("target", "demo-guest.core");
        if (!Files.isRegularFile(raw)) {
            Path tmp = Files.createTempFile(Path.of("target"), "demo-guest", ".part");
            try (InputStream in = new org.tukaani.xz.XZInputStream(getClass().getResourceAsStream("/org/xenids/demo/guest.core.xz"))) {
                Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, raw, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        JsonNode truth;
        try (InputStream in = getClass().getResourceAsStream("/org/xenids/demo/guest.truth.json")) {
            truth = new ObjectMapper().readTree(in);
        }
        PhysicalMemory pm = MemorySources.open(raw);
        LinuxKernel k = KernelLocator.locate(pm);
        LinuxGuest g = LinuxGuest.open(pm, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(pm, k));
        Set<String> mine = new TreeSet<>();
        for (Task t : g.processes(false).tasks()) {
            if (t.pid() != 0) {
                mine.add(t.pid() + " " + t.ppid() + " " + t.comm());
            }
        }
        Set<String> theirs = new TreeSet<>();
        for (JsonNode p : truth.path("processes")) {
            theirs.add(p.path("pid").asInt() + " " + p.path("ppid").asInt() + " "
                    + new LiveGuest.Proc(0, 0, p.path("comm").asText()).taskComm());
        }
        assertEquals(theirs, mine);
        assertEquals(List.of(), g.crossView().hidden());
    }
}
