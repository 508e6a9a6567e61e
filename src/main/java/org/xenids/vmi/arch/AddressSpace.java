package org.xenids.vmi.arch;

import java.lang.foreign.MemorySegment;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * An x86-64 virtual address space: 4-level (PML4) or 5-level (PML5, CR4.LA57) page tables
 * rooted at one DTB, with 4 KiB, 2 MiB and 1 GiB pages. A walk reads at most 5 entries, so a
 * page table that points at itself cannot loop; an entry that points outside RAM fails with
 * {@link MemoryFault}. Translations are cached per 4 KiB page; for a live guest call
 * {@link #invalidate()} after the guest ran (the guest may have changed its page tables).
 * Not thread-safe: one instance per thread.
 */
public final class AddressSpace implements VirtualMemory {
    private static final long ADDR_MASK = 0x000f_ffff_ffff_f000L;
    private static final long PRESENT = 1;
    private static final long PS = 1L << 7;
    private static final int CACHE = 512;

    private final PhysicalMemory memory;
    private final long dtb;
    private final boolean fiveLevel;
    private final int canonicalShift;
    /** Direct-mapped translation cache: virtual page number → physical page address. */
    private final long[] cacheVpn = new long[CACHE];
    private final long[] cachePage = new long[CACHE];
    private long hits;
    private long walks;

    private AddressSpace(PhysicalMemory memory, long dtb, boolean fiveLevel) {
        this.memory = memory;
        this.dtb = dtb & ADDR_MASK;
        this.fiveLevel = fiveLevel;
        this.canonicalShift = fiveLevel ? 56 : 47;
        invalidate();
    }

    /** The address space whose top-level table is at physical {@code dtb} (a CR3 value: low bits are ignored). */
    public static AddressSpace x86_64(PhysicalMemory memory, long dtb, boolean fiveLevel) {
        return new AddressSpace(memory, dtb, fiveLevel);
    }

    /** The same guest memory and paging mode with another root (e.g. a process's mm->pgd). */
    public AddressSpace withDtb(long otherDtb) {
        return new AddressSpace(memory, otherDtb, fiveLevel);
    }

    @Override public long dtb() { return dtb; }
    public boolean fiveLevel() { return fiveLevel; }
    public PhysicalMemory physical() { return memory; }

    /** Forgets every cached translation. */
    public void invalidate() {
        java.util.Arrays.fill(cacheVpn, -1L);
        hits = 0;
        walks = 0;
    }

    /** Cache hits and page-table walks since the last {@link #invalidate()}, for tuning. */
    public long cacheHits() { return hits; }
    public long pageWalks() { return walks; }

    /** True when {@code vaddr} is canonical for this paging mode. */
    public boolean canonical(long vaddr) {
        long top = vaddr >> canonicalShift;
        return top == 0 || top == -1;
    }

    @Override
    public long translate(long vaddr) {
        long p = tryTranslate(vaddr);
        if (p < 0) {
            if (!canonical(vaddr)) {
                throw new MemoryFault(vaddr, String.format("non-canonical virtual address 0x%016x", vaddr));
            }
            throw new MemoryFault(vaddr, String.format("virtual address 0x%016x is not mapped (DTB 0x%x)", vaddr, dtb));
        }
        return p;
    }

    /**
     * The physical address of {@code vaddr}, or -1 when it is non-canonical or not present.
     * Page-table entries that point outside RAM still throw MemoryFault: that is damage, not
     * an unmapped page.
     */
    public long tryTranslate(long vaddr) {
        long vpn = vaddr >>> 12;
        int slot = (int) (vpn & (CACHE - 1));
        if (cacheVpn[slot] == vpn) {
            hits++;
            return cachePage[slot] | (vaddr & 0xfff);
        }
        if (!canonical(vaddr)) {
            return -1;
        }
        walks++;
        long table = dtb;
        int shift = fiveLevel ? 48 : 39;
        while (true) {
            long e = entry(table, (int) ((vaddr >>> shift) & 511), vaddr);
            if ((e & PRESENT) == 0) {
                return -1;
            }
            if (shift == 12 || ((e & PS) != 0 && (shift == 21 || shift == 30))) {
                long pageMask = (1L << shift) - 1;
                long phys = (e & ADDR_MASK & ~pageMask) | (vaddr & pageMask);
                cacheVpn[slot] = vpn;
                cachePage[slot] = phys & ~0xfffL;
                return phys;
            }
            table = e & ADDR_MASK;
            shift -= 9;
        }
    }

    private long entry(long table, int index, long vaddr) {
        long at = table + index * 8L;
        try {
            return memory.readLong(at);
        } catch (MemoryFault f) {
            throw new MemoryFault(vaddr, String.format(
                    "translating 0x%016x: page-table entry at physical 0x%x is outside RAM", vaddr, at));
        }
    }

    @Override
    public void read(long vaddr, MemorySegment dst) {
        long size = dst.byteSize();
        long done = 0;
        while (done < size) {
            long va = vaddr + done;
            long n = Math.min(size - done, 0x1000 - (va & 0xfff));
            long pa = translate(va);
            try {
                memory.read(pa, dst.asSlice(done, n));
            } catch (MemoryFault f) {
                throw new MemoryFault(va, String.format(
                        "virtual address 0x%016x maps to physical 0x%x, which is not RAM", va, pa));
            }
            done += n;
        }
    }
}
