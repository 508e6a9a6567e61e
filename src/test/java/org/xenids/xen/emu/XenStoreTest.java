package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class XenStoreTest {
    final XenHost host = new XenHost(16);
    final XenStore xs = host.xenstore();

    @Test
    void watchFiresOnRegistrationThenForChangesAtOrBelowItsPath() {
        List<String> seen = new ArrayList<>();
        xs.watch("/local/domain/1/device", "tok", (p, t) -> seen.add(t + " " + p));
        xs.write("/local/domain/1/device/vif/0/state", "1");
        xs.write("/local/domain/1/devices", "x"); // a sibling sharing the prefix: not below the path
        xs.write("/local/domain/2/device/vif/0/state", "1");
        assertTrue(xs.rm("/local/domain/1/device/vif/0"));
        host.runPending();
        assertEquals(List.of("tok /local/domain/1/device", "tok /local/domain/1/device/vif/0/state",
                "tok /local/domain/1/device/vif/0"), seen);
    }

    @Test
    void writeCreatesParentsAndRmRemovesTheSubtree() {
        xs.write("/a/b/c", "v");
        assertEquals("", xs.read("/a/b"));
        assertEquals(List.of("c"), xs.directory("/a/b"));
        assertEquals(List.of("/a/b = \"\"", "/a/b/c = \"v\""), xs.dump("/a"));
        assertTrue(xs.rm("/a/b"));
        assertNull(xs.read("/a/b/c"));
        assertFalse(xs.rm("/a/b"));
        assertEquals(List.of(), xs.directory("/nope"));
    }

    @Test
    void unwatchStopsEvents() {
        List<String> seen = new ArrayList<>();
        xs.watch("/x", "t", (p, t) -> seen.add(p));
        host.runPending();
        xs.unwatch("/x", "t");
        xs.write("/x/y", "1");
        host.runPending();
        assertEquals(List.of("/x"), seen);
    }

    @Test
    void relativeOrEmptyPathsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> xs.write("local/domain", "1"));
        assertThrows(IllegalArgumentException.class, () -> xs.write("/", "1"));
    }
}
