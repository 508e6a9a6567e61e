package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;

/** Our views against Volatility 3's plugins run on the same KASLR image (its CSV output). */
class VolatilityAgreementTest {

    static List<String[]> csv(String plugin) throws IOException {
        return Files.readAllLines(SharedData.file("vmi/kaslr-hidden.volatility3-" + plugin + ".csv")).stream()
                .skip(1).filter(l -> !l.isBlank()).map(l -> l.split(",", -1)).toList();
    }

    static Set<String> seenBy(CrossView cv, String view) {
        return cv.rows().stream().filter(r -> r.seenBy().contains(view))
                .map(r -> r.task().pid() + " " + r.task().comm()).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void pidIdrViewEqualsVolatilityPidhashtable() throws IOException {
        CrossView cv = GuestImages.kaslr().guest().crossView();
        Set<String> vol = csv("pidhashtable").stream().map(f -> f[2] + " " + f[5]).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(vol, seenBy(cv, CrossView.PID_IDR));
        // the task addresses agree too (Volatility prints them without the sign-extension)
        Set<Long> volAddr = csv("pidhashtable").stream().map(f -> Long.parseUnsignedLong(f[1].substring(2), 16) | 0xffff000000000000L)
                .collect(Collectors.toSet());
        Set<Long> ours = cv.rows().stream().filter(r -> r.seenBy().contains(CrossView.PID_IDR)).map(r -> r.task().address())
                .collect(Collectors.toSet());
        assertEquals(volAddr, ours);
    }

    @Test
    void pslistEqualsOurTaskListWithoutTheIdleTask() throws IOException {
        CrossView cv = GuestImages.kaslr().guest().crossView();
        Set<String> vol = csv("pslist").stream().map(f -> f[2] + " " + f[5]).collect(Collectors.toCollection(TreeSet::new));
        Set<String> ours = seenBy(cv, CrossView.TASK_LIST);
        ours.remove("0 swapper/0");
        assertEquals(vol, ours);
    }

    @Test
    void everyLiveTaskOurScanAcceptsIsInVolatilityPsscanAtTheSamePhysicalAddress() throws IOException {
        CrossView cv = GuestImages.kaslr().guest().crossView();
        Set<String> vol = csv("psscan").stream().filter(f -> f[6].equals("TASK_RUNNING"))
                .map(f -> Long.parseUnsignedLong(f[1].substring(2), 16) + " " + f[2] + " " + f[5]).collect(Collectors.toSet());
        List<String> ours = cv.rows().stream().filter(r -> r.seenBy().contains(CrossView.SCAN))
                .map(r -> r.physical() + " " + r.task().pid() + " " + r.task().comm()).toList();
        // every live task, listed or hidden (the truth file's), is among them
        GuestImages.Truth truth = GuestImages.truth("kaslr-hidden");
        assertEquals(truth.comms().size() + truth.hiddenPids().size(), ours.size());
        for (String o : ours) {
            assertTrue(vol.contains(o) || o.contains(" 0 swapper/0"), o + " not in Volatility's psscan");
        }
        assertEquals(truth.hiddenPids().size(), cv.hidden().size());
        assertTrue(cv.hidden().stream().allMatch(h -> h.seenBy().contains(CrossView.SCAN)));
    }
}
