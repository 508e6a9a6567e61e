package org.xenids.xen.rsp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * The packet layer of the remote serial protocol ({@link GdbRemote} speaks the commands over it):
 * {@code $body#cc} framing with acks, retransmission on a NAK or a bad checksum, {@code }}-escapes
 * and run-length encoding in replies, console {@code O} packets skipped, every read bounded by a
 * deadline and by {@link GdbRemote#MAX_PACKET}.
 */
final class Packets {
    static final int MAX_RETRANSMIT = 3;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String peer;
    private final int timeoutMillis;
    private final byte[] buf = new byte[GdbRemote.MAX_PACKET];
    private long packetsIn, packetsOut, retransmits;

    Packets(Socket socket, String peer, int timeoutMillis) throws IOException {
        this.socket = socket;
        this.in = new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16);
        this.out = socket.getOutputStream();
        this.peer = peer;
        this.timeoutMillis = timeoutMillis;
        socket.setSoTimeout(timeoutMillis);
        socket.setTcpNoDelay(true);
    }

    /** The interrupt byte (0x03), outside any packet. */
    void interrupt() throws IOException {
        out.write(0x03);
        out.flush();
    }

    long[] counters() {
        return new long[] {packetsIn, packetsOut, retransmits};
    }

    void close() throws IOException {
        socket.close();
    }

    GdbRemote.RspException fail(String cmd, String what) {
        return new GdbRemote.RspException("gdbstub " + peer + ": " + GdbRemote.clip(cmd) + ": " + what);
    }

    void send(String cmd) throws IOException {
        byte[] body = cmd.getBytes(StandardCharsets.ISO_8859_1);
        byte[] pkt = new byte[body.length + 4];
        pkt[0] = '$';
        int sum = 0;
        for (int i = 0; i < body.length; i++) {
            byte b = body[i];
            if (b == '$' || b == '#' || b == '}' || b == '*') {
                throw new IllegalArgumentException("command needs escaping: " + cmd);
            }
            pkt[1 + i] = b;
            sum += b & 0xff;
        }
        pkt[body.length + 1] = '#';
        pkt[body.length + 2] = (byte) HEX[(sum >> 4) & 15];
        pkt[body.length + 3] = (byte) HEX[sum & 15];
        for (int attempt = 0; ; attempt++) {
            out.write(pkt);
            out.flush();
            packetsOut++;
            int ack = readByte(cmd, timeoutMillis);
            if (ack == '+') {
                return;
            }
            if (ack != '-' || attempt >= MAX_RETRANSMIT) {
                throw fail(cmd, ack == '-' ? "NAKed " + (attempt + 1) + " times"
                        : "expected ack '+', got byte 0x" + Integer.toHexString(ack));
            }
            retransmits++;
        }
    }

    /** Reads one packet (skipping stray acks and console 'O' packets), acking it. */
    String receive(String cmd, long waitMillis) throws IOException {
        long deadline = System.nanoTime() + waitMillis * 1_000_000L;
        for (int attempt = 0; ; ) {
            int c;
            do {
                c = readByte(cmd, remaining(cmd, deadline));
            } while (c == '+' || c == '-' || c != '$' && skipNoise(cmd, c));
            int n = 0, sum = 0;
            boolean escaped = false;
            while (true) {
                c = readByte(cmd, remaining(cmd, deadline));
                if (c == '#' && !escaped) {
                    break;
                }
                if (c == '$' && !escaped) {
                    throw fail(cmd, "'$' inside a packet");
                }
                sum += c;
                if (escaped) {
                    n = put(cmd, n, c ^ 0x20);
                    escaped = false;
                } else if (c == '}') {
                    escaped = true;
                } else if (c == '*') {
                    // run-length: the previous byte repeated (next - 29) more times
                    int r = readByte(cmd, remaining(cmd, deadline));
                    sum += r;
                    int count = r - 29;
                    if (n == 0 || count < 3 || count > 97) {
                        throw fail(cmd, "bad run-length encoding");
                    }
                    int prev = buf[n - 1] & 0xff;
                    for (int i = 0; i < count; i++) {
                        n = put(cmd, n, prev);
                    }
                } else {
                    n = put(cmd, n, c);
                }
            }
            int hi = GdbRemote.hexValue(readByte(cmd, remaining(cmd, deadline)));
            int lo = GdbRemote.hexValue(readByte(cmd, remaining(cmd, deadline)));
            if (hi < 0 || lo < 0 || ((hi << 4) | lo) != (sum & 0xff)) {
                out.write('-');
                out.flush();
                retransmits++;
                if (++attempt > MAX_RETRANSMIT) {
                    throw fail(cmd, "reply checksum wrong " + attempt + " times");
                }
                continue;
            }
            out.write('+');
            out.flush();
            packetsIn++;
            String s = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            if (s.length() > 1 && s.charAt(0) == 'O' && !s.equals("OK") && GdbRemote.isAllHex(s, 1)) {
                continue;   // console output of the target: not a reply
            }
            return s;
        }
    }

    private boolean skipNoise(String cmd, int c) throws IOException {
        return true;   // bytes between packets carry nothing; the deadline bounds how many we skip
    }

    private int put(String cmd, int n, int c) throws IOException {
        if (n >= GdbRemote.MAX_PACKET) {
            throw fail(cmd, "reply longer than " + GdbRemote.MAX_PACKET + " bytes");
        }
        buf[n] = (byte) c;
        return n + 1;
    }

    private int remaining(String cmd, long deadline) throws IOException {
        long ms = (deadline - System.nanoTime()) / 1_000_000L;
        if (ms <= 0) {
            throw fail(cmd, "no reply in time");
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private int readByte(String cmd, long waitMillis) throws IOException {
        try {
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, waitMillis)));
            int c = in.read();
            if (c < 0) {
                throw fail(cmd, "connection closed by the stub");
            }
            return c;
        } catch (SocketTimeoutException e) {
            throw fail(cmd, "no reply in " + waitMillis + " ms");
        }
    }

}
