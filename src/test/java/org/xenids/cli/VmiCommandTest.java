package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;
import org.xenids.testdata.EveSchema;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.linux.Task;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

class VmiCommandTest {

    static Path image(String name) {
        return SharedData.plain("vmi/" + name + ".xz");
    }

    /** A value no list_head of the image holds: a direct-map address inside no task_struct's links. */
    static final long BAD_PREV = 0xffff888012345678L;

    /** A torn task list made by {@link #tornImage}: the task whose {@code tasks.prev} was changed and its old value. */
    record Torn(Path image, long task, long oldPrev) {}

    /**
     * A copy of the raw nokaslr image in {@code dir} with {@code tasks.prev} of the task named
     * {@code comm} set to {@link #BAD_PREV}: the task list still reaches every task, and each
     * walk meets one torn link at that task. The task and the field are found as the watch
     * finds them (kernel discovery, the image's own BTF); physical address = file offset.
     */
    static Torn tornImage(Path dir, String comm) throws Exception {
        Path orig = image("nokaslr-hidden.raw");
        Task task;
        long prevField;
        try (PhysicalMemory pm = MemorySources.open(orig)) {
            LinuxKernel k = KernelLocator.locate(pm);
            LinuxGuest guest = LinuxGuest.open(pm, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(pm, k));
            task = guest.processes(false).tasks().stream().filter(t -> t.comm().equals(comm)).findFirst().orElseThrow();
            prevField = k.kernel().translate(task.address() + guest.types().offset("task_struct.tasks") + 8);
        }
        Path img = dir.resolve("torn.raw");
        Files.copy(orig, img);
        long old;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(b, prevField);
            old = b.getLong(0);
            ch.write(b.clear().putLong(0, BAD_PREV), prevField);
        }
        assertTrue(old != BAD_PREV && old < 0, "tasks.prev was a kernel address: 0x" + Long.toHexString(old));
        return new Torn(img, task.address(), old);
    }

    /** What {@code vmi ps} prints for the link {@link #tornImage} tore (also the form the watch uses). */
    static String tornLine(Torn t) {
        return String.format("xenids: anomaly: task-list: torn-link at 0x%x: tasks.prev = 0x%x, but the list reached it from 0x%x",
                t.task(), BAD_PREV, t.oldPrev());
    }

    @ParameterizedTest
    @CsvSource({"nokaslr-hidden.raw,nokaslr-hidden", "kaslr-hidden.elf,kaslr-hidden"})
    void psWithOnlyTheImagePrintsWhatLibvmiPrints(String file, String name) throws Exception {
        String[] r = MainTest.run("vmi", "ps", "--memory", image(file).toString());
        assertEquals("0", r[0], r[2]);
        List<String> ours = r[1].lines().skip(1).toList();
        List<String> libvmi = Files.readAllLines(SharedData.file("vmi/" + name + ".libvmi-process-list.txt")).stream().skip(1).toList();
        assertEquals(libvmi, ours);
    }

    @Test
    void psJsonCarriesPidTgidPpidUidAndKernelThreadFlag() throws Exception {
        String[] r = MainTest.run("vmi", "ps", "--json", "--memory", image("nokaslr-hidden.raw").toString());
        assertEquals("0", r[0], r[2]);
        JsonNode root = new ObjectMapper().readTree(r[1]);
        assertEquals(214, root.path("tasks").size());
        JsonNode init = root.path("tasks").get(1);
        assertEquals(1, init.path("pid").asInt());
        assertEquals(0, init.path("ppid").asInt());
        assertEquals(false, init.path("kernel_thread").asBoolean());
        assertEquals(true, root.path("tasks").get(2).path("kernel_thread").asBoolean());
        assertTrue(root.path("types").asText().startsWith("BTF"), root.path("types").asText());
    }

    @Test
    void psReportsATornLinkOnStderrAndExitsOne(@TempDir Path dir) throws Exception {
        Torn t = tornImage(dir, "worker-10");
        String[] r = MainTest.run("vmi", "ps", "--memory", t.image().toString());
        assertEquals("1", r[0], r[2]);
        assertEquals(List.of(tornLine(t)), r[2].lines().toList());
        assertTrue(r[1].contains("worker-10"), "the walk goes on past the torn link: " + r[1]);
    }

    @Test
    void psxviewMarksBothHiddenProcessesAndWritesValidEveAlerts(@TempDir Path dir) throws Exception {
        Path eve = dir.resolve("eve.json");
        String[] r = MainTest.run("vmi", "psxview", "--memory", image("kaslr-hidden.elf").toString(), "--eve", eve.toString());
        assertEquals("0", r[0], r[2]);
        List<String> hiddenRows = r[1].lines().filter(l -> l.endsWith("HIDDEN")).toList();
        assertEquals(2, hiddenRows.size(), r[1]);
        assertTrue(hiddenRows.get(0).contains("hide-list") && hiddenRows.get(1).contains("hide-full"), r[1]);
        assertTrue(r[1].contains("214 processes, 2 hidden"), r[1]);
        List<String> lines = Files.readAllLines(eve);
        assertEquals(2, lines.size());
        EveSchema.assertValid(lines);
        JsonNode a = new ObjectMapper().readTree(lines.get(1));
        assertEquals("alert", a.path("event_type").asText());
        JsonNode ctx = a.path("alert").path("context");
        assertEquals(260, ctx.path("pid").asInt());
        assertEquals("hide-full", ctx.path("comm").asText());
        assertTrue(ctx.path("task").asText().startsWith("0xffff"), ctx.toString());
        assertEquals("[\"children-tree\",\"scan\"]", ctx.path("seen_by").toString());
        assertEquals("[\"task-list\",\"pid-idr\"]", ctx.path("missing_from").toString());
    }

    @Test
    void psxviewLogsAWalkAnomalyWithItsAddressAndMessage(@TempDir Path dir) throws Exception {
        Torn t = tornImage(dir, "worker-10");
        Path eve = dir.resolve("eve.json");
        String[] r = MainTest.run("vmi", "psxview", "--memory", t.image().toString(), "--eve", eve.toString());
        assertEquals("0", r[0], r[2]);
        assertEquals(List.of(tornLine(t)), r[2].lines().toList());
        List<String> lines = Files.readAllLines(eve);
        EveSchema.assertValid(lines);
        List<JsonNode> anomalies = new java.util.ArrayList<>();
        for (String l : lines) {
            JsonNode n = new ObjectMapper().readTree(l);
            if (n.path("event_type").asText().equals("anomaly")) {
                anomalies.add(n);
            }
        }
        assertEquals(1, anomalies.size(), lines.toString());
        assertTornRecord(t, anomalies.get(0));
    }

    /** The EVE record of {@link #tornImage}'s link: the kind and view, and the address and message vmi ps prints. */
    static void assertTornRecord(Torn t, JsonNode n) {
        assertEquals("{\"type\":\"vmi\",\"event\":\"torn-link\",\"layer\":\"task-list\"}", n.path("anomaly").toString());
        JsonNode vars = n.path("metadata").path("pktvars");
        assertEquals(String.format("0x%016x", t.task()), vars.path(0).path("address").asText(), n.toString());
        assertEquals(String.format("tasks.prev = 0x%x, but the list reached it from 0x%x", BAD_PREV, t.oldPrev()),
                vars.path(1).path("message").asText(), n.toString());
        assertEquals("torn.raw", vars.path(2).path("image").asText(), n.toString());
    }

    @Test
    void infoReportsSlidePhysBaseDtbAndSources() {
        String[] r = MainTest.run("vmi", "info", "--memory", image("kaslr-hidden.elf").toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("KASLR slide:     0x1400000"), r[1]);
        assertTrue(r[1].contains("phys_base:       0x3400000"), r[1]);
        assertTrue(r[1].contains("6.1.0-56-amd64"), r[1]);
        assertTrue(r[1].contains("struct layouts:  BTF in guest memory"), r[1]);
    }

    @Test
    void twoLayoutSourcesAreAUsageError() {
        String[] r = MainTest.run("vmi", "ps", "--memory", "x.raw", "--btf", "a", "--isf", "b");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("at most one of"), r[2]);
    }

    @Test
    void missingImageIsAOneLineError() {
        String[] r = MainTest.run("vmi", "ps", "--memory", "/nonexistent/mem.raw");
        assertEquals("1", r[0]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].startsWith("xenids: "), r[2]);
    }

    @Test
    void aMissingImageOrTypeFileIsNamedAsWhatItIsWithNoSuchFile(@TempDir Path dir) {
        String img = image("nokaslr-hidden.raw").toString();
        Path none = dir.resolve("none");
        String[][] cases = {
            {"--memory", none.toString(), "memory image " + none + ": no such file"},
            {"--memory", none + ".raw.xz", "memory image " + none + ".raw.xz: no such file"},
            {"--memory", img, "--symbols", none.toString(), "symbol file " + none + ": no such file"},
            {"--memory", img, "--btf", none.toString(), "BTF file " + none + ": no such file"},
            {"--memory", img, "--isf", none.toString(), "ISF file " + none + ": no such file"},
            {"--memory", img, "--libvmi-config", none.toString(), "LibVMI config " + none + ": no such file"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("vmi", "ps"));
            args.addAll(List.of(c).subList(0, c.length - 1));
            String[] r = MainTest.run(args.toArray(String[]::new));
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: " + c[c.length - 1], r[2].strip());
        }
    }

    @Test
    void aCutOffXzImageIsSaidToBeTruncatedNamingItAndLeavesNothingInTheCache(@TempDir Path dir) throws Throwable {
        Path cut = dir.resolve("trunc.elf.xz");
        try (java.io.InputStream in = Files.newInputStream(SharedData.file("vmi/kaslr-hidden.elf.xz"))) {
            Files.write(cut, in.readNBytes(200_000));
        }
        withCache(dir.resolve("cache"), () -> {
            String[] r = MainTest.run("vmi", "ps", "--memory", cut.toString());
            assertEquals("1", r[0], r[2]);
            assertTrue(r[2].strip().startsWith("xenids: memory image " + cut + ": the xz stream is truncated (it ends after "),
                    r[2]);
            assertTrue(r[2].strip().endsWith(" MiB decompressed)"), r[2]);
            try (var s = Files.list(dir.resolve("cache").resolve("images"))) {
                assertEquals(List.of(), s.toList(), "no partial file is left");
            }
        });
    }

    @Test
    void anXzImageThatIsNotXzOrIsCorruptIsSaidSoNamingIt(@TempDir Path dir) throws Throwable {
        Path notXz = dir.resolve("mem.raw.xz");
        Files.write(notXz, new byte[4096]);
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 >>> 7);
        }
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        try (OutputStream o = new XZOutputStream(b, new LZMA2Options(1))) {
            o.write(data);
        }
        byte[] xz = b.toByteArray();
        xz[xz.length / 2] ^= 0x55;
        Path corrupt = dir.resolve("corrupt.raw.xz");
        Files.write(corrupt, xz);
        withCache(dir.resolve("cache"), () -> {
            String[] r = MainTest.run("vmi", "ps", "--memory", notXz.toString());
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: memory image " + notXz + ": not an xz stream", r[2].strip());
            r = MainTest.run("vmi", "ps", "--memory", corrupt.toString());
            assertEquals("1", r[0], r[2]);
            assertTrue(r[2].strip().startsWith("xenids: memory image " + corrupt + ": the xz stream is corrupt"), r[2]);
            assertEquals(1, r[2].strip().lines().count(), r[2]);
        });
    }

    @Test
    void anImageCacheFolderThatCannotBeMadeIsNamedAsSuch(@TempDir Path dir) throws Throwable {
        Path xz = dir.resolve("mem.raw.xz");
        try (OutputStream o = new XZOutputStream(Files.newOutputStream(xz), new LZMA2Options(1))) {
            o.write(new byte[4096]);
        }
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        withCache(file, () -> {
            String[] r = MainTest.run("vmi", "ps", "--memory", xz.toString());
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: cannot create the image cache folder " + file.resolve("images") + " (not a directory);"
                    + " set XENIDS_CACHE to a folder that can be written", r[2].strip());
        });
        withCache(Path.of("/proc/xenids-no-such"), () -> {
            String[] r = MainTest.run("vmi", "ps", "--memory", xz.toString());
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: cannot create the image cache folder /proc/xenids-no-such/images (/proc/xenids-no-such:"
                    + " no such file); set XENIDS_CACHE to a folder that can be written", r[2].strip());
        });
    }

    @Test
    void xzImageIsDecompressedOnceIntoTheCache(@TempDir Path dir) throws Throwable {
        byte[] data = new byte[3 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 >>> 7);
        }
        Path xz = dir.resolve("mem.raw.xz");
        try (OutputStream o = new XZOutputStream(Files.newOutputStream(xz), new LZMA2Options(1))) {
            o.write(data);
        }
        withCache(dir.resolve("cache"), () -> {
            Path plain = XzImages.plain(xz);
            assertTrue(plain.startsWith(dir.resolve("cache")), plain.toString());
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(plain)));
            Object inode = Files.readAttributes(plain, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            assertEquals(plain, XzImages.plain(xz));
            // A copy with another modification time (as the demo extracts its image anew each run)
            // finds the same entry, which is not written again.
            Path copy = Files.createDirectories(dir.resolve("again")).resolve("mem.raw.xz");
            Files.copy(xz, copy);
            Files.setLastModifiedTime(copy, java.nio.file.attribute.FileTime.fromMillis(12345));
            assertEquals(plain, XzImages.plain(copy));
            assertEquals(inode, Files.readAttributes(plain, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
        });
    }

    /** Runs {@code body} with the image cache in {@code cache}, restoring the setting after. */
    private static void withCache(Path cache, org.junit.jupiter.api.function.Executable body) throws Throwable {
        String old = System.getProperty("xenids.cache");
        System.setProperty("xenids.cache", cache.toString());
        try {
            body.execute();
        } finally {
            if (old == null) {
                System.clearProperty("xenids.cache");
            } else {
                System.setProperty("xenids.cache", old);
            }
        }
    }

    @Test
    void theImageCacheKeepsItsMostRecentlyUsedEntriesWithinItsLimits(@TempDir Path dir) throws Throwable {
        withCache(dir.resolve("cache"), () -> {
            List<Path> entries = new java.util.ArrayList<>();
            for (int i = 0; i < XzImages.MAX_ENTRIES + 2; i++) {
                Path xz = dir.resolve("img" + i + ".raw.xz");
                try (OutputStream o = new XZOutputStream(Files.newOutputStream(xz), new LZMA2Options(1))) {
                    o.write(new byte[1000 + i]);
                }
                entries.add(XzImages.plain(xz));
                Files.setLastModifiedTime(entries.get(i), java.nio.file.attribute.FileTime.fromMillis(1_000_000L * (i + 1)));
                if (i == 1) {
                    Files.setLastModifiedTime(entries.get(0), java.nio.file.attribute.FileTime.fromMillis(20_000_000L)); // used last
                }
            }
            // Ten entries made, eight kept: img1 and img2 were used least recently (img0 after all).
            for (int i = 0; i < entries.size(); i++) {
                assertEquals(i != 1 && i != 2, Files.exists(entries.get(i)), "entry " + i);
            }
            // A partial file of a killed run goes; one being written (recent) stays.
            Path cache = dir.resolve("cache").resolve("images");
            Path killed = cache.resolve("img9.raw.xz1234.part");
            Files.write(killed, new byte[10]);
            Files.setLastModifiedTime(killed, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 2 * 3600_000L));
            Path live = cache.resolve("img9.raw.xz5678.part");
            Files.write(live, new byte[10]);
            XzImages.evict(cache, entries.get(9), XzImages.MAX_ENTRIES, XzImages.MAX_BYTES);
            assertTrue(!Files.exists(killed) && Files.exists(live));
            // The byte limit: with room for the newest and two more, the two used most recently stay.
            XzImages.evict(cache, entries.get(9), 100, 1009 + 1008 + 1007);
            try (var s = Files.list(cache)) {
                assertEquals(List.of("img0", "img8", "img9"), s.map(p -> p.getFileName().toString())
                        .filter(n -> !n.endsWith(".part")).map(n -> n.substring(0, n.indexOf('.'))).sorted().toList());
            }
        });
    }

    @Test
    void infoShowsAGuestsBannerWithItsControlCharactersEscaped(@TempDir Path dir) throws Exception {
        // A guest that owns its kernel can rewrite linux_banner: what it writes must not reach the terminal.
        Path img = dir.resolve("banner.raw");
        Files.copy(image("nokaslr-hidden.raw"), img);
        byte[] prefix = "Linux version ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] evil = "\u001b]0;owned\u0007".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int rewritten = 0;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.MappedByteBuffer m = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, ch.size());
            for (int i = 0; i + prefix.length + evil.length <= m.limit(); i++) {
                if (m.get(i) == 'L' && m.slice(i, prefix.length).equals(java.nio.ByteBuffer.wrap(prefix))) {
                    m.put(i + prefix.length, evil);
                    rewritten++;
                }
            }
            m.force();
        }
        assertTrue(rewritten > 0);
        String[] r = MainTest.run("vmi", "info", "--memory", img.toString());
        assertEquals("0", r[0], r[2]);
        String kernel = r[1].lines().filter(l -> l.startsWith("kernel:")).findFirst().orElseThrow();
        assertTrue(kernel.startsWith("kernel:          Linux version \\x1b]0;owned\\x07"), kernel);
        assertTrue(r[1].chars().noneMatch(c -> c < 0x20 && c != '\n'), r[1]);
    }

    @Test
    void aDirectoryGivenAsAnImageOrATypeFileIsNamedInTheError(@TempDir Path dir) {
        String img = image("nokaslr-hidden.raw").toString();
        String[][] cases = {
            {"--memory", dir.toString(), "memory image " + dir + " is a directory"},
            {"--memory", img, "--btf", dir.toString(), "BTF file " + dir + " is a directory"},
            {"--memory", img, "--isf", dir.toString(), "ISF file " + dir + " is a directory"},
            {"--memory", img, "--libvmi-config", dir.toString(), "LibVMI config " + dir + " is a directory"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 1];
            args[0] = "vmi";
            args[1] = "ps";
            System.arraycopy(c, 0, args, 2, c.length - 1);
            String[] r = MainTest.run(args);
            assertEquals("1", r[0], r[2]);
            assertEquals("xenids: " + c[c.length - 1], r[2].strip());
        }
    }
}
