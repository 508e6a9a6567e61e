package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.xenids.testdata.LiveGuest;

/**
 * {@code xenids vmi info} and {@code vmi ps} on a running guest against what the guest says about
 * itself: /proc/version, /proc/kallsyms, /proc/iomem, the la57 CPU flag (cleared by the kernel when
 * it does not run 5-level paging), kernel pointers of netlink sockets (direct-map addresses), its
 * own process list, and kernel variables read straight from the RAM file at the physical addresses
 * the guest's kallsyms and iomem give. Nothing here goes through xenids' own discovery.
 */
final class LiveAgreement {
    private LiveAgreement() {}

    static final long START_KERNEL_MAP = 0xffffffff80000000L;
    static final long DEFAULT_TEXT = 0xffffffff81000000L;

    /** What the guest says about its kernel. */
    record GuestKernel(String banner, long text, long codePhysical, long initTopPgt, long physBase,
                       boolean la57, int pgtableL5Enabled, List<Long> socketPointers) {
        long physicalOf(long symbol) { return symbol - text + codePhysical; }
    }

    /** `vmi info` lines as key → value (text after the first colon, stripped). */
    record Info(Map<String, String> lines) {
        String get(String key) {
            String v = lines.get(key);
            if (v == null) throw new AssertionError("vmi info printed no '" + key + "': " + lines);
            return v;
        }
        long hex(String key, int group) {
            List<String> h = new ArrayList<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("0x([0-9a-f]+)").matcher(get(key));
            while (m.find()) h.add(m.group(1));
            return Long.parseUnsignedLong(h.get(group), 16);
        }
    }

    static String[] cli(String... args) {
        return org.xenids.testdata.Cli.run(args);
    }

    static GuestKernel guestKernel(LiveGuest vm) {
        Map<String, Long> sym = vm.kallsyms("_text", "init_top_pgt", "phys_base", "__pgtable_l5_enabled");
        // kptr_restrict=1 shows root the real socket pointers (0 hashes them); put back as it was.
        String out = vm.shell("cat /proc/version; grep 'Kernel code' /proc/iomem; echo la57=$(grep -m1 '^flags' /proc/cpuinfo | grep -c -w la57);"
                + " k=$(cat /proc/sys/kernel/kptr_restrict); echo 1 >/proc/sys/kernel/kptr_restrict;"
                + " awk 'NR > 1 {print \"sk=\" $1}' /proc/net/netlink; echo $k >/proc/sys/kernel/kptr_restrict");
        List<String> lines = out.lines().toList();
        String banner = lines.get(0).strip();
        assertTrue(banner.startsWith("Linux version "), out);
        long code = Long.parseLong(lines.get(1).strip().split("-")[0], 16);
        boolean la57 = lines.contains("la57=1");
        List<Long> sockets = lines.stream().filter(l -> l.startsWith("sk=")).map(l -> Long.parseUnsignedLong(l.substring(3), 16)).toList();
        assertFalse(sockets.isEmpty(), "the kernel's own netlink sockets: " + out);
        long text = sym.get("_text");
        long physBase = readLong(vm, sym.get("phys_base") - text + code);
        int l5 = (int) readLong(vm, sym.get("__pgtable_l5_enabled") - text + code);
        return new GuestKernel(banner, text, code, sym.get("init_top_pgt"), physBase, la57, l5, sockets);
    }

    static long readLong(LiveGuest vm, long physical) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(vm.ramFile(), StandardOpenOption.READ)) {
            ch.read(b, physical);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.getLong(0);
    }

    static Info info(LiveGuest vm) {
        String[] r = cli("vmi", "info", "--live", "--memory", vm.ramFile().toString());
        assertEquals("0", r[0], r[2]);
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : r[1].lines().toList()) {
            int c = l.indexOf(':');
            if (c > 0) m.put(l.substring(0, c), l.substring(c + 1).strip());
        }
        return new Info(m);
    }

    /** Every `vmi info` line that the guest can confirm, confirmed; returns both sides. */
    static GuestKernel assertInfoMatchesGuest(LiveGuest vm) {
        GuestKernel g = guestKernel(vm);
        Info i = info(vm);
        assertEquals(g.banner(), i.get("kernel"), "banner = /proc/version");
        assertEquals(g.text(), i.hex("_text", 0), "_text virtual = kallsyms");
        assertEquals(g.codePhysical(), i.hex("_text", 1), "_text physical = iomem Kernel code");
        assertEquals(g.text() - DEFAULT_TEXT, i.hex("KASLR slide", 0), "slide");
        assertEquals(g.physBase(), i.hex("phys_base", 0), "the kernel's own phys_base variable");
        assertEquals(g.codePhysical() - (g.text() - START_KERNEL_MAP), g.physBase(), "phys_base as the kernel defines it");
        assertEquals(g.physicalOf(g.initTopPgt()), i.hex("DTB", 0), "DTB = init_top_pgt");
        assertEquals(g.la57() ? 1 : 0, g.pgtableL5Enabled(), "la57 flag agrees with __pgtable_l5_enabled");
        assertTrue(i.get("DTB").contains(g.la57() ? "5-level paging" : "4-level paging"), i.get("DTB"));
        long directMap = i.hex("direct map", 0);
        for (long sk : g.socketPointers()) {
            assertTrue(Long.compareUnsigned(sk, directMap) >= 0 && Long.compareUnsigned(sk - directMap, vm.ramSize()) < 0,
                    String.format("netlink socket 0x%x in the direct map at 0x%x", sk, directMap));
        }
        return g;
    }

    /**
     * `vmi ps --json` on the paused guest equals its own list taken just before (pid, ppid, comm as
     * the kernel holds it); kworkers are left out on both sides, the kernel creates and renames them
     * at any time. Returns the task addresses `vmi ps` printed.
     */
    static List<Long> assertPsMatchesGuest(LiveGuest vm) throws IOException {
        List<LiveGuest.Proc> own = vm.psNow();
        String[] r;
        vm.pause();
        try {
            r = cli("vmi", "ps", "--live", "--json", "--memory", vm.ramFile().toString());
        } finally {
            vm.resume();
        }
        assertEquals("0", r[0], r[2]);
        JsonNode root = new ObjectMapper().readTree(r[1]);
        assertEquals(0, root.path("anomalies").size(), r[1]);
        Set<String> ours = new TreeSet<>();
        List<Long> addresses = new ArrayList<>();
        for (JsonNode t : root.path("tasks")) {
            addresses.add(Long.parseUnsignedLong(t.path("address").asText().substring(2), 16));
            if (t.path("pid").asInt() != 0) { // the idle task is not in /proc
                ours.add(t.path("pid").asInt() + " " + t.path("ppid").asInt() + " " + t.path("comm").asText());
            }
        }
        Set<String> theirs = own.stream().map(p -> p.pid() + " " + p.ppid() + " " + p.taskComm())
                .collect(Collectors.toCollection(TreeSet::new));
        ours.removeIf(s -> s.contains(" kworker/"));
        theirs.removeIf(s -> s.contains(" kworker/"));
        assertTrue(theirs.size() > 40, "a real list: " + theirs.size());
        assertEquals(theirs, ours);
        return addresses;
    }
}
