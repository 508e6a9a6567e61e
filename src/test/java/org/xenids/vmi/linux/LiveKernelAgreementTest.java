package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.LiveGuest;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * `vmi info` and `vmi ps` on running guests agree with what each guest says about itself
 * ({@link LiveAgreement}): Debian's 6.1 kernel with 4-level paging (the shared guest), and the same
 * kernel really running 5-level paging ({@code -cpu max} exposes LA57 under software emulation).
 */
class LiveKernelAgreementTest {

    @Test
    void infoAndPsOfTheFourLevelGuestAgreeWithTheGuestItself() throws Exception {
        LiveGuest vm = LiveGuest.shared();
        LiveAgreement.GuestKernel g = LiveAgreement.assertInfoMatchesGuest(vm);
        assertFalse(g.la57(), "-cpu qemu64 has no LA57");
        LiveAgreement.assertPsMatchesGuest(vm);
    }

    @Test
    void fiveLevelGuestRunsLa57AndIsTranslatedWithFiveLevels() throws Exception {
        long t0 = System.nanoTime();
        try (LiveGuest vm = LiveGuest.options().workers(24).la57(true).kaslr(true).start("la57")) {
            System.out.printf("5-level guest: QEMU start to ready %.1f s%n", vm.bootToReady().toMillis() / 1000.0);
            // The vCPU's own control register, from QEMU: CR4.LA57 is bit 12.
            String regs = vm.qmp("human-monitor-command", "{\"command-line\":\"info registers\"}");
            Matcher cr4 = Pattern.compile("CR4=([0-9a-f]+)").matcher(regs);
            assertTrue(cr4.find(), regs);
            assertTrue((Long.parseLong(cr4.group(1), 16) & (1L << 12)) != 0, "CR4.LA57: " + cr4.group());

            LiveAgreement.GuestKernel g = LiveAgreement.assertInfoMatchesGuest(vm);
            assertTrue(g.la57(), "the kernel kept the la57 flag: it runs 5-level paging");
            List<Long> tasks = LiveAgreement.assertPsMatchesGuest(vm);

            PhysicalMemory ram = MemorySources.openLive(vm.ramFile(), MemorySources.Machine.PC);
            LinuxKernel k = KernelLocator.locate(ram);
            assertTrue(k.fiveLevel() && k.kernel().fiveLevel());
            AddressSpace four = AddressSpace.x86_64(ram, k.pageTableRoot(), false);
            int direct = 0;
            for (long t : tasks) {
                if (t >>> 47 == 0x1ffffL) {
                    continue; // init_task: in the kernel image, also a 48-bit address
                }
                direct++;
                // A direct-map address under 5-level paging is not even canonical with 4 levels.
                assertEquals(-1, four.tryTranslate(t), Long.toHexString(t));
                assertEquals(k.directMapToPhysical(t), k.kernel().tryTranslate(t), Long.toHexString(t));
            }
            assertTrue(direct > 40, "task_structs in the 5-level direct map: " + direct);
        }
        System.out.printf("5-level guest test: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
