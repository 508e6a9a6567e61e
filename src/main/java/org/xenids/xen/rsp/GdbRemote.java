package org.xenids.xen.rsp;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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

    private final Packets io;
    private final int timeoutMillis;

    private GdbRemote(Socket socket, String peer, Duration timeout) throws IOException {
        this.timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        this.io = new Packets(socket, peer, timeoutMillis);
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
        io.send("c");
        return parseStop("c", io.receive("c", wait.toMillis()));
    }

    /** {@code vCont;s:T}: one instruction on thread {@code thread}, the others stay stopped. */
    public StopReply step(long thread) throws IOException {
        String cmd = "vCont;s:" + Long.toHexString(thread);
        io.send(cmd);
        return parseStop(cmd, io.receive(cmd, timeoutMillis));
    }

    /** {@code Hg}: selects the CPU (thread) that {@code g}, {@code p} and {@code m} refer to. */
    public void selectThread(long thread) throws IOException {
        expectOk("Hg" + Long.toHexString(thread));
    }

    /** Sends the interrupt byte (0x03); the stub answers with a stop reply. */
    public StopReply interrupt() throws IOException {
        io.interrupt();
        return parseStop("interrupt", io.receive("interrupt", timeoutMillis));
    }

    /** Packets received, sent, and resent after a NAK or a bad checksum. */
    public long[] counters() {
        return io.counters();
    }

    @Override
    public void close() throws IOException {
        io.close();
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
        io.send(cmd);
        String r = io.receive(cmd, timeoutMillis);
        if (r.length() == 3 && r.charAt(0) == 'E' && isHex(r.charAt(1)) && isHex(r.charAt(2))) {
            throw fail(cmd, "stub error " + r);
        }
        return r;
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
        return io.fail(cmd, what);
    }

    static long le64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xffL);
        }
        return v;
    }

    static int hexValue(int c) {
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

    static boolean isHex(char c) {
        return hexValue(c) >= 0;
    }

    static boolean isAllHex(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!isHex(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    static String clip(String s) {
        String t = s.length() > 60 ? s.substring(0, 60) + "…" : s;
        StringBuilder sb = new StringBuilder(t.length());
        for (char ch : t.toCharArray()) {
            sb.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        return sb.toString();
    }
}
