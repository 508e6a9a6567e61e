package org.xenids.xen.rsp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A tiny RSP server for tests: acks each command packet, records it, and answers with the raw
 * bytes {@code responder} returns (so tests can send malformed replies). {@code null} = no answer.
 */
final class FakeStub implements AutoCloseable {
    final ServerSocket server;
    final List<String> received = new CopyOnWriteArrayList<>();
    private final Thread thread;

    FakeStub(Function<String, byte[]> responder) throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        thread = Thread.ofVirtual().start(() -> serve(responder));
    }

    int port() {
        return server.getLocalPort();
    }

    private void serve(Function<String, byte[]> responder) {
        try (Socket s = server.accept()) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                int c = in.read();
                if (c < 0) {
                    return;
                }
                if (c == 0x03) {
                    received.add("<interrupt>");
                    answer(out, responder.apply("<interrupt>"));
                    continue;
                }
                if (c != '$') {
                    continue;   // acks from the client
                }
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                while ((c = in.read()) != '#' && c >= 0) {
                    body.write(c);
                }
                in.read();
                in.read();
                out.write('+');
                out.flush();
                String cmd = body.toString(StandardCharsets.ISO_8859_1);
                received.add(cmd);
                answer(out, responder.apply(cmd));
            }
        } catch (IOException e) {
            // the client closed the connection
        }
    }

    private static void answer(OutputStream out, byte[] reply) throws IOException {
        if (reply != null) {
            out.write(reply);
            out.flush();
        }
    }

    /** A well-formed packet around {@code body}. */
    static byte[] packet(String body) {
        int sum = 0;
        for (byte b : body.getBytes(StandardCharsets.ISO_8859_1)) {
            sum += b & 0xff;
        }
        return ("$" + body + "#" + String.format("%02x", sum & 0xff)).getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws java.io.IOException {
        server.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
