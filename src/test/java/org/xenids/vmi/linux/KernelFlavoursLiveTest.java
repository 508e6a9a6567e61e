package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenids.testdata.LiveGuest;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Debian's other kernel flavours, live: linux-image-cloud-amd64 (fewer drivers, lz4-compressed) and
 * linux-image-rt-amd64 (PREEMPT_RT: other struct layouts, threaded interrupts), and another kernel
 * version, Debian 12's backported Linux 6.12 (the newest linux-image-6.12*-amd64: zstd-compressed,
 * another kallsyms, BTF and task_struct), with KASLR
 * and without (both through the decompressor). For each, `vmi info`
 * and `vmi ps` agree with the guest itself ({@link LiveAgreement}) and the cross-view check of the
 * running guest finds nothing hidden. One boot each (tens of seconds under software emulation):
 * run with {@code mvn -Pvmi-kernels test}.
 */
class KernelFlavoursLiveTest {

    @ParameterizedTest(name = "{0} {1}, KASLR {2}")
    // 6.12 without KASLR boots through the decompressor: booted directly (PVH entry) it once stopped
    // taking interrupts after its ready marker under software emulation here (halted with IF set, no
    // CPU time used), and never answered (1 of 6 direct boots); see the README.
    @CsvSource({"cloud, '', true, false, -cloud-amd64 ", "rt, '', false, false, PREEMPT_RT",
            "amd64, 6.12, true, false, Linux version 6.12.", "amd64, 6.12, false, true, Linux version 6.12."})
    void infoPsAndCrossViewAgreeWithTheGuestOnDebiansKernelFlavour(String flavour, String version, boolean kaslr, boolean bzImage,
                                                                    String inBanner) throws Exception {
        assumeTrue(Boolean.getBoolean("xenids.vmi.kernels"), "run with -Pvmi-kernels");
        long t0 = System.nanoTime();
        String label = flavour + (version.isEmpty() ? "" : "-" + version) + (kaslr ? "" : "-nokaslr");
        try (LiveGuest vm = LiveGuest.options().flavour(flavour).kernel(version).kaslr(kaslr).bzImage(bzImage).workers(24).start("k-" + label)) {
            System.out.printf("%s guest: QEMU start to ready %.1f s (%s)%n", label, vm.bootToReady().toMillis() / 1000.0,
                    vm.kernelImage().getFileName());
            LiveAgreement.GuestKernel g = LiveAgreement.assertInfoMatchesGuest(vm);
            assertTrue(g.banner().contains(inBanner.strip()), g.banner());
            // Without KASLR _text is the default; with it, it is the default only when the random
            // virtual slot is 0 (of fewer than 512), so that is not asserted.
            assertTrue(kaslr || g.text() == LiveAgreement.DEFAULT_TEXT, "nokaslr: _text " + Long.toHexString(g.text()));
            assertFalse(g.la57());
            LiveAgreement.assertPsMatchesGuest(vm);

            PhysicalMemory ram = MemorySources.openLive(vm.ramFile(), MemorySources.Machine.PC);
            LinuxKernel k = KernelLocator.locate(ram);
            LinuxGuest guest = LinuxGuest.open(ram, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(ram, k));
            CrossView cv = guest.crossView();
            assertEquals(List.of(), cv.hidden());
            assertEquals(4, cv.views().size(), "task list, pid IDR, children tree, scan: " + cv.unavailable());
        }
        System.out.printf("%s guest test: %.1f s%n", label, (System.nanoTime() - t0) / 1e9);
    }
}
