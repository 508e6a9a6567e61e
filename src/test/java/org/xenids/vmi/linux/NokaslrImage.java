package org.xenids.vmi.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.arch.VirtualMemory;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * Test-only access to the nokaslr raw image without vmi.core: the file mapped as physical memory,
 * a linear translation valid for that kernel only (text at 0xffffffff80000000 + phys_base 0,
 * direct map at 0xffff888000000000) and the System.map. Used to check the walkers against
 * an independent, trivially correct address space.
 */
final class NokaslrImage {
    static final long KERNEL_MAP = 0xffffffff80000000L;
    static final long DIRECT_MAP = 0xffff888000000000L;

    private static PhysicalMemory memory;
    private static Symbols symbols;

    private NokaslrImage() {}

    static synchronized PhysicalMemory memory() {
        if (memory == null) {
            memory = mapRaw(SharedData.plain("vmi/nokaslr-hidden.raw.xz"));
        }
        return memory;
    }

    static PhysicalMemory mapRaw(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.global());
            List<PhysicalMemory.Range> ranges = List.of(new PhysicalMemory.Range(0, seg.byteSize()));
            return new PhysicalMemory() {
                @Override public List<Range> ranges() { return ranges; }
                @Override public void read(long paddr, MemorySegment dst) {
                    if (paddr < 0 || paddr > seg.byteSize() - dst.byteSize()) {
                        throw new MemoryFault(paddr, String.format("physical address 0x%x outside the image", paddr));
                    }
                    MemorySegment.copy(seg, paddr, dst, 0, dst.byteSize());
                }
                @Override public String describe() { return "raw image " + file; }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static VirtualMemory virtual() {
        PhysicalMemory pm = memory();
        return new VirtualMemory() {
            @Override public long translate(long vaddr) {
                VirtualMemory.requireCanonical48(vaddr);
                long pa;
                if (Long.compareUnsigned(vaddr, KERNEL_MAP) >= 0) {
                    pa = vaddr - KERNEL_MAP;
                } else if (Long.compareUnsigned(vaddr, DIRECT_MAP) >= 0 && Long.compareUnsigned(vaddr, DIRECT_MAP + (1L << 40)) < 0) {
                    pa = vaddr - DIRECT_MAP;
                } else {
                    throw new MemoryFault(vaddr, String.format("virtual address 0x%016x not mapped", vaddr));
                }
                if (!pm.contains(pa, 1)) {
                    throw new MemoryFault(vaddr, String.format("virtual address 0x%016x not mapped", vaddr));
                }
                return pa;
            }
            @Override public void read(long vaddr, MemorySegment dst) {
                long done = 0;
                while (done < dst.byteSize()) {
                    long va = vaddr + done;
                    long n = Math.min(dst.byteSize() - done, 4096 - (va & 4095));
                    pm.read(translate(va), dst.asSlice(done, n));
                    done += n;
                }
            }
            @Override public long dtb() { return 0x2a10000L; }
        };
    }

    static synchronized Symbols symbols() {
        if (symbols == null) {
            symbols = systemMap(SharedData.plain("vmi/System.map-6.1.0-56-amd64.xz"));
        }
        return symbols;
    }

    static Symbols systemMap(Path file) {
        Map<String, Long> map = new HashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.split(" ");
                if (f.length == 3) {
                    map.putIfAbsent(f[2], Long.parseUnsignedLong(f[0], 16));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Symbols() {
            @Override public OptionalLong address(String name) {
                Long a = map.get(name);
                return a == null ? OptionalLong.empty() : OptionalLong.of(a);
            }
            @Override public String source() { return "System.map " + file; }
        };
    }

    /** The kernel's BTF bytes, located by __start_BTF/__stop_BTF. */
    static byte[] btfBytes() {
        long start = symbols().require("__start_BTF");
        long stop = symbols().require("__stop_BTF");
        byte[] b = new byte[(int) (stop - start)];
        virtual().read(start, MemorySegment.ofArray(b));
        return b;
    }
}
