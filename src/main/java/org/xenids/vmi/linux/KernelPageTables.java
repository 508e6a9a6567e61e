package org.xenids.vmi.linux;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.CpuState;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Finds the kernel's own top-level page table (init_top_pgt, a.k.a. swapper_pg_dir) in
 * physical memory without a CR3: a page whose last entry leads to the kernel-image mapping
 * (0xffffffff80000000 + 2 MiB-aligned slide), which also maps the direct map (another
 * supervisor entry in the upper half), and which lies inside the kernel image it maps, at
 * the virtual address that mapping gives it. Every process's page table shares the last
 * entry, but only init_top_pgt sits in the image; level4_kernel_pgt (4-level) also sits
 * there but maps nothing but the image.
 *
 * <p>When the memory comes with the vCPUs' registers (an ELF core), the roots whose last entry
 * is the one the CPUs' own CR3 tables have are tried first: a look-alike lower in memory (a
 * previous kernel's leftovers, or tables built on purpose) is then not taken for the kernel's.
 */
final class KernelPageTables {
    private KernelPageTables() {}

    static final long START_KERNEL_MAP = 0xffff_ffff_8000_0000L;
    /** KERNEL_IMAGE_SIZE's upper bound: the kernel-image mapping is at most 1 GiB. */
    static final long MAX_IMAGE = 1L << 30;
    private static final long ADDR = 0x000f_ffff_ffff_f000L;
    private static final long PRESENT = 1;
    private static final long WRITABLE = 2;
    private static final long PS = 1L << 7;
    /** Bounds the search inside candidate images: a real kernel needs one image's pages (< 256k). */
    private static final long MAX_VISITS = 1 << 22;
    /** Bits 52..62 are ignored-or-reserved; kernel tables keep them clear (63 is NX). */
    private static final long HIGH_JUNK = 0x7ff0_0000_0000_0000L;
    private static final boolean LITTLE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /** What the scan found: the root, paging depth, and where _text is (virtual and physical). */
    record Found(long root, boolean fiveLevel, long textVirtual, long textPhysical, long imageSize) {}

    /** Where the kernel image of one candidate top-level entry lies, or null. */
    private record Image(long textVirtual, long textPhysical, long size) {}

    /**
     * Scans every RAM page. {@code preferFiveLevel} (from CR4.LA57 when known) only decides
     * which depth is tried first. Images at the physical addresses in {@code passedOver} (tried
     * and found wanting) are passed over.
     */
    static Found find(PhysicalMemory mem, boolean preferFiveLevel, Set<Long> passedOver) {
        Set<Long> cpuTops = cpuTops(mem);
        Found f = null;
        if (!cpuTops.isEmpty()) {
            f = scan(mem, preferFiveLevel, cpuTops, passedOver);
            if (f == null) {
                f = scan(mem, !preferFiveLevel, cpuTops, passedOver);
            }
        }
        if (f == null) {
            f = scan(mem, preferFiveLevel, null, passedOver);
        }
        if (f == null) {
            f = scan(mem, !preferFiveLevel, null, passedOver);
        }
        if (f == null) {
            throw new IllegalStateException("no x86-64 kernel page table found in " + mem.describe()
                    + (passedOver.isEmpty() ? " (no page maps a kernel image at 0xffffffff80000000+ and lies inside it)"
                            : " besides the " + passedOver.size() + " kernel image(s) passed over"));
        }
        if (!f.fiveLevel()) {
            // Under 5-level paging, level4_kernel_pgt also passes as a 4-level root: it lies in
            // the image and maps more than the image (cpu_entry_area, espfix). The real root
            // is then the image page whose last entry points at it.
            Found above = parentInside(mem, f);
            if (above != null) {
                return above;
            }
        }
        return f;
    }

    private static Found parentInside(PhysicalMemory mem, Found f) {
        long[] page = new long[512];
        MemorySegment pageSeg = MemorySegment.ofArray(page);
        long end = f.textPhysical() + f.imageSize();
        for (long p = f.textPhysical(); p < end; p += 0x1000) {
            if (!mem.contains(p, 0x1000)) {
                continue;
            }
            long e = mem.readLong(p + 511 * 8);
            if (!kernelTable(e) || (e & ADDR) != f.root()) {
                continue;
            }
            mem.read(p, pageSeg);
            if (mapsMoreThanTheImage(page) && AddressSpace.x86_64(mem, p, true)
                    .tryTranslate(f.textVirtual() + (p - f.textPhysical())) == p) {
                return new Found(p, true, f.textVirtual(), f.textPhysical(), f.imageSize());
            }
        }
        return null;
    }

    /**
     * The last entry of each paging vCPU's top-level table: the kernel-image mapping every
     * table of that kernel shares. Under page-table isolation a CPU in user mode runs on the
     * user half of an 8 KiB pair (bit 12 of CR3 set), so the kernel half is read too.
     */
    private static Set<Long> cpuTops(PhysicalMemory mem) {
        Set<Long> tops = new HashSet<>();
        for (CpuState c : mem.cpuStates()) {
            if (!c.paging()) {
                continue;
            }
            for (long root : new long[] {c.pageTableRoot(), c.pageTableRoot() & ~0x1000L}) {
                if (mem.contains(root + 511 * 8, 8)) {
                    long top = mem.readLong(root + 511 * 8);
                    if (kernelTable(top)) {
                        tops.add(top);
                    }
                }
            }
        }
        return tops;
    }

    /**
     * Every RAM page is a candidate; the first whose kernel-image mapping is valid tells where
     * the image is, and the root is then sought inside the image only (every process's table
     * shares that mapping but lies elsewhere). With {@code only} not null, only pages whose last
     * entry is in it are candidates.
     */
    private static Found scan(PhysicalMemory mem, boolean five, Set<Long> only, Set<Long> passedOver) {
        Map<Long, Image> images = new HashMap<>();
        long[] pd = new long[512];
        long[] budget = {MAX_VISITS};
        for (PhysicalMemory.Range r : mem.ranges()) {
            long first = (r.start() + 0xfff) & ~0xfffL;
            for (long p = first; p + 0x1000 <= r.end(); p += 0x1000) {
                long top = mem.readLong(p + 511 * 8);
                if (!kernelTable(top) || images.containsKey(top) || only != null && !only.contains(top)) {
                    continue;
                }
                Image img = image(mem, p, five, pd);
                images.put(top, img);
                if (img != null && !passedOver.contains(img.textPhysical())) {
                    Found f = rootInside(mem, img, top, five, budget);
                    if (f != null) {
                        return f;
                    }
                }
            }
        }
        return null;
    }

    /** The page inside the image that shares {@code top} as its last entry and maps itself there. */
    private static Found rootInside(PhysicalMemory mem, Image img, long top, boolean five, long[] budget) {
        long[] page = new long[512];
        MemorySegment pageSeg = MemorySegment.ofArray(page);
        long end = img.textPhysical() + img.size();
        for (long p = img.textPhysical(); p < end; p += 0x1000) {
            if (!mem.contains(p, 0x1000)) {
                continue; // a partial image may leave out the kernel's code; its data is further on
            }
            if (--budget[0] < 0) {
                throw new IllegalStateException("no x86-64 kernel page table found in " + mem.describe()
                        + ": gave up after " + MAX_VISITS + " page visits for " + "candidate kernel images"
                        + " (memory full of page-table look-alikes)");
            }
            if (mem.readLong(p + 511 * 8) != top) {
                continue;
            }
            mem.read(p, pageSeg);
            if (!mapsMoreThanTheImage(page)) {
                continue;
            }
            AddressSpace s = AddressSpace.x86_64(mem, p, five);
            if (s.tryTranslate(img.textVirtual() + (p - img.textPhysical())) == p) {
                return new Found(p, five, img.textVirtual(), img.textPhysical(), img.size());
            }
        }
        return null;
    }

    /**
     * A present, writable entry to a table (not a large page) with no junk bits. (Linux sets
     * the user bit in upper-level entries too; the leaf entries decide.)
     */
    static boolean kernelTable(long e) {
        return (e & (PRESENT | WRITABLE | PS)) == (PRESENT | WRITABLE) && (e & HIGH_JUNK) == 0;
    }

    /** Another upper-half supervisor entry besides 511: the direct map at least. */
    private static boolean mapsMoreThanTheImage(long[] top) {
        for (int i = 256; i < 511; i++) {
            if (kernelTable(LITTLE ? top[i] : Long.reverseBytes(top[i]))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Follows the candidate's kernel-image mapping: the first mapped 2 MiB slot of
     * 0xffffffff80000000..+1 GiB is _text (cleanup_highmap clears the slots below it); the
     * image reaches to the last mapped slot (freed init memory may leave unmapped gaps). The
     * slots are the 512 entries of one page directory, read at once.
     */
    private static Image image(PhysicalMemory mem, long root, boolean five, long[] pd) {
        long dir = imageDirectory(mem, root, five);
        if (dir < 0) {
            return null;
        }
        mem.read(dir, MemorySegment.ofArray(pd));
        int first = -1;
        int last = -1;
        for (int i = 0; i < 512; i++) {
            long e = LITTLE ? pd[i] : Long.reverseBytes(pd[i]);
            if (slotMapped(mem, e)) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        if (first < 0) {
            return null;
        }
        long text = START_KERNEL_MAP + ((long) first << 21);
        try {
            long phys = AddressSpace.x86_64(mem, root, five).tryTranslate(text);
            if (phys < 0 || (phys & 0x1f_ffff) != 0) {
                return null;
            }
            return new Image(text, phys, (long) (last - first + 1) << 21);
        } catch (MemoryFault f) {
            return null; // a table pointing outside RAM: not a live kernel's tables
        }
    }

    /**
     * Cheap first test: each table from the root down to the image's page directory is valid.
     * Returns that directory's physical address, or -1.
     */
    private static long imageDirectory(PhysicalMemory mem, long root, boolean five) {
        long table = root;
        int[] path = five ? new int[] {511, 511, 510} : new int[] {511, 510};
        for (int index : path) {
            long at = table + index * 8L;
            if (!mem.contains(at, 8)) {
                return -1;
            }
            long e = mem.readLong(at);
            if (!kernelTable(e)) {
                return -1;
            }
            table = e & ADDR;
        }
        return mem.contains(table, 0x1000) ? table : -1;
    }

    /**
     * A page-directory entry maps something: a present 2 MiB page, or a page table (a split
     * large page) whose first or last page is present. The image is contiguous within a slot.
     */
    private static boolean slotMapped(PhysicalMemory mem, long e) {
        if ((e & PRESENT) == 0 || (e & HIGH_JUNK) != 0) {
            return false;
        }
        if ((e & PS) != 0) {
            return true;
        }
        long pt = e & ADDR;
        if (!mem.contains(pt, 0x1000)) {
            return false;
        }
        return (mem.readLong(pt) & PRESENT) != 0 || (mem.readLong(pt + 511 * 8) & PRESENT) != 0;
    }
}
