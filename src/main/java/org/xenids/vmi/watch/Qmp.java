package org.xenids.vmi.watch;

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

/**
 * A QEMU QMP connection kept open for the watch's lifetime (as LibVMI keeps its handle): the
 * pause/resume round trips then cost two small messages, not a connect and a handshake. Every
 * reply has a deadline; asynchronous events (STOP, RESUME) are skipped.
 */
final class Qmp implements AutoCloseable {
    private static final long TIMEOUT_NANOS = 10_000_000_000L;
    private final Path socket;
    private final SocketChannel ch;
    private final Selector sel;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    private Qmp(Path socket, SocketChannel ch, Selector sel) {
        this.socket = socket;
        this.ch = ch;
        this.sel = sel;
        buf.flip();
    }

    static Qmp connect(Path socket) {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.configureBlocking(false);
            Selector sel = Selector.open();
            ch.register(sel, SelectionKey.OP_READ);
            Qmp q = new Qmp(socket, ch, sel);
            q.next(System.nanoTime() + TIMEOUT_NANOS); // greeting
            q.command("qmp_capabilities");
            return q;
        } catch (IOException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // the connect error is the one to report
                }
            }
            throw new UncheckedIOException("qmp " + socket + ": " + e.getMessage(), e);
        }
    }

    /** Runs a command without arguments and waits for its return. */
    void command(String name) {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        try {
            ByteBuffer b = ByteBuffer.wrap(("{\"execute\":\"" + name + "\"}\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            while (true) {
                String l = next(deadline);
                if (l.startsWith("{\"return\"")) {
                    return;
                }
                if (l.startsWith("{\"error\"")) {
                    throw new IllegalStateException("qmp " + name + " on " + socket + ": " + l);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("qmp " + name + " on " + socket + ": " + e.getMessage(), e);
        }
    }

    private String next(long deadline) throws IOException {
        while (true) {
            while (buf.hasRemaining()) {
                byte c = buf.get();
                if (c == '\n') {
                    String s = line.toString(StandardCharsets.UTF_8).strip();
                    line.reset();
                    if (!s.isEmpty()) {
                        return s;
                    }
                } else if (line.size() < (1 << 20)) {
                    line.write(c);
                } else {
                    throw new IOException("reply line over 1 MiB");
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException("no reply within 10 s");
            }
            sel.select(Math.max(1, left / 1_000_000));
            sel.selectedKeys().clear();
            buf.clear();
            int n = ch.read(buf);
            buf.flip();
            if (n < 0) {
                throw new IOException("QEMU closed the connection");
            }
        }
    }

    @Override
    public void close() {
        try {
            sel.close();
            ch.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
