package org.xenids.testdata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The guest's /proc names versus the kernel's task->comm, which introspection reads. */
class LiveGuestProcTest {

    @Test
    void taskCommDropsWorkqueueSuffixAndCutsTo15BytesLikeTheKernel() {
        assertEquals("kworker/0:0", new LiveGuest.Proc(7, 2, "kworker/0:0-events").taskComm());
        assertEquals("kworker/0:0H", new LiveGuest.Proc(8, 2, "kworker/0:0H-events_highpri").taskComm());
        assertEquals("kworker/u2:1", new LiveGuest.Proc(9, 2, "kworker/u2:1+flush-8:0").taskComm());
        assertEquals("rcu_tasks_rude_", new LiveGuest.Proc(12, 2, "rcu_tasks_rude_kthread").taskComm());
        assertEquals("worker-01", new LiveGuest.Proc(90, 1, "worker-01").taskComm());
        assertEquals("vmi-canary", new LiveGuest.Proc(200, 1, "vmi-canary").taskComm());
    }

    /** The cut names above are what a walk of init_task.tasks really yields on the shared images. */
    @Test
    void sharedGroundTruthHoldsTheCutKernelThreadNames() throws IOException {
        String truth = Files.readString(SharedData.file("vmi/nokaslr-hidden.truth.json"));
        assertTrue(truth.contains("\"comm\": \"rcu_tasks_rude_\""), "task->comm is cut to 15 bytes");
        assertTrue(truth.contains("\"comm\": \"kworker/0:0H\""), "task->comm has no workqueue suffix");
    }

    @Test
    void sizesAreParsedAsTheScriptTakesThem() {
        assertEquals(256L << 20, LiveGuest.parseSize("256M"));
        assertEquals(1L << 30, LiveGuest.parseSize("1G"));
    }
}
