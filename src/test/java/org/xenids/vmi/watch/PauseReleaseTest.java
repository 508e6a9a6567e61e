package org.xenids.vmi.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.testdata.SharedData;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * A watch that pauses the guest for each walk, told to stop while a walk cannot end (here: a
 * read that blocks), resumes the guest at once and pauses it no more: the process can exit without
 * leaving the guest stopped. The QMP side is a socket that answers every command and records it.
 */
class PauseReleaseTest {

    @Test
    void releaseDuringAPausedWalkResumesTheGuestAndNoLaterTickPausesIt(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("qmp.sock");
        List<String> commands = new CopyOnWriteArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread qemu = Thread.ofVirtual().start(() -> answer(server, commands));
            try (PhysicalMemory image = MemorySources.open(SharedData.plain("vmi/nokaslr-hidden.raw.xz"))) {
                Blocking ram = new Blocking(image);
                LinuxKernel k = KernelLocator.locate(ram);
                LinuxGuest guest = LinuxGuest.open(ram, k.kernel(), k.symbols(), LinuxGuest.btfFromMemory(ram, k));
                try (ProcessWatch w = ProcessWatch.open(guest, k.kernel(), "nokaslr-hidden", 0, socket)) {
                    ProcessWatch.Tick first = w.tick(0);
                    assertTrue(first.processes() > 0, "the walk reads the guest");
                    assertEquals(List.of("qmp_capabilities", "stop", "cont"), commands);

                    ram.block.set(true);
                    Thread walk = Thread.ofPlatform().start(() -> w.tick(1));
                    assertTrue(ram.blocked.await(60, TimeUnit.SECONDS), "the second walk reached its read");
                    assertEquals(List.of("qmp_capabilities", "stop", "cont", "stop"), commands, "paused during the walk");
                    assertTrue(w.release(), "it resumed the guest");
                    assertEquals(List.of("qmp_capabilities", "stop", "cont", "stop", "cont"), commands,
                            "resumed while the walk still waits");
                    assertTrue(walk.isAlive(), "the walk had not ended");
                    ram.block.set(false);
                    ram.go.countDown();
                    walk.join(60_000);
                    w.tick(2);
                    assertEquals(false, w.release(), "nothing paused: nothing to resume");
                    assertEquals(List.of("qmp_capabilities", "stop", "cont", "stop", "cont"), commands,
                            "after release no walk pauses the guest, and a resumed guest is not resumed twice");
                }
            } finally {
                qemu.interrupt();
            }
        }
    }

    /** QEMU's side: the greeting, then {"return": {}} to each command, whose name is recorded. */
    private static void answer(ServerSocketChannel server, List<String> commands) {
        try (SocketChannel c = server.accept()) {
            OutputStream out = Channels.newOutputStream(c);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            out.write("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n".getBytes(StandardCharsets.UTF_8));
            for (String l; (l = in.readLine()) != null; ) {
                commands.add(l.replaceAll(".*\"execute\":\"([a-z_-]+)\".*", "$1"));
                out.write("{\"return\": {}}\n".getBytes(StandardCharsets.UTF_8));
            }
        } catch (java.io.IOException e) {
            // the watch closed the connection
        }
    }

    /** The image, with reads that wait (once {@link #block} is set) until {@link #go} opens. */
    private static final class Blocking implements PhysicalMemory {
        final PhysicalMemory in;
        final AtomicBoolean block = new AtomicBoolean();
        final CountDownLatch blocked = new CountDownLatch(1), go = new CountDownLatch(1);

        Blocking(PhysicalMemory in) { this.in = in; }

        @Override public List<Range> ranges() { return in.ranges(); }
        @Override public String describe() { return in.describe(); }

        @Override
        public void read(long paddr, MemorySegment dst) {
            if (block.get()) {
                blocked.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            in.read(paddr, dst);
        }
    }
}
