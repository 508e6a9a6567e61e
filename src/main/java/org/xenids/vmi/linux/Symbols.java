package org.xenids.vmi.linux;

import java.util.OptionalLong;

/**
 * Kernel symbol addresses (as run: KASLR slide already applied), from a System.map or
 * kallsyms-format file, or from the kernel's own kallsyms tables in guest memory.
 */
public interface Symbols {

    /** The run-time virtual address of {@code name}, if known. */
    OptionalLong address(String name);

    /** Where these came from, for `vmi info`: "kallsyms tables in memory at 0x…", "System.map FILE". */
    String source();

    /** The address of {@code name}, or an error naming the missing symbol. */
    default long require(String name) {
        return address(name).orElseThrow(() ->
                new IllegalStateException("kernel symbol '" + name + "' not found in " + source()));
    }
}
