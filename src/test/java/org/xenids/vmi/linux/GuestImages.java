package org.xenids.vmi.linux;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * The two shared memory images opened for tests, with the System.map shifted by the image's
 * known KASLR slide (until kernel discovery finds it by itself) and BTF read from the image.
 */
final class GuestImages {
    private GuestImages() {}

    record Image(String name, PhysicalMemory memory, AddressSpace kernel, Symbols symbols, KernelTypes types) {
        LinuxGuest guest() { return LinuxGuest.open(memory, kernel, symbols, types); }
    }

    record Truth(List<int[]> pidTgid, List<String> comms, List<Integer> hiddenPids, List<String> hiddenComms) {}

    private static Image nokaslr;
    private static Image kaslr;

    static synchronized Image nokaslr() {
        if (nokaslr == null) {
            PhysicalMemory pm = MemorySources.open(SharedData.plain("vmi/nokaslr-hidden.raw.xz"));
            AddressSpace as = AddressSpace.x86_64(pm, 0x2a10000L, false);
            Symbols syms = NokaslrImage.symbols();
            nokaslr = new Image("nokaslr-hidden", pm, as, syms, LinuxGuest.btfFromMemory(pm, as, syms));
        }
        return nokaslr;
    }

    static final long KASLR_SLIDE = 0x1400000L;

    static synchronized Image kaslr() {
        if (kaslr == null) {
            PhysicalMemory pm = MemorySources.open(SharedData.plain("vmi/kaslr-hidden.elf.xz"));
            long cr3 = pm.cpuStates().get(0).cr3();
            AddressSpace as = AddressSpace.x86_64(pm, cr3 & ~0xfffL, false);
            Symbols map = NokaslrImage.symbols();
            Symbols syms = new Symbols() {
                @Override public OptionalLong address(String name) {
                    OptionalLong a = map.address(name);
                    return a.isPresent() ? OptionalLong.of(a.getAsLong() + KASLR_SLIDE) : a;
                }
                @Override public String source() { return map.source() + " + slide 0x1400000"; }
            };
            kaslr = new Image("kaslr-hidden", pm, as, syms, LinuxGuest.btfFromMemory(pm, as, syms));
        }
        return kaslr;
    }

    static Truth truth(String image) {
        try {
            JsonNode root = new ObjectMapper().readTree(SharedData.file("vmi/" + image + ".truth.json").toFile());
            List<int[]> ids = new ArrayList<>();
            List<String> comms = new ArrayList<>();
            for (JsonNode t : root.path("task_list")) {
                ids.add(new int[] {t.path("pid").asInt(), t.path("tgid").asInt()});
                comms.add(t.path("comm").asText());
            }
            List<Integer> hp = new ArrayList<>();
            List<String> hc = new ArrayList<>();
            for (JsonNode h : root.path("hidden")) {
                hp.add(h.path("pid").asInt());
                hc.add(h.path("comm").asText());
            }
            return new Truth(ids, comms, hp, hc);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
