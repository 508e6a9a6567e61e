package org.xenids.vmi.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;

class TypeSourcesTest {
    static KernelTypes isf;

    @BeforeAll
    static void loadIsf() throws IOException {
        isf = KernelTypes.fromIsf(SharedData.plain("vmi/debian-6.1.0-56-amd64.isf.json.xz"));
    }

    @Test
    void btfAndIsfAgreeOnEveryOffsetTheWalkersUse() {
        KernelTypes btf = GuestImages.nokaslr().types();
        for (String path : Layout.PATHS) {
            KernelTypes.Member a = btf.member(path);
            KernelTypes.Member b = isf.member(path);
            assertEquals(a.offset(), b.offset(), path + " offset");
            assertEquals(a.size(), b.size(), path + " size");
        }
        for (String s : List.of("task_struct", "pid", "xa_node", "cred", "pid_namespace", "signal_struct")) {
            assertEquals(btf.sizeOf(s), isf.sizeOf(s), s + " size");
        }
        assertEquals(Layout.of(btf).tasks(), Layout.of(isf).tasks());
    }

    @Test
    void isfFlattensAnonymousUnionsAndBitfields() {
        assertEquals(24, isf.offset("xa_node.private_list"));
        KernelTypes.Member m = isf.member("task_struct.sched_reset_on_fork");
        KernelTypes.Member b = GuestImages.nokaslr().types().member("task_struct.sched_reset_on_fork");
        assertTrue(m.bitfield());
        assertEquals(b.offset() * 8 + b.bitOffset(), m.offset() * 8 + m.bitOffset());
        assertEquals(b.bitSize(), m.bitSize());
    }

    @Test
    void isfListsTheSameProcessesAsBtf() {
        GuestImages.Image img = GuestImages.nokaslr();
        var viaIsf = LinuxGuest.open(img.memory(), img.kernel(), img.symbols(), isf).processes(false).tasks();
        var viaBtf = img.guest().processes(false).tasks();
        assertEquals(GuestImages.truth("nokaslr-hidden").comms().size(), viaBtf.size(), "the image's listed tasks");
        assertEquals(viaBtf, viaIsf);
    }

    /** A LibVMI config as a user writes it for this kernel (values taken from the ISF here). */
    static String libvmiConfig(KernelTypes t) {
        return String.format("""
                nokaslr-hidden {
                    ostype = "Linux";
                    sysmap = "/tmp/System.map";
                    linux_tasks = 0x%x;
                    linux_mm = 0x%x;
                    linux_pid = 0x%x;
                    linux_name = 0x%x;
                    linux_pgd = 0x%x;
                }
                """, t.offset("task_struct.tasks"), t.offset("task_struct.mm"), t.offset("task_struct.pid"),
                t.offset("task_struct.comm"), t.offset("mm_struct.pgd"));
    }

    @Test
    void libvmiConfigListsPidsAndCommsButNoOtherViews(@TempDir Path dir) throws IOException {
        Path conf = dir.resolve("libvmi.conf");
        Files.writeString(conf, libvmiConfig(isf));
        KernelTypes lv = KernelTypes.fromLibvmiConfig(conf);
        GuestImages.Image img = GuestImages.nokaslr();
        LinuxGuest g = LinuxGuest.open(img.memory(), img.kernel(), img.symbols(), lv);
        var tasks = g.processes(false).tasks();
        var expected = img.guest().processes(false).tasks();
        assertEquals(expected.size(), tasks.size());
        for (int i = 0; i < tasks.size(); i++) {
            assertEquals(expected.get(i).pid(), tasks.get(i).pid());
            assertEquals(expected.get(i).comm(), tasks.get(i).comm());
            assertEquals(-1, tasks.get(i).tgid());
        }
        CrossView cv = g.crossView();
        assertEquals(List.of(CrossView.TASK_LIST), cv.views());
        assertEquals(3, cv.unavailable().size());
        assertFalse(lv.has("task_struct.tgid"));
    }

    @Test
    void libvmiConfigWithoutTasksOffsetIsRejectedNamingTheKey() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> LibvmiConfigTypes.parse("g { linux_name = 0x10; linux_pid = 8; }", "conf"));
        assertTrue(e.getMessage().contains("linux_tasks"), e.getMessage());
    }

    @Test
    void anIsfFileExpandingPastTheBoundIsRefusedBeforeItsTreeIsBuilt(@TempDir Path dir) throws IOException {
        // 1 MiB of JSON, compressed to a few hundred bytes: a bomb in miniature, against a 256 KiB bound.
        String json = "{\"user_types\": {}, \"pad\": [" + "0,".repeat(512 << 10) + "0]}";
        Path xz = dir.resolve("bomb.isf.json.xz");
        try (var out = new org.tukaani.xz.XZOutputStream(Files.newOutputStream(xz), new org.tukaani.xz.LZMA2Options())) {
            out.write(json.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        assertTrue(Files.size(xz) < 4096, Files.size(xz) + " bytes");
        var e = assertThrows(IllegalArgumentException.class, () -> IsfTypes.load(xz, 256 << 10));
        assertTrue(e.getMessage().startsWith(xz + ": more than 262144 bytes of JSON once decompressed; not a kernel's ISF file"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        Path plain = dir.resolve("big.isf.json");
        Files.writeString(plain, json);
        var p = assertThrows(IllegalArgumentException.class, () -> IsfTypes.load(plain, 256 << 10));
        assertTrue(p.getMessage().startsWith(plain + ": more than 262144 bytes of JSON; not"), p.getMessage());
        // Under the bound, the same file loads.
        assertEquals("ISF file " + xz, IsfTypes.load(xz, 2 << 20).source());
    }

    @Test
    void anIsfTypeNameWithControlCharactersIsShownEscapedOnOneLine() throws IOException {
        String json = """
                {"user_types": {
                  "task_struct": {"size": 16, "fields": {"tasks": {"offset": 0, "type": {"kind": "struct", "name": "list\\nhead\\u001b[2J"}}}},
                  "list\\nhead\\u001b[2J": {"size": 16, "fields": {}}}}""";
        KernelTypes t = IsfTypes.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json), "ISF test");
        var e = assertThrows(IllegalArgumentException.class, () -> t.member("task_struct.tasks.nope"));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains("no member 'nope' in list\\x0ahead\\x1b[2J (ISF test)"), e.getMessage());
    }

    /** Thirty levels of three anonymous members of the next level's type: 3^30 paths to search unbounded. */
    @Test
    void anIsfFileWhoseAnonymousMembersShareTypesIsSearchedWithinABound() throws IOException {
        StringBuilder json = new StringBuilder("{\"user_types\": {");
        for (int level = 0; level < 30; level++) {
            json.append('"').append(level == 0 ? "task_struct" : "s" + level).append("\": {\"size\": 8, \"fields\": {");
            for (int m = 0; m < 3; m++) {
                json.append(m == 0 ? "" : ", ").append("\"u").append(m).append("\": {\"offset\": 0, \"anonymous\": true,")
                        .append(" \"type\": {\"kind\": \"union\", \"name\": \"s").append(level + 1).append("\"}}");
            }
            json.append("}}, ");
        }
        json.append("\"s30\": {\"size\": 8, \"fields\": {}}}}");
        KernelTypes t = IsfTypes.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toString()), "ISF test");
        var e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> assertThrows(IllegalArgumentException.class, () -> t.member("task_struct.pid")));
        assertTrue(e.getMessage().startsWith("ISF test: more than 1048576 members to search for 'pid'"), e.getMessage());
    }
}
