package org.xenids.testdata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One real guest (the JVM's shared one): boot, process lists, commands, QMP, the RAM file. */
class LiveGuestTest {
    private static final int WORKERS = 80;
    private static LiveGuest guest;

    @BeforeAll
    static void boot() {
        long t0 = System.nanoTime();
        guest = LiveGuest.shared();
        System.out.printf("live guest: QEMU start to ready %.1f s (first use of the shared guest waits %.1f s), %s%n",
                guest.bootToReady().toMillis() / 1000.0, (System.nanoTime() - t0) / 1e9, guest.kernelCommandLine());
    }

    /** A private guest: close() must kill QEMU and remove the RAM file (a shared one ignores it). */
    @Test
    void closeKillsQemuAndRemovesRamFileButSharedGuestSurvivesClose() {
        guest.close();
        assertTrue(guest.running(), "the shared guest ignores close()");
        LiveGuest own = LiveGuest.options().mem("128M").workers(0).named().kaslr(false).start("own");
        Path ram = own.ramFile();
        assertTrue(Files.exists(ram));
        assertTrue(own.ps().stream().noneMatch(p -> p.comm().startsWith("worker-")), "workers(0) starts none");
        own.close();
        assertFalse(Files.exists(ram), "close() removes the RAM file");
        assertFalse(own.running(), "close() kills QEMU");
    }

    @Test
    void psListsEveryWorkerWithItsSleepChildAndTheCanary() {
        List<LiveGuest.Proc> ps = guest.ps();
        Map<Integer, LiveGuest.Proc> byPid = ps.stream().collect(Collectors.toMap(LiveGuest.Proc::pid, p -> p));
        assertEquals("init", byPid.get(1).comm());
        for (int i = 1; i <= WORKERS; i++) {
            String name = String.format("worker-%02d", i);
            List<LiveGuest.Proc> w = ps.stream().filter(p -> p.comm().equals(name)).toList();
            assertEquals(1, w.size(), name);
            assertEquals(1, w.getFirst().ppid(), name + " is a child of init");
            int pid = w.getFirst().pid();
            assertTrue(ps.stream().anyMatch(p -> p.ppid() == pid && p.comm().equals("sleep")), name + " has a sleep child");
        }
        assertEquals(1, ps.stream().filter(p -> p.comm().equals("vmi-canary")).count());
        assertTrue(ps.stream().anyMatch(p -> p.comm().equals("kthreadd") && p.pid() == 2));
        assertTrue(ps.size() > 2 * WORKERS + 20, "kernel threads listed too: " + ps.size());
    }

    @Test
    void ramFileHasConfiguredSizeAndHoldsKernelBanner() throws IOException {
        assertEquals(256L << 20, guest.ramSize());
        assertEquals(guest.ramSize(), Files.size(guest.ramFile()));
        assertTrue(indexOf(guest.ramFile(), "Linux version 6.".getBytes(StandardCharsets.US_ASCII), 0) >= 0,
                "kernel banner somewhere in " + guest.ramFile());
    }

    /** The RAM file is physical memory: the banner sits at the kernel's physical load address + offset. */
    @Test
    void bannerLiesAtKernelPhysicalAddressPlusItsSymbolOffset() throws IOException {
        Map<String, Long> sym = guest.kallsyms("_text", "linux_banner");
        String iomem = guest.shell("grep 'Kernel code' /proc/iomem");
        long codePhys = Long.parseLong(iomem.strip().split("-")[0], 16);
        long phys = codePhys + (sym.get("linux_banner") - sym.get("_text"));
        byte[] got = new byte[14];
        try (FileChannel ch = FileChannel.open(guest.ramFile(), StandardOpenOption.READ)) {
            ch.read(ByteBuffer.wrap(got), phys);
        }
        assertEquals("Linux version ", new String(got, StandardCharsets.US_ASCII), "at physical 0x" + Long.toHexString(phys));
    }

    @Test
    void startedProcessAppearsInNextListAndKilledOneDisappears() {
        LiveGuest.Ack started = guest.startProcess("intruder-x");
        List<LiveGuest.Proc> mine = started.ps().stream().filter(p -> p.comm().equals("intruder-x")).toList();
        assertEquals(1, mine.size(), "listed right after start");
        assertTrue(started.info().contains("pid=" + mine.getFirst().pid()), started.info());
        assertEquals(mine, guest.ps().stream().filter(p -> p.comm().equals("intruder-x")).toList(), "ps() reads the latest list");

        LiveGuest.Ack killed = guest.killProcess("intruder-x");
        assertTrue(killed.ps().stream().noneMatch(p -> p.comm().equals("intruder-x")), "gone after kill");
        assertFalse(guest.command("kill", "intruder-x").ok(), "killing it twice is refused");
    }

    @Test
    void pausedGuestReportsPausedAndItsRamStopsChanging() throws Exception {
        // The control: running, the guest writes its RAM (its clock ticks, if nothing else).
        int running = checksum();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (checksum() == running && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(checksum() != running, "the running guest's RAM did not change in 20 s");
        guest.pause();
        try {
            assertTrue(guest.qmp("query-status", null).contains("\"paused\""));
            int before = checksum();
            assertEquals(before, checksum(), "paused RAM does not change");
        } finally {
            guest.resume();
        }
        assertTrue(guest.qmp("query-status", null).contains("\"running\""));
        assertNotNull(guest.psNow(), "answers commands again after cont");
    }

    @Test
    void snapshotIsAFullCopyOfTheGuestRam(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("guest.raw");
        guest.snapshot(copy);
        assertEquals(guest.ramSize(), Files.size(copy));
        assertTrue(indexOf(copy, "Linux version 6.".getBytes(StandardCharsets.US_ASCII), 0) >= 0);
        assertTrue(guest.qmp("query-status", null).contains("\"running\""), "resumed after the copy");
    }

    private static int checksum() throws IOException {
        // The whole RAM (up to 1 GiB): wherever the kernel was placed, its clock's writes are in it.
        try (FileChannel ch = FileChannel.open(guest.ramFile(), StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(ch.size(), 1L << 30));
            int h = 0;
            while (b.remaining() >= 8) h = 31 * h + Long.hashCode(b.getLong());
            return h;
        }
    }

    static long indexOf(Path f, byte[] needle, long from) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            long base = from;
            while (base < ch.size()) {
                b.clear();
                int n = ch.read(b, base);
                if (n <= 0) break;
                for (int i = 0; i + needle.length <= n; i++) {
                    int j = 0;
                    while (j < needle.length && b.get(i + j) == needle[j]) j++;
                    if (j == needle.length) return base + i;
                }
                if (base + n >= ch.size()) break;
                base += n - needle.length + 1;
            }
            return -1;
        }
    }
}
