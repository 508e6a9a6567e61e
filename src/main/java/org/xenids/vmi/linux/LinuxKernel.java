package org.xenids.vmi.linux;

import org.xenids.vmi.arch.AddressSpace;

/**
 * A Linux x86-64 kernel found in guest physical memory by {@link KernelLocator}.
 *
 * @param banner         the kernel's linux_banner ("Linux version 6.1.0-… (…) #1 SMP …"), without the newline
 * @param textVirtual    run-time virtual address of _text
 * @param textPhysical   physical address of _text
 * @param imageSize      bytes the page tables map of the kernel image from _text (whole 2 MiB
 *                       pages, up to _end): where the kernel's own data, its BTF among it, lies
 * @param virtualSlide   KASLR virtual slide: textVirtual minus the link-time _text (from the
 *                       symbol file when it is a System.map of this build, else the x86-64
 *                       default 0xffffffff81000000, i.e. CONFIG_PHYSICAL_START = 16 MiB)
 * @param physBase       the kernel's phys_base: textPhysical - (textVirtual - 0xffffffff80000000)
 * @param pageTableRoot  physical address of init_top_pgt (swapper_pg_dir), found by scanning, not from CR3
 * @param fiveLevel      the kernel runs 5-level paging (LA57)
 * @param pageOffsetBase start of the direct map of all physical memory (page_offset_base)
 * @param symbols        run-time symbol addresses (the kernel's own kallsyms, or the given file with slide applied)
 * @param kernel         the kernel's address space (rooted at init_top_pgt)
 */
public record LinuxKernel(String banner, long textVirtual, long textPhysical, long imageSize, long virtualSlide,
                          long physBase, long pageTableRoot, boolean fiveLevel, long pageOffsetBase,
                          Symbols symbols, AddressSpace kernel) {

    /** Physical address of a direct-map virtual address (e.g. a task's mm->pgd), without a walk. */
    public long directMapToPhysical(long vaddr) {
        return vaddr - pageOffsetBase;
    }

    /** The address space of a process whose mm->pgd (a direct-map pointer) is {@code pgdVirtual}. */
    public AddressSpace processSpace(long pgdVirtual) {
        return kernel.withDtb(directMapToPhysical(pgdVirtual));
    }
}
