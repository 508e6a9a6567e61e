package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.CpuState;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/** Discovery on the real images, checked against System.map and the ELF core's CR3. */
class KernelLocatorTest {
    static final Path RAW = SharedData.plain("vmi/nokaslr-hidden.raw.xz");
    static final Path ELF = SharedData.plain("vmi/kaslr-hidden.elf.xz");
    static final Path MAP = SharedData.file("vmi/System.map-6.1.0-56-amd64.xz");
    static final long START_KERNEL_MAP = 0xffffffff80000000L;
    static final String BANNER = "Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)";

    static SymbolTable systemMap() {
        return SymbolFile.read(MAP);
    }

    /** Physical address System.map puts a kernel-image symbol at, given the README's slide and phys_base. */
    static long physOf(SymbolTable map, String name, long slide, long physBase) {
        return map.require(name) + slide - START_KERNEL_MAP + physBase;
    }

    @Test
    void findsTheNokaslrKernelWithoutConfiguration() {
        try (PhysicalMemory m = MemorySources.open(RAW)) {
            long t0 = System.nanoTime();
            LinuxKernel k = KernelLocator.locate(m);
            System.out.printf("discovery on %s: %.0f ms%n", RAW.getFileName(), (System.nanoTime() - t0) / 1e6);
            SymbolTable map = systemMap();
            assertTrue(k.banner().startsWith(BANNER), k.banner());
            assertEquals(0, k.virtualSlide());
            assertEquals(0, k.physBase());
            assertEquals(map.require("_text"), k.textVirtual());
            assertEquals(0x1000000, k.textPhysical());
            assertFalse(k.fiveLevel());
            assertEquals(physOf(map, "init_top_pgt", 0, 0), k.pageTableRoot());
            assertEquals(0xffff888000000000L, k.pageOffsetBase());
            assertTrue(k.symbols().source().startsWith("kallsyms tables in memory at 0x"), k.symbols().source());
            assertEquals(map.require("init_task"), k.symbols().require("init_task"));
        }
    }

    @Test
    void findsTheKaslrKernelsSlidePhysBaseAndRandomDirectMap() {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            long t0 = System.nanoTime();
            LinuxKernel k = KernelLocator.locate(m);
            System.out.printf("discovery on %s: %.0f ms%n", ELF.getFileName(), (System.nanoTime() - t0) / 1e6);
            SymbolTable map = systemMap();
            assertTrue(k.banner().startsWith(BANNER), k.banner());
            assertEquals(0x1400000, k.virtualSlide());
            assertEquals(0x3400000, k.physBase());
            assertEquals(map.require("_text") + 0x1400000, k.textVirtual());
            assertEquals(physOf(map, "init_top_pgt", 0x1400000, 0x3400000), k.pageTableRoot());
            assertEquals(k.pageTableRoot(), k.kernel().translate(k.symbols().require("init_top_pgt")));
            // Randomised direct map: not the default base, PUD-aligned, and it maps physical memory.
            assertNotEquals(0xffff888000000000L, k.pageOffsetBase());
            assertEquals(0, k.pageOffsetBase() & ((1L << 30) - 1));
            assertEquals(0x1234560, k.kernel().translate(k.pageOffsetBase() + 0x1234560));
        }
    }

    @Test
    void scanFoundRootTranslatesKernelAddressesLikeTheCoresCr3() {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            LinuxKernel k = KernelLocator.locate(m);
            CpuState cpu = m.cpuStates().getFirst();
            AddressSpace viaCr3 = AddressSpace.x86_64(m, cpu.cr3(), cpu.la57());
            Symbols s = k.symbols();
            List<Long> probes = new ArrayList<>(List.of(k.textVirtual(), s.require("linux_banner"),
                    s.require("init_task"), s.require("page_offset_base"), s.require("init_pid_ns"),
                    k.pageOffsetBase(), k.pageOffsetBase() + 0x8000000));
            for (long va : probes) {
                assertEquals(viaCr3.translate(va), k.kernel().translate(va), Long.toHexString(va));
            }
        }
    }

    @Test
    void inMemoryKallsymsAgreesWithSystemMapAfterSlide() {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            LinuxKernel k = KernelLocator.locate(m);
            SymbolTable mem = (SymbolTable) k.symbols();
            SymbolTable map = systemMap();
            Map<String, List<Long>> byName = new HashMap<>();
            for (int i = 0; i < map.size(); i++) {
                byName.computeIfAbsent(map.name(i), x -> new ArrayList<>()).add(map.address(i));
            }
            Map<String, List<Long>> inMemory = new HashMap<>();
            int matched = 0;
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < mem.size(); i++) {
                long a = mem.address(i);
                boolean image = Long.compareUnsigned(a - START_KERNEL_MAP, 1L << 30) < 0;
                long linkTime = image ? a - k.virtualSlide() : a;
                inMemory.computeIfAbsent(mem.name(i), x -> new ArrayList<>()).add(linkTime);
                List<Long> want = byName.get(mem.name(i));
                if (want != null) {
                    if (want.contains(linkTime)) {
                        matched++;
                    } else if (wrong.size() < 5) {
                        wrong.add(mem.name(i) + "@" + Long.toHexString(a));
                    }
                }
            }
            assertTrue(wrong.isEmpty(), "kallsyms symbols not in System.map: " + wrong);
            assertTrue(matched > 90_000, "matched " + matched);
            // The other way: every text/data symbol of System.map whose name kallsyms has is at its address.
            int checked = 0;
            for (int i = 0; i < map.size(); i++) {
                char t = Character.toLowerCase(map.type(i));
                List<Long> got = inMemory.get(map.name(i));
                if ("tdrb".indexOf(t) >= 0 && got != null) {
                    assertTrue(got.contains(map.address(i)), map.name(i));
                    checked++;
                }
            }
            assertTrue(checked > 90_000, "checked " + checked);
        }
    }

    @Test
    void systemMapGivenIsSlidToTheRunningKernel() {
        try (PhysicalMemory m = MemorySources.open(ELF)) {
            LinuxKernel k = KernelLocator.locate(m, MAP);
            assertTrue(k.symbols().source().contains("System.map-6.1.0-56-amd64"), k.symbols().source());
            assertEquals(0x1400000, k.virtualSlide());
            assertEquals(0x3400000, k.physBase());
            LinuxKernel fromMemory = KernelLocator.locate(m);
            for (String name : List.of("init_task", "init_top_pgt", "linux_banner", "init_pid_ns", "page_offset_base")) {
                assertEquals(fromMemory.symbols().require(name), k.symbols().require(name), name);
            }
            assertEquals(fromMemory.pageOffsetBase(), k.pageOffsetBase());
            assertTrue(k.banner().startsWith(BANNER), k.banner());
        }
    }
}
