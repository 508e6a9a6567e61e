package org.xenids.xen.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenids.xen.abi.Gnttab;
import org.xenids.xen.abi.Xen;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * XenProbe against a scripted gdbstub (no QEMU): a machine whose memory holds Xen's per-CPU
 * stack, vCPU and domain, stopping at the breakpoints the probe sets as a real Xen would. The
 * script plays dom0's netback: an RX copy batch Xen preempts after its first element, a TX copy
 * call in between (a softirq), then the continuation.
 */
class XenProbeTest {
    static final long GNTTAB = 0xffff82d040100000L, EVTCHN = 0xffff82d040100100L, NOTE = 0xffff82d040200000L,
            STACK_BASE = 0xffff82d040300000L, PER_CPU_OFFSET = 0xffff82d040300100L,
            CURR_VCPU = 0xffff82d040300200L, HW_DOMAIN = 0xffff82d040300300L;
    static final long STACK = 0xffff830000100000L, RSP = STACK + 0x7e00, VCPU = 0xffff830000200000L,
            DOMAIN = 0xffff830000300000L, PER_CPU = 0x1000, RET = 0xffff82d040100800L,
            RX_OPS = 0xffffc90000010000L, TX_OPS = 0xffffc90000020000L;
    static final byte[] BUILD_ID = HexFormat.of().parseHex("151b373f00112233445566778899aabbccddeeff");

    /** Memory of the scripted machine (hypervisor virtual addresses). */
    final TreeMap<Long, byte[]> mem = new TreeMap<>();
    final List<String> sent = new ArrayList<>();

    void put(long addr, byte[] b) {
        mem.put(addr, b);
    }

    void putLong(long addr, long v) {
        put(addr, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    byte[] read(long addr, int len) {
        Map.Entry<Long, byte[]> e = mem.floorEntry(addr);
        if (e == null || addr + len > e.getKey() + e.getValue().length) {
            return null;
        }
        int off = (int) (addr - e.getKey());
        return java.util.Arrays.copyOfRange(e.getValue(), off, off + len);
    }

    static byte[] copies(int... lensAndFlags) {
        ByteBuffer b = ByteBuffer.allocate(Gnttab.Copy.SIZE * lensAndFlags.length / 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < lensAndFlags.length; i += 2) {
            long at = (long) i / 2 * Gnttab.Copy.SIZE;
            boolean rx = lensAndFlags[i + 1] == Xen.GNTCOPY_dest_gref;
            Gnttab.Copy.set(java.lang.foreign.MemorySegment.ofBuffer(b), at, rx ? 0x1234 : 0x300 + i, rx ? Xen.DOMID_SELF : 1,
                    0, rx ? 0x300 + i : 0x5678, rx ? 1 : Xen.DOMID_SELF, rx ? i * 33 : 0, lensAndFlags[i], lensAndFlags[i + 1]);
        }
        return b.array();
    }

    /** One stop of the script: where the CPU is, the registers that matter. */
    record Stop(long rip, long rsp, long rax, long rdi, long rsi, long rdx) {}

    void machine(long hardwareDomain) {
        machine(hardwareDomain, RSP, 0x7fff, 0x37, 0x10);
    }

    /** The machine with {@code current} at (rsp | mask) − {@code current}, vcpu->domain at {@code domainAt}. */
    void machine(long hardwareDomain, long rsp, long mask, int current, int domainAt) {
        byte[] note = new byte[36];
        ByteBuffer.wrap(note).order(ByteOrder.LITTLE_ENDIAN).putInt(4).putInt(20).putInt(3).put("GNU\0".getBytes(StandardCharsets.ISO_8859_1));
        System.arraycopy(BUILD_ID, 0, note, 16, 20);
        put(NOTE, note);
        putLong((rsp | mask) - current, VCPU);
        byte[] vcpu = new byte[0x40];
        ByteBuffer.wrap(vcpu).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0).putInt(4, 0).putLong(domainAt, DOMAIN);
        put(VCPU, vcpu);
        put(DOMAIN, new byte[16]);   // domain_id 0
        putLong(STACK_BASE, STACK);
        putLong(PER_CPU_OFFSET, PER_CPU);
        putLong(CURR_VCPU + PER_CPU, VCPU);
        putLong(HW_DOMAIN, hardwareDomain);
        putLong(rsp, RET);
        put(RX_OPS, copies(66, Xen.GNTCOPY_dest_gref, 2896, Xen.GNTCOPY_dest_gref));
        put(TX_OPS, copies(128, Xen.GNTCOPY_source_gref));
    }

    /** Serves the script: each 'c' goes to the next stop; 'W00' after the last. */
    Thread serve(ServerSocket server, List<Stop> script) {
        return Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                int next = 0;
                Stop at = null;
                while (true) {
                    int c = in.read();
                    if (c < 0) {
                        return;
                    }
                    if (c != '$') {
                        continue;
                    }
                    ByteArrayOutputStream body = new ByteArrayOutputStream();
                    while ((c = in.read()) != '#' && c >= 0) {
                        body.write(c);
                    }
                    in.read();
                    in.read();
                    out.write('+');
                    String cmd = body.toString(StandardCharsets.ISO_8859_1);
                    sent.add(cmd);
                    String reply;
                    if (cmd.equals("?")) {
                        reply = "S05";
                    } else if (cmd.startsWith("Z0") || cmd.startsWith("z0")) {
                        reply = "OK";
                    } else if (cmd.startsWith("vCont;s")) {
                        reply = "T05thread:01;";
                    } else if (cmd.equals("c")) {
                        at = next < script.size() ? script.get(next++) : null;
                        reply = at == null ? "W00" : "T05thread:01;";
                    } else if (cmd.equals("g")) {
                        ByteBuffer r = ByteBuffer.allocate(8 * 17 + 8).order(ByteOrder.LITTLE_ENDIAN);
                        r.putLong(0, at.rax()).putLong(8 * 3, at.rdx()).putLong(8 * 4, at.rsi()).putLong(8 * 5, at.rdi())
                                .putLong(8 * 7, at.rsp()).putLong(8 * 16, at.rip());
                        reply = HexFormat.of().formatHex(r.array());
                    } else if (cmd.startsWith("m")) {
                        String[] f = cmd.substring(1).split(",");
                        byte[] b = read(Long.parseUnsignedLong(f[0], 16), Integer.parseInt(f[1], 16));
                        reply = b == null ? "E14" : HexFormat.of().formatHex(b);
                    } else {
                        reply = "";
                    }
                    int sum = 0;
                    for (byte b : reply.getBytes(StandardCharsets.ISO_8859_1)) {
                        sum += b & 0xff;
                    }
                    out.write(("$" + reply + "#" + String.format("%02x", sum & 0xff)).getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                }
            } catch (IOException e) {
                // the probe closed the connection
            }
        });
    }

    /** The symbols' ELF: the build-id note, plus {@code code} loaded at do_grant_table_op when given. */
    static byte[] elf(byte[] code) {
        if (code == null) {
            return XenSymbolsTest.elf64WithNote(BUILD_ID);
        }
        int note = 64 + 2 * 56, at = note + 36;
        ByteBuffer b = ByteBuffer.allocate(at + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putLong(32, 64).putShort(54, (short) 56).putShort(56, (short) 2);
        b.putInt(64, 4).putLong(64 + 8, note).putLong(64 + 32, 36);
        b.putInt(120, 1).putLong(120 + 8, at).putLong(120 + 16, GNTTAB).putLong(120 + 32, code.length);
        b.putInt(note, 4).putInt(note + 4, 20).putInt(note + 8, 3).put(note + 12, new byte[] {'G', 'N', 'U', 0})
                .put(note + 16, BUILD_ID).put(at, code);
        return b.array();
    }

    byte[] code;

    Path symbols(Path dir) throws IOException {
        Path map = dir.resolve("xen-syms.map");
        Files.writeString(map, String.join("\n",
                "0x" + Long.toHexString(GNTTAB) + " T do_grant_table_op",
                "0x" + Long.toHexString(EVTCHN) + " T do_event_channel_op",
                "0x" + Long.toHexString(NOTE) + " R __note_gnu_build_id_start",
                "0x" + Long.toHexString(STACK_BASE) + " B stack_base",
                "0x" + Long.toHexString(PER_CPU_OFFSET) + " B __per_cpu_offset",
                "0x" + Long.toHexString(CURR_VCPU) + " B per_cpu__curr_vcpu",
                "0x" + Long.toHexString(HW_DOMAIN) + " D hardware_domain") + "\n");
        Files.write(dir.resolve("xen-syms"), elf(code));
        Files.write(dir.resolve("ram"), new byte[1 << 16]);
        return map;
    }

    List<String> runScript(Path dir, List<Stop> script) throws Exception {
        Path map = symbols(dir);
        List<String> got = new ArrayList<>();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread t = serve(server, script);
            try (XenProbe p = XenProbe.attach("127.0.0.1", server.getLocalPort(), map, dir.resolve("xen-syms"),
                    dir.resolve("ram"), Duration.ofSeconds(10))) {
                XenProbe.Stats st = p.run(new HypercallListener() {
                    @Override
                    public boolean allow(Hypercall c, int index) {
                        return true;
                    }

                    @Override
                    public void completed(Hypercall c) {
                        StringBuilder b = new StringBuilder("#" + c.sequence() + " d" + c.callerDomid() + " cmd" + c.cmd()
                                + " r" + c.result() + ":");
                        for (int i = 0; i < c.count(); i++) {
                            b.append(' ').append(Gnttab.Copy.len(c.args(), (long) i * Gnttab.Copy.SIZE));
                        }
                        got.add(b.toString());
                    }
                }, () -> false, Duration.ofSeconds(10), Duration.ofSeconds(30));
                got.add("resumed " + st.continuations() + ", lost " + st.lostContinuations() + ", build " + st.buildId());
            }
            t.join(2000);
        }
        return got;
    }

    @Test
    void preemptedBatchIsDeliveredWholeAcrossAnInterleavedCall(@TempDir Path dir) throws Exception {
        machine(DOMAIN);
        List<Stop> script = List.of(
                // netback's RX thread: two copies; Xen does the first and returns a continuation
                new Stop(GNTTAB, RSP, 0, Xen.GNTTABOP_copy, RX_OPS, 2),
                new Stop(RET, RSP + 8, Xen.__HYPERVISOR_grant_table_op, 0, 0, 0),
                // a softirq's TX copy before the RX thread re-enters
                new Stop(GNTTAB, RSP, 0, Xen.GNTTABOP_copy, TX_OPS, 1),
                new Stop(RET, RSP + 8, 0, 0, 0, 0),
                // the continuation: the array advanced past the element done, one left
                new Stop(GNTTAB, RSP, 0, Xen.GNTTABOP_copy, RX_OPS + Gnttab.Copy.SIZE, 1),
                new Stop(RET, RSP + 8, 0, 0, 0, 0));
        List<String> got = runScript(dir, script);
        assertEquals(List.of("#1 d0 cmd5 r0: 128", "#2 d0 cmd5 r0: 66", "#3 d0 cmd5 r0: 2896",
                "resumed 1, lost 0, build " + HexFormat.of().formatHex(BUILD_ID)), got);
        assertTrue(sent.contains("Z0," + Long.toHexString(RET) + ",1"), "return breakpoint set: " + sent);
        assertTrue(sent.contains("z0," + Long.toHexString(RET) + ",1"), "return breakpoint removed: " + sent);
    }

    @Test
    void offsetsReadFromTheHypervisorsCodeAreTheOnesUsed(@TempDir Path dir) throws Exception {
        // a build whose stacks are 16 KiB, current 0x40 below the top, vcpu->domain at +0x18
        code = HexFormat.of().parseHex("55" + "4889e0" + "480dff3f0000" + "488b40c0" + "488b4018" + "c3");
        long rsp = STACK + 0x3e00;
        machine(DOMAIN, rsp, 0x3fff, 0x40, 0x18);
        List<String> got = runScript(dir, List.of(new Stop(GNTTAB, rsp, 0, Xen.GNTTABOP_copy, TX_OPS, 1),
                new Stop(RET, rsp + 8, 0, 0, 0, 0)));
        assertEquals(List.of("#1 d0 cmd5 r0: 128", "resumed 0, lost 0, build " + HexFormat.of().formatHex(BUILD_ID)), got);
    }

    @Test
    void layoutThatDoesNotHoldIsRefusedNamingTheCheck(@TempDir Path dir) {
        machine(DOMAIN + 0x1000);   // hardware_domain is not the domain found through current
        List<Stop> script = List.of(new Stop(GNTTAB, RSP, 0, Xen.GNTTABOP_copy, TX_OPS, 1));
        IOException e = assertThrows(IOException.class, () -> runScript(dir, script));
        assertTrue(e.getMessage().startsWith("probe: this hypervisor's layout is not the one the probe reads")
                && e.getMessage().contains("hardware_domain"), e.getMessage());
    }
}
