package org.xenids.xen.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The offsets of {@code current->domain} read from the hypervisor's code (the -dbg package has no DWARF). */
class CurrentDomainTest {

    @Test
    void debianXenGivesStackMaskCurrentAndDomainOffsetsFromItsCode() throws IOException {
        assumeTrue(Files.exists(XenSymbolsTest.MAP) && Files.exists(XenSymbolsTest.SYMS),
                "xen-hypervisor-4.17-amd64-dbg neither installed nor unpacked (scripts/install-test-deps)");
        CurrentDomain c = new CurrentDomain(XenSymbols.load(XenSymbolsTest.MAP, XenSymbolsTest.SYMS));
        assertTrue(c.fromCode, "the load sequence was not found in do_grant_table_op");
        assertEquals(0x7fff, c.stackMask);
        assertEquals(0x37, c.currentVcpu);
        assertEquals(0x10, c.vcpuDomain);
    }

    @Test
    void offsetsComeFromTheInstructionsNotFromAssumptions() {
        // mov %rsp,%rax; or $0x3fff,%rax; mov -0x40(%rax),%rax; mov 0x18(%rax),%rax — after other code
        byte[] code = HexFormat.of().parseHex("5553" + "4889e0" + "480dff3f0000" + "488b40c0" + "488b4018" + "c3");
        assertArrayEquals(new long[] {0x3fff, 0x40, 0x18}, CurrentDomain.fromCode(code));
        // a mask that is not 2^k - 1, or a positive distance below the stack top, is not the sequence
        assertNull(CurrentDomain.fromCode(HexFormat.of().parseHex("4889e0" + "480dfe7f0000" + "488b40c9" + "488b4010")));
        assertNull(CurrentDomain.fromCode(HexFormat.of().parseHex("4889e0" + "480dff7f0000" + "488b4037" + "488b4010")));
        assertNull(CurrentDomain.fromCode(new byte[0]));
        assertNull(CurrentDomain.fromCode(HexFormat.of().parseHex("4889e0480dff7f0000488b40c9488b40")));   // cut short
    }
}
