package org.xenids.xen.rsp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class GdbRemoteTest {
    private static final Duration T = Duration.ofSeconds(2);

    private static GdbRemote client(FakeStub stub) throws Exception {
        return GdbRemote.connect("127.0.0.1", stub.port(), T);
    }

    @Test
    void registersMemoryAndBreakpointsRoundTrip() throws Exception {
        // rip = 0xffff82d040123456 little-endian, rdi = 20
        try (FakeStub stub = new FakeStub(cmd -> switch (cmd) {
            case "p10" -> FakeStub.packet("56341240d082ffff");
            case "p5" -> FakeStub.packet("1400000000000000");
            case "mffff830000001000,4" -> FakeStub.packet("deadbeef");
            case "Z0,ffff82d040123456,1", "z0,ffff82d040123456,1" -> FakeStub.packet("OK");
            case "c" -> FakeStub.packet("T05thread:02;");
            case "g" -> FakeStub.packet("14" + "00".repeat(8 * 16 - 1) + "56341240d082ffff" + "46020000" + "10000000".repeat(6));
            default -> FakeStub.packet("");
        }); GdbRemote g = client(stub)) {
            g.insertBreakpoint(0, 0xffff82d040123456L);
            GdbRemote.StopReply r = g.cont(T);
            assertTrue(r.stopped());
            assertEquals(5, r.signal());
            assertEquals(2, r.thread());
            assertEquals(0xffff82d040123456L, g.register(GdbRemote.RIP));
            assertEquals(20, g.register(GdbRemote.RDI));
            assertArrayEquals(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef},
                    g.readMemory(0xffff830000001000L, 4));
            long[] regs = g.generalRegisters();
            assertEquals(0x14, regs[GdbRemote.RAX]);
            assertEquals(0xffff82d040123456L, regs[GdbRemote.RIP]);
            g.removeBreakpoint(0, 0xffff82d040123456L);
            assertEquals(java.util.List.of("Z0,ffff82d040123456,1", "c", "p10", "p5",
                    "mffff830000001000,4", "g", "z0,ffff82d040123456,1"), stub.received);
        }
    }

    @Test
    void largeReadsAreSplitIntoChunksAndReassembled() throws Exception {
        try (FakeStub stub = new FakeStub(cmd -> {
            String[] p = cmd.substring(1).split(",");
            long addr = Long.parseLong(p[0], 16);
            int n = Integer.parseInt(p[1], 16);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append(String.format("%02x", (addr + i) & 0xff));
            }
            return FakeStub.packet(sb.toString());
        }); GdbRemote g = client(stub)) {
            byte[] b = g.readMemory(0x1000, 3000);
            for (int i = 0; i < b.length; i++) {
                assertEquals((byte) i, b[i]);
            }
            assertEquals(3, stub.received.size());
        }
    }

    @Test
    void escapedAndRunLengthEncodedRepliesAreDecoded() throws Exception {
        // "0*'0": '*' then '\'' (39) repeats the '0' 39 - 29 = 10 more times: 12 hex digits, 6 bytes
        try (FakeStub stub = new FakeStub(cmd -> FakeStub.packet("0*'0")); GdbRemote g = client(stub)) {
            GdbRemote.RspException e = assertThrows(GdbRemote.RspException.class, () -> g.register(0));
            assertTrue(e.getMessage().contains("6 bytes, expected 8"), e.getMessage());
        }
        try (FakeStub stub = new FakeStub(cmd -> FakeStub.packet("0*,")); GdbRemote g = client(stub)) {
            // ',' = 44: 15 more zeros after the first: 16 hex digits = 8 bytes
            assertEquals(0L, g.register(0));
        }
        try (FakeStub stub = new FakeStub(cmd -> FakeStub.packet("}]OK".replace("}]", "}" + (char) ('$' ^ 0x20))));
             GdbRemote g = client(stub)) {
            assertEquals("$OK", g.command("qX"));
        }
    }

    @Test
    void badChecksumIsNakedAndTheResentReplyAccepted() throws Exception {
        try (FakeStub stub = new FakeStub(cmd -> {
            if (!cmd.equals("?")) {
                return null;
            }
            // first a corrupted packet, then (after the client's '-') the good one
            return ("$S05#00" + new String(FakeStub.packet("S05"), StandardCharsets.ISO_8859_1))
                    .getBytes(StandardCharsets.ISO_8859_1);
        }); GdbRemote g = client(stub)) {
            GdbRemote.StopReply r = g.stopReason();
            assertEquals('S', r.kind());
            assertEquals(5, r.signal());
            assertEquals(1, g.counters()[2]);
        }
    }

    @Test
    void malformedRepliesFailWithOneLineNamingTheCommand() throws Exception {
        try (FakeStub stub = new FakeStub(cmd -> switch (cmd) {
            case "p10" -> FakeStub.packet("zz00000000000000");
            case "m10,4" -> FakeStub.packet("abc");
            case "Z1,10,1" -> FakeStub.packet("E22");
            case "Z0,10,1" -> FakeStub.packet("");
            case "c" -> FakeStub.packet("OK");
            case "?" -> FakeStub.packet("T05thread:zz;");
            case "g" -> FakeStub.packet("0011");
            default -> FakeStub.packet("$".repeat(0));
        }); GdbRemote g = client(stub)) {
            assertMessage(() -> g.register(GdbRemote.RIP), "p10: non-hex reply");
            assertMessage(() -> g.readMemory(0x10, 4), "m10,4: odd-length hex reply");
            assertMessage(() -> g.insertBreakpoint(1, 0x10), "Z1,10,1: stub error E22");
            assertMessage(() -> g.insertBreakpoint(0, 0x10), "Z0,10,1: not supported");
            assertMessage(() -> g.cont(T), "c: expected a stop reply");
            assertMessage(g::stopReason, "?: stop reply with a bad thread id");
            assertMessage(g::generalRegisters, "g: register block of 2 bytes");
        }
    }

    @Test
    void silentStubTimesOutNamingThePeer() throws Exception {
        try (FakeStub stub = new FakeStub(cmd -> null);
             GdbRemote g = GdbRemote.connect("127.0.0.1", stub.port(), Duration.ofMillis(300))) {
            long t0 = System.nanoTime();
            GdbRemote.RspException e = assertThrows(GdbRemote.RspException.class, g::stopReason);
            assertTrue(e.getMessage().startsWith("gdbstub 127.0.0.1:" + stub.port() + ": ?: no reply"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L);
        }
    }

    @Test
    void endlessReplyIsCutAtTheLimit() throws Exception {
        byte[] huge = new byte[GdbRemote.MAX_PACKET + 10];
        java.util.Arrays.fill(huge, (byte) 'a');
        huge[0] = '$';
        try (FakeStub stub = new FakeStub(cmd -> huge); GdbRemote g = client(stub)) {
            assertMessage(() -> g.readRegisters(), "reply longer than");
        }
    }

    @Test
    void consoleOutputPacketsAreSkipped() throws Exception {
        try (FakeStub stub = new FakeStub(cmd -> (new String(FakeStub.packet("O48690a"), StandardCharsets.ISO_8859_1)
                + new String(FakeStub.packet("S02"), StandardCharsets.ISO_8859_1)).getBytes(StandardCharsets.ISO_8859_1));
             GdbRemote g = client(stub)) {
            assertEquals(2, g.stopReason().signal());
        }
    }

    @Test
    void refusedConnectionFailsAfterTheTimeout() {
        GdbRemote.RspException e = assertThrows(GdbRemote.RspException.class,
                () -> GdbRemote.connect("127.0.0.1", 1, Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("cannot connect"), e.getMessage());
    }

    private interface Io {
        void run() throws Exception;
    }

    private static void assertMessage(Io io, String part) {
        GdbRemote.RspException e = assertThrows(GdbRemote.RspException.class, io::run);
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }
}
