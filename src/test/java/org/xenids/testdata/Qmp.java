package org.xenids.testdata;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One QMP exchange per connection (QEMU serves one client at a time, so nothing is held open):
 * greeting, {@code qmp_capabilities}, the command, its reply. Every read has a deadline.
 */
final class Qmp {
    private Qmp() {}

    static String call(Path socket, String command, String jsonArgs, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
             Selector sel = Selector.open()) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.configureBlocking(false);
            ch.register(sel, SelectionKey.OP_READ);
            Lines in = new Lines(ch, sel, socket);
            in.next(deadline); // greeting
            send(ch, "{\"execute\":\"qmp_capabilities\"}");
            reply(in, deadline, "qmp_capabilities", socket);
            send(ch, "{\"execute\":\"" + command + "\"" + (jsonArgs == null ? "" : ",\"arguments\":" + jsonArgs) + "}");
            return reply(in, deadline, command, socket);
        } catch (IOException e) {
            throw new UncheckedIOException("qmp " + command + " on " + socket + ": " + e.getMessage(), e);
        }
    }

    /** Skips asynchronous events up to the command's {@code return} (or fails on its {@code error}). */
    private static String reply(Lines in, long deadline, String command, Path socket) throws IOException {
        while (true) {
            String l = in.next(deadline);
            if (l.startsWith("{\"return\"")) return l;
            if (l.startsWith("{\"error\"")) throw new IllegalStateException("qmp " + command + " on " + socket + ": " + l);
        }
    }

    private static void send(SocketChannel ch, String json) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) ch.write(b);
    }

    private static final class Lines {
        private final SocketChannel ch;
        private final Selector sel;
        private final Path socket;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        Lines(SocketChannel ch, Selector sel, Path socket) {
            this.ch = ch;
            this.sel = sel;
            this.socket = socket;
            buf.flip();
        }

        String next(long deadline) throws IOException {
            while (true) {
                while (buf.hasRemaining()) {
                    byte c = buf.get();
                    if (c == '\n') {
                        String s = line.toString(StandardCharsets.UTF_8).strip();
                        line.reset();
                        if (!s.isEmpty()) return s;
                    } else if (line.size() < (1 << 20)) {
                        line.write(c);
                    } else {
                        throw new IOException("reply line over 1 MiB");
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new IOException("no reply within the deadline");
                sel.select(Math.max(1, left / 1_000_000));
                sel.selectedKeys().clear();
                buf.clear();
                int n = ch.read(buf);
                buf.flip();
                if (n < 0) throw new IOException("QEMU closed " + socket);
            }
        }
    }
}
