package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProcessListTest {

    static GuestImages.Image image(String name) {
        return name.equals("nokaslr-hidden") ? GuestImages.nokaslr() : GuestImages.kaslr();
    }

    @ParameterizedTest
    @ValueSource(strings = {"nokaslr-hidden", "kaslr-hidden"})
    void taskListEqualsGroundTruthPidTgidAndComm(String name) {
        GuestImages.Image img = image(name);
        LinuxGuest.ProcessList list = img.guest().processes(false);
        GuestImages.Truth truth = GuestImages.truth(name);
        assertEquals(List.of(), list.anomalies());
        assertEquals(truth.comms().size(), list.tasks().size());
        // The truth file is sorted by pid; the walk yields list order (swapper/0 first).
        assertEquals("swapper/0", list.tasks().get(0).comm());
        List<Task> byPid = list.tasks().stream().sorted(java.util.Comparator.comparingInt(Task::pid)).toList();
        for (int i = 0; i < byPid.size(); i++) {
            Task t = byPid.get(i);
            assertEquals(truth.pidTgid().get(i)[0], t.pid(), "pid of entry " + i);
            assertEquals(truth.pidTgid().get(i)[1], t.tgid(), "tgid of entry " + i);
            assertEquals(truth.comms().get(i), t.comm(), "comm of entry " + i);
        }
        assertTrue(list.tasks().get(0).kernelThread(), "swapper/0 is a kernel thread");
        Task init = byPid.get(1);
        assertEquals(1, init.pid());
        assertEquals(0, init.ppid());
        assertEquals(0, init.uid());
        assertTrue(!init.kernelThread());
    }
}
