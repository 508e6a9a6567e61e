package org.xenids.vmi.memory;

/**
 * One virtual CPU's registers as a memory dump recorded them (QEMU's "QEMU" ELF note,
 * QEMUCPUState). Control registers are as the guest had them: {@code cr3} still carries PCID
 * or flag bits; use {@link #pageTableRoot()} for the table's physical address.
 */
public record CpuState(int cpu, long rip, long rsp, long cr0, long cr2, long cr3, long cr4) {

    /** CR4.LA57: the guest runs 5-level paging. */
    public boolean la57() { return (cr4 & (1L << 12)) != 0; }

    /** CR0.PG: paging is on (false for a CPU still in real mode, e.g. an idle AP). */
    public boolean paging() { return (cr0 & (1L << 31)) != 0; }

    /** Physical address of the top-level page table (CR3 bits 12..51). */
    public long pageTableRoot() { return cr3 & 0x000f_ffff_ffff_f000L; }
}
