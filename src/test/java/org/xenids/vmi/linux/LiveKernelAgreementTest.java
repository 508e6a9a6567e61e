package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;
import org.xenids.testdata.LiveGuest;

/**
 * `vmi info` and `vmi ps` on the shared running guest (Debian's 6.1 kernel, 4-level paging) agree
 * with what the guest says about itself ({@link LiveAgreement}). The 5-level guest is checked the
 * same way in {@link LiveGuestIntrospectionTest}, the other kernel flavours in {@link KernelFlavoursLiveTest}.
 */
class LiveKernelAgreementTest {

    @Test
    void infoAndPsOfTheFourLevelGuestAgreeWithTheGuestItself() throws Exception {
        LiveGuest vm = LiveGuest.shared();
        LiveAgreement.GuestKernel g = LiveAgreement.assertInfoMatchesGuest(vm);
        assertFalse(g.la57(), "-cpu qemu64 has no LA57");
        LiveAgreement.assertPsMatchesGuest(vm);
    }
}
