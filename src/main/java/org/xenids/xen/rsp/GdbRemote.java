package org.xenids.xen.rsp;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A client of the GDB remote serial protocol as QEMU's gdbstub speaks it (x86-64 target): the
 * few commands an outside observer of a hypervisor needs, each bounded by a timeout. Replies are
 * hostile input: a packet longer than {@link #MAX_PACKET}, a bad checksum (retried, then an
 * error), a reply of the wrong shape or an {@code Exx} error all fail with a one-line message
 * naming the command and the peer.
 */
public final class GdbRemote implements Closeable {
    /** Largest packet accepted from the stub (QEMU's own limit is 128 KiB). */
    public static final int MAX_PACKET = 1 << 20;
    /** Bytes asked per {@code m} packet (QEMU answers at most ~2 KiB comfortably). */
    static final int READ_CHUNK = 1024;
    private static final int MAX_RETRANSMIT = 3;

    /** Register numbers of QEMU's x86-64 description, in {@code g} packet order. */
    public static final int RAX = 0, RBX = 1, RCX = 2, RDX = 3, RSI = 4, RDI = 5, RBP = 6, RSP = 7,
            R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15, RIP = 16;

    /** Why the target stopped: {@code signal} (5 = trap), the stub's thread id (QEMU: cpu index + 1, or -1). */
    public record StopReply(char kind, int signal, long thread, String raw) {
        /** True when the target stopped (as opposed to exited, {@code W}/{@code X}). */
        public boolean stopped() {
            return kind == 'T' || kind == 'S';
        }
    }

    /** The stub refused or garbled a command, or did not answer in time. */
    public static final class RspException extends IOException {
        RspException(String message) {
            super(message);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String peer;
    private final int timeoutMillis;
    private final byte[] buf = new byte[MAX_PACKET];
    private long packetsIn, packetsOut, retransmits;

    private GdbRemote(Socket socket, String peer, Duration timeout) throws IOException {
        this.socket = socket;
        this.in = new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16);
        this.out = socket.getOutputStream();
        this.peer = peer;
        this.timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        socket.setSoTimeout(timeoutMillis);
        socket.setTcpNoDelay(true);
    }

    /** Connects to a stub, retrying refused connections until {@code timeout} (QEMU may still be starting). */
    public static GdbRemote connect(String host, int port, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        do {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(5000, timeout.toMillis())));
                return new GdbRemote(s, host + ":" + port, timeout);
            } catch (IOException e) {
                s.close();
                last = e;
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } while (System.nanoTime() < deadline);
        throw new RspException("gdbstub " + host + ":" + port + ": cannot connect: "
                + (last == null ? "interrupted" : last.getMessage()));
    }

    /** {@code ?}: why the target is stopped now. */
    public StopReply stopReason() throws IOException {
        return parseStop("?", command("?"));
    }

    /** {@code g}: all registers as the stub sends them (little-endian target bytes). */
    public byte[] readRegisters() throws IOException {
        return hexBytes("g", command("g"));
    }

    /**
     * {@code g}: rax … r15 and rip (indices {@link #RAX} … {@link #RIP}) from the register block.
     * QEMU answers {@code p} only after an XML target description was negotiated; {@code g}
     * always works.
     */
    public long[] generalRegisters() throws IOException {
        byte[] b = readRegisters();
        if (b.length < 8 * (RIP + 1)) {
            throw fail("g", "register block of " + b.length + " bytes, expected at least " + 8 * (RIP + 1));
        }
        long[] r = new long[RIP + 1];
        for (int i = 0; i <= RIP; i++) {
            r[i] = le64(b, 8 * i);
        }
        return r;
    }

    /** A 64-bit register from the {@code g} block ({@link #RAX} … {@link #RIP}). */
    public long register(int number) throws IOException {
        if (number < 0 || number > RIP) {
            throw new IllegalArgumentException("register " + number + " is not a 64-bit x86-64 register");
        }
        String cmd = "p" + Integer.toHexString(number);
        byte[] b = hexBytes(cmd, command(cmd));
        if (b.length != 8) {
            throw fail(cmd, "register reply of " + b.length + " bytes, expected 8");
        }
        return le64(b, 0);
    }

    /** {@code m}: {@code len} bytes at virtual address {@code addr} of the current CPU's address space. */
    public byte[] readMemory(long addr, int len) throws IOException {
        if (len < 0 || len > MAX_PACKET / 2) {
            throw new IllegalArgumentException("read of " + len + " bytes");
        }
        byte[] dst = new byte[len];
        for (int done = 0; done < len; ) {
            int n = Math.min(READ_CHUNK, len - done);
            String cmd = "m" + Long.toHexString(addr + done) + "," + Integer.toHexString(n);
            byte[] part = hexBytes(cmd, command(cmd));
            if (part.length == 0 || part.length > n) {
                throw fail(cmd, "memory reply of " + part.length + " bytes for " + n + " asked");
            }
            System.arraycopy(part, 0, dst, done, part.length);
            done += part.length;
        }
        return dst;
    }

    /** A little-endian u64 at virtual address {@code addr}. */
    public long readLong(long addr) throws IOException {
        return le64(readMemory(addr, 8), 0);
    }

    /** {@code Z0}/{@code Z1}: a software (type 0) or hardware (type 1) breakpoint. */
    public void insertBreakpoint(int type, long addr) throws IOException {
        expectOk(breakpointCommand('Z', type, addr));
    }

    /** {@code z0}/{@code z1}: removes a breakpoint set by {@link #insertBreakpoint}. */
    public void removeBreakpoint(int type, long addr) throws IOException {
        expectOk(breakpointCommand('z', type, addr));
    }

    /** {@code c}: resumes all CPUs and waits up to {@code wait} for the next stop. */
    public StopReply cont(Duration wait) throws IOException {
        send("c");
        return parseStop("c", receive("c", wait.toMillis()));
    }

    /** {@code vCont;s:T}: one instruction on thread {@code thread}, the others stay stopped. */
    public StopReply step(long thread) throws IOException {
        String cmd = "vCont;s:" + Long.toHexString(thread);
        send(cmd);
        return parseStop(cmd, receive(cmd, timeoutMillis));
    }

    /** {@code Hg}: selects the CPU (thread) that {@code g}, {@code p} and {@code m} refer to. */
    public void selectThread(long thread) throws IOException {
        expectOk("Hg" + Long.toHexString(thread));
    }

    /** Sends the interrupt byte (0x03); the stub answers with a stop reply. */
    public StopReply interrupt() throws IOException {
        out.write(0x03);
        out.flush();
        return parseStop("interrupt", receive("interrupt", timeoutMillis));
    }

    /** Packets received, sent, and resent after a NAK or a bad checksum. */
    public long[] counters() {
        return new long[] {packetsIn, packetsOut, retransmits};
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    // ---- protocol ------------------------------------------------------------------------------

    private String breakpointCommand(char z, int type, long addr) {
        if (type != 0 && type != 1) {
            throw new IllegalArgumentException("breakpoint type " + type + " (0 software, 1 hardware)");
        }
        return z + Integer.toString(type) + "," + Long.toHexString(addr) + ",1";
    }

    private void expectOk(String cmd) throws IOException {
        String r = command(cmd);
        if (!r.equals("OK")) {
            throw fail(cmd, r.isEmpty() ? "not supported by the stub" : "reply '" + clip(r) + "'");
        }
    }

    /** Sends {@code cmd} and returns the reply packet; {@code Exx} replies fail. */
    String command(String cmd) throws IOException {
        send(cmd);
        String r = receive(cmd, timeoutMillis);
        if (r.length() == 3 && r.charAt(0) == 'E' && isHex(r.charAt(1)) && isHex(r.charAt(2))) {
            throw fail(cmd, "stub error " + r);
        }
        return r;
    }

    private void send(String cmd) throws IOException {
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
    private String receive(String cmd, long waitMillis) throws IOException {
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
            int hi = hexValue(readByte(cmd, remaining(cmd, deadline)));
            int lo = hexValue(readByte(cmd, remaining(cmd, deadline)));
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
            if (s.length() > 1 && s.charAt(0) == 'O' && !s.equals("OK") && isAllHex(s, 1)) {
                continue;   // console output of the target: not a reply
            }
            return s;
        }
    }

    private boolean skipNoise(String cmd, int c) throws IOException {
        return true;   // bytes between packets carry nothing; the deadline bounds how many we skip
    }

    private int put(String cmd, int n, int c) throws IOException {
        if (n >= MAX_PACKET) {
            throw fail(cmd, "reply longer than " + MAX_PACKET + " bytes");
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

    private StopReply parseStop(String cmd, String r) throws IOException {
        if (r.length() < 3 || "TSWX".indexOf(r.charAt(0)) < 0) {
            throw fail(cmd, "expected a stop reply, got '" + clip(r) + "'");
        }
        int hi = hexValue(r.charAt(1)), lo = hexValue(r.charAt(2));
        if (hi < 0 || lo < 0) {
            throw fail(cmd, "stop reply with a bad signal '" + clip(r) + "'");
        }
        long thread = -1;
        int t = r.indexOf("thread:");
        if (r.charAt(0) == 'T' && t >= 0) {
            int end = r.indexOf(';', t);
            String id = r.substring(t + 7, end < 0 ? r.length() : end);
            if (id.isEmpty() || id.length() > 16 || !isAllHex(id, 0)) {
                throw fail(cmd, "stop reply with a bad thread id '" + clip(r) + "'");
            }
            thread = Long.parseUnsignedLong(id, 16);
        }
        return new StopReply(r.charAt(0), (hi << 4) | lo, thread, r);
    }

    private byte[] hexBytes(String cmd, String r) throws IOException {
        if ((r.length() & 1) != 0) {
            throw fail(cmd, "odd-length hex reply '" + clip(r) + "'");
        }
        byte[] b = new byte[r.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = hexValue(r.charAt(2 * i)), lo = hexValue(r.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                // QEMU marks unavailable register bytes with 'x'
                throw fail(cmd, "non-hex reply at " + (2 * i) + ": '" + clip(r) + "'");
            }
            b[i] = (byte) ((hi << 4) | lo);
        }
        return b;
    }

    private RspException fail(String cmd, String what) {
        return new RspException("gdbstub " + peer + ": " + clip(cmd) + ": " + what);
    }

    static long le64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xffL);
        }
        return v;
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static int hexValue(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static boolean isHex(char c) {
        return hexValue(c) >= 0;
    }

    private static boolean isAllHex(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!isHex(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static String clip(String s) {
        String t = s.length() > 60 ? s.substring(0, 60) + "…" : s;
        StringBuilder sb = new StringBuilder(t.length());
        for (char ch : t.toCharArray()) {
            sb.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        return sb.toString();
    }
}
