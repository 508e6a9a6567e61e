package org.xenids.vmi.linux;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Finds a Linux x86-64 kernel in guest physical memory with no configuration: its page
 * tables by scanning (no CR3 needed), KASLR slide and phys_base from those tables, its
 * symbols from its own kallsyms tables (or a System.map / kallsyms file), the direct map
 * base from page_offset_base, and its banner. Each finding is checked against another
 * (e.g. _text from kallsyms against the page tables), so a wrong guess fails loudly.
 */
public final class KernelLocator {
    private KernelLocator() {}

    /** Default link-time _text: __START_KERNEL_map + CONFIG_PHYSICAL_START (16 MiB). */
    static final long DEFAULT_TEXT = 0xffff_ffff_8100_0000L;
    /** The part of the image read to find kallsyms and the banner (.text + .rodata fit). */
    static final long MAX_SEARCH = 256L << 20;
    /**
     * Read first: kallsyms sits in .rodata after .text, within 32 MiB of _text in distribution
     * kernels; only when it is not there is the rest read too.
     */
    static final long FIRST_READ = 32L << 20;
    private static final byte[] BANNER = "Linux version ".getBytes(StandardCharsets.ISO_8859_1);
    /**
     * Kernel images tried: page tables that look like a kernel's but lead to no kallsyms or to
     * checks that fail (a previous kernel's leftovers, a look-alike) are passed over for the
     * next, up to this many.
     */
    static final int MAX_IMAGES = 4;

    /** Locates the kernel using its own kallsyms tables in memory. */
    public static LinuxKernel locate(PhysicalMemory memory) {
        return locate(memory, null);
    }

    /**
     * Locates the kernel; symbols come from {@code symbolFile} (System.map or /proc/kallsyms
     * format, optionally .xz) when not null, else from the kernel's kallsyms tables.
     */
    public static LinuxKernel locate(PhysicalMemory memory, Path symbolFile) {
        boolean la57 = memory.cpuStates().stream().anyMatch(c -> c.paging() && c.la57());
        Set<Long> passedOver = new HashSet<>();
        IllegalStateException first = null;
        int tried = 0;
        while (tried < MAX_IMAGES) {
            KernelPageTables.Found f;
            try {
                f = KernelPageTables.find(memory, la57, passedOver);
            } catch (IllegalStateException none) {
                if (first == null) {
                    throw none;
                }
                break;
            }
            tried++;
            IllegalStateException failed;
            try {
                return locate(memory, symbolFile, f);
            } catch (IllegalStateException e) {
                failed = e;
            } catch (MemoryFault e) {
                // A look-alike's symbols may point where its page tables map nothing: a reason
                // to pass it over like any other failed check, not to end discovery.
                failed = new IllegalStateException(String.format("%s (kernel image at physical 0x%x): %s, reading its symbols",
                        memory.describe(), f.textPhysical(), e.getMessage()), e);
            }
            first = first == null ? failed : first;
            passedOver.add(f.textPhysical());
        }
        // The first image's reason: usually the only image, or the kernel's own.
        throw tried == 1 ? first : new IllegalStateException(first.getMessage()
                + " (and " + (tried - 1) + " more kernel image look-alike(s) failed)");
    }

    private static LinuxKernel locate(PhysicalMemory memory, Path symbolFile, KernelPageTables.Found f) {
        AddressSpace kernel = AddressSpace.x86_64(memory, f.root(), f.fiveLevel());
        String where = String.format("%s (kernel image at physical 0x%x)", memory.describe(), f.textPhysical());
        byte[] image = readImage(memory, f, FIRST_READ);

        SymbolTable symbols;
        long linkText = DEFAULT_TEXT;
        if (symbolFile == null) {
            try {
                symbols = Kallsyms.find(image, f.textVirtual(), where);
            } catch (IllegalStateException notInFirstPart) {
                if (image.length == imageLength(memory, f)) {
                    throw notInFirstPart;
                }
                image = readImage(memory, f, MAX_SEARCH);
                symbols = Kallsyms.find(image, f.textVirtual(), where);
            }
            check(symbols, "_text", f.textVirtual(), "the page tables' kernel mapping");
        } else {
            SymbolTable file = SymbolFile.read(symbolFile);
            long fileText = file.address("_text").orElseThrow(() ->
                    new IllegalArgumentException(symbolFile + ": no _text symbol; not a kernel symbol map"));
            if (fileText == 0) {
                throw new IllegalArgumentException(symbolFile + ": _text is at 0: addresses hidden by kptr_restrict"
                        + " (read /proc/kallsyms as root)");
            }
            if (fileText != f.textVirtual()) {
                linkText = fileText; // link-time addresses: a System.map of this build
            }
            symbols = file.slid(f.textVirtual() - fileText,
                    "symbol file " + symbolFile + " (slid by 0x" + Long.toHexString(f.textVirtual() - fileText) + ")");
        }

        long physBase = f.textPhysical() - (f.textVirtual() - KernelPageTables.START_KERNEL_MAP);
        OptionalLong physBaseSym = symbols.address("phys_base");
        if (physBaseSym.isPresent()) {
            long v = kernel.u64(physBaseSym.getAsLong());
            if (v != physBase) {
                throw new IllegalStateException(String.format(
                        "phys_base in memory is 0x%x but the page tables say 0x%x (symbols from %s do not fit this kernel)",
                        v, physBase, symbols.source()));
            }
        }
        OptionalLong l5 = symbols.address("__pgtable_l5_enabled");
        if (l5.isPresent() && (kernel.u32(l5.getAsLong()) != 0) != f.fiveLevel()) {
            throw new IllegalStateException("__pgtable_l5_enabled disagrees with the page tables' depth ("
                    + (f.fiveLevel() ? 5 : 4) + " levels)");
        }
        long pageOffsetBase = kernel.u64(symbols.require("page_offset_base"));
        if (kernel.tryTranslate(pageOffsetBase + f.textPhysical()) != f.textPhysical()) {
            throw new IllegalStateException(String.format(
                    "page_offset_base 0x%x does not direct-map physical memory (symbols from %s)",
                    pageOffsetBase, symbols.source()));
        }
        String banner = banner(kernel, symbols, image);
        return new LinuxKernel(banner, f.textVirtual(), f.textPhysical(), f.imageSize(), f.textVirtual() - linkText,
                physBase, f.root(), f.fiveLevel(), pageOffsetBase, symbols, kernel);
    }

    /**
     * The image from _text, read physically (freed init memory is unmapped but still RAM). Pages
     * the memory does not hold (a partial dump without the kernel's code) read as zeros: the
     * searches that follow look for data, and bounds-checked parsers see no table in zeros.
     */
    private static byte[] readImage(PhysicalMemory memory, KernelPageTables.Found f, long max) {
        byte[] b = new byte[(int) Math.min(imageLength(memory, f), max)];
        MemorySegment seg = MemorySegment.ofArray(b);
        if (memory.contains(f.textPhysical(), b.length)) {
            memory.read(f.textPhysical(), seg);
            return b;
        }
        for (int at = 0; at < b.length; at += 0x1000) {
            int n = Math.min(0x1000, b.length - at);
            if (memory.contains(f.textPhysical() + at, n)) {
                memory.read(f.textPhysical() + at, seg.asSlice(at, n));
            }
        }
        return b;
    }

    /** How much of the image is searched: up to MAX_SEARCH, within the RAM range holding _text. */
    private static long imageLength(PhysicalMemory memory, KernelPageTables.Found f) {
        long len = Math.min(f.imageSize(), MAX_SEARCH);
        for (PhysicalMemory.Range r : memory.ranges()) {
            if (r.contains(f.textPhysical(), 1)) {
                len = Math.min(len, r.end() - f.textPhysical());
            }
        }
        return len;
    }

    private static void check(SymbolTable symbols, String name, long expected, String what) {
        long got = symbols.require(name);
        if (got != expected) {
            throw new IllegalStateException(String.format("%s says %s is at 0x%x but %s puts it at 0x%x",
                    symbols.source(), name, got, what, expected));
        }
    }

    /**
     * linux_banner read at its symbol; without the symbol, the first "Linux version " string in
     * the image (the printk buffer holds more copies, but outside the image).
     */
    private static String banner(AddressSpace kernel, Symbols symbols, byte[] image) {
        OptionalLong sym = symbols.address("linux_banner");
        String b;
        if (sym.isPresent()) {
            try {
                b = kernel.cString(sym.getAsLong(), 512);
            } catch (MemoryFault e) {
                throw new IllegalStateException("linux_banner at 0x" + Long.toHexString(sym.getAsLong())
                        + " is not readable: " + e.getMessage() + " (symbols from " + symbols.source() + ")");
            }
            if (!b.startsWith("Linux version ")) {
                throw new IllegalStateException("linux_banner at 0x" + Long.toHexString(sym.getAsLong())
                        + " does not hold a Linux banner: symbols from " + symbols.source() + " do not fit this kernel");
            }
        } else {
            int at = Kallsyms.indexOf(image, BANNER, 0);
            if (at < 0) {
                return "";
            }
            int end = at;
            while (end < image.length && end - at < 512 && image[end] != 0) {
                end++;
            }
            b = new String(image, at, end - at, StandardCharsets.ISO_8859_1);
        }
        return b.strip();
    }

}
