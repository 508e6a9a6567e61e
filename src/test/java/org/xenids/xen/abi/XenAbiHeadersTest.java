package org.xenids.xen.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every layout and constant of the package against Xen's real public headers (Debian
 * libxen-dev): a C program generated from the Java catalogue asks gcc for each sizeof, offsetof,
 * member width and constant by its C name. Skipped only when gcc or the headers are missing
 * (scripts/install-test-deps installs them).
 */
class XenAbiHeadersTest {

    /** Values that are expressions in C rather than a macro of the same name. */
    private static final Map<String, String> C_EXPR = Map.of(
            "NET_TX_RING_SIZE", "__CONST_RING_SIZE(netif_tx, 4096)",
            "NET_RX_RING_SIZE", "__CONST_RING_SIZE(netif_rx, 4096)");

    static Map<String, Long> fromC;

    @BeforeAll
    static void compileAndRun(@TempDir Path dir) throws IOException, InterruptedException {
        assumeTrue(Files.isRegularFile(Path.of("/usr/include/xen/grant_table.h")), "libxen-dev not installed");
        assumeTrue(onPath("gcc"), "gcc not installed");
        StringBuilder c = new StringBuilder("""
                #include <stddef.h>
                #include <stdint.h>
                #include <stdio.h>
                #include <xen/xen.h>
                #include <xen/grant_table.h>
                #include <xen/event_channel.h>
                #include <xen/errno.h>
                #include <xen/io/ring.h>
                #include <xen/io/netif.h>
                #include <xen/io/xenbus.h>
                #define M(t, f) sizeof(((t *)0)->f)
                int main(void) {
                """);
        for (StructLayout s : XenAbi.structs()) {
            String t = s.name().startsWith("grant_entry_v2") ? "union " + s.name() : "struct " + s.name();
            c.append("  printf(\"S ").append(s.name()).append(" %zu\\n\", sizeof(").append(t).append("));\n");
            for (StructLayout.Field f : s.fields()) {
                c.append("  printf(\"O ").append(s.name()).append('.').append(f.name())
                        .append(" %zu\\n\", offsetof(").append(t).append(", ").append(f.name()).append("));\n");
                c.append("  printf(\"W ").append(s.name()).append('.').append(f.name())
                        .append(" %zu\\n\", M(").append(t).append(", ").append(f.name()).append("));\n");
            }
        }
        for (String name : XenAbi.constants().keySet()) {
            c.append("  printf(\"C ").append(name).append(" %lld\\n\", (long long)(")
                    .append(C_EXPR.getOrDefault(name, name)).append("));\n");
        }
        c.append("  printf(\"R netif_tx %d\\n\", (int)__RING_SIZE((struct netif_tx_sring *)0, 4096));\n");
        c.append("  printf(\"R netif_rx %d\\n\", (int)__RING_SIZE((struct netif_rx_sring *)0, 4096));\n");
        c.append("  return 0;\n}\n");
        Path src = dir.resolve("layouts.c");
        Files.writeString(src, c);
        Path exe = dir.resolve("layouts");
        // __XEN_TOOLS__ selects the current interface (event_channel_op 32), as the toolstack does.
        run(dir, "gcc", "-D__XEN_TOOLS__", "-Wall", "-Werror", "-o", exe.toString(), src.toString());
        String out = run(dir, exe.toString());
        fromC = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            String[] p = line.split(" ");
            fromC.put(p[0] + " " + p[1], Long.parseLong(p[2]));
        }
    }

    @Test
    void everyStructSizeMatchesTheHeaders() {
        List<String> bad = new ArrayList<>();
        for (StructLayout s : XenAbi.structs()) {
            check(bad, "S " + s.name(), s.size());
        }
        assertTrue(bad.isEmpty(), String.join("; ", bad));
    }

    @Test
    void everyFieldOffsetAndWidthMatchesTheHeaders() {
        List<String> bad = new ArrayList<>();
        int n = 0;
        for (StructLayout s : XenAbi.structs()) {
            for (StructLayout.Field f : s.fields()) {
                check(bad, "O " + s.name() + "." + f.name(), f.offset());
                check(bad, "W " + s.name() + "." + f.name(), f.size());
                n++;
            }
        }
        assertTrue(bad.isEmpty(), String.join("; ", bad));
        assertTrue(n > 80, "only " + n + " fields checked");
    }

    @Test
    void everyConstantMatchesTheHeaders() {
        List<String> bad = new ArrayList<>();
        XenAbi.constants().forEach((name, v) -> check(bad, "C " + name, v));
        assertTrue(bad.isEmpty(), String.join("; ", bad));
        assertEquals(XenAbi.constants().size(), fromC.keySet().stream().filter(k -> k.startsWith("C ")).count());
    }

    @Test
    void ringSizesMatchRingMacros() {
        assertEquals(fromC.get("R netif_tx"), (long) Netif.Sring.TX_SIZE);
        assertEquals(fromC.get("R netif_rx"), (long) Netif.Sring.RX_SIZE);
        assertEquals(256, Netif.Sring.TX_SIZE);
        assertEquals(256, Netif.Sring.RX_SIZE);
    }

    private static void check(List<String> bad, String key, long java) {
        Long c = fromC.get(key);
        if (c == null || c != java) {
            bad.add(key + ": java " + java + ", C " + c);
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd[0] + " timed out");
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + s);
        }
        return s;
    }
}
