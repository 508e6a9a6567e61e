package org.xenids.vmi.linux;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.arch.AddressSpace;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * The two shared memory images opened for tests with nothing but the image: kernel discovery
 * (page tables, KASLR, kallsyms in memory) and the kernel's BTF found in its memory.
 */
final class GuestImages {
    private GuestImages() {}

    record Image(String name, PhysicalMemory memory, AddressSpace kernel, Symbols symbols, KernelTypes types) {
        LinuxGuest guest() { return LinuxGuest.open(memory, kernel, symbols, types); }
    }

    record Truth(List<int[]> pidTgid, List<String> comms, List<Integer> hiddenPids, List<String> hiddenComms) {}

    private static Image nokaslr;
    private static Image kaslr;

    /** Only the image: kernel found by discovery, symbols from its kallsyms, BTF from its memory. */
    static synchronized Image nokaslr() {
        if (nokaslr == null) {
            nokaslr = locate("nokaslr-hidden", SharedData.plain("vmi/nokaslr-hidden.raw.xz"));
        }
        return nokaslr;
    }

    static synchronized Image kaslr() {
        if (kaslr == null) {
            kaslr = locate("kaslr-hidden", SharedData.plain("vmi/kaslr-hidden.elf.xz"));
        }
        return kaslr;
    }

    static Image locate(String name, java.nio.file.Path file) {
        PhysicalMemory pm = MemorySources.open(file);
        LinuxKernel k = KernelLocator.locate(pm);
        return new Image(name, pm, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(pm, k));
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
