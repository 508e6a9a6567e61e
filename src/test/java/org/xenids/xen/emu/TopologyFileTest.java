package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A topology file is the user's: every malformed shape is refused in one line naming the file and entry. */
class TopologyFileTest {
    @TempDir
    Path dir;

    private static final String VIF = "vifs: [{mac: \"00:16:3e:00:00:01\", ips: [\"10.0.0.1\"]";

    String refused(String yaml) throws IOException {
        Path f = dir.resolve("t.yaml");
        Files.writeString(f, yaml);
        IOException e = assertThrows(IOException.class, () -> Topology.read(f));
        assertTrue(e.getMessage().startsWith("topology " + f + ": "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        return e.getMessage().substring(("topology " + f).length() + 2);
    }

    @Test
    void aWellFormedFileReads() throws IOException {
        Path f = dir.resolve("t.yaml");
        Files.writeString(f, "domains:\n - name: web\n   domid: 7\n   " + VIF + ", queues: 2}]\n");
        Topology t = Topology.read(f);
        assertEquals(7, t.guests().get(0).domid());
        assertEquals(2, t.guests().get(0).vifs().get(0).queues());
    }

    /** The error for {@code value} given as domain a's {@code domid}, or as its vif's {@code queues}. */
    String number(String key, String value) throws IOException {
        return refused(key.equals("domid") ? "domains:\n - name: a\n   domid: " + value + "\n   " + VIF + "}]\n"
                : "domains:\n - name: a\n   " + VIF + ", queues: " + value + "}]\n");
    }

    static String notAnInt(String key, String shown) {
        return (key.equals("domid") ? "domain a" : "domain a vif") + ": '" + key + "' must be a whole number below 2^31, not "
                + shown;
    }

    @Test
    void numbersBeyondAnIntAreRefusedNotWrapped() throws IOException {
        // 2^32 + 2 read as an int is 2, a valid domid: it must not be taken as one.
        assertEquals(notAnInt("domid", "4294967298"), number("domid", "4294967298"));
        assertEquals(notAnInt("queues", "4294967297"), number("queues", "4294967297"));
    }

    @Test
    void fractionsAndWordsAreRefusedNotTruncatedOrDefaulted() throws IOException {
        assertEquals(notAnInt("domid", "2.5"), number("domid", "2.5"));
        assertEquals(notAnInt("queues", "\"two\""), number("queues", "two"));
    }

    @Test
    void addressesGivenAsOneStringAreRefusedNotIgnored() throws IOException {
        assertEquals("domain a vif: 'ips' must be a list of addresses",
                refused("domains:\n - name: a\n   vifs: [{mac: \"00:16:3e:00:00:01\", ips: \"10.0.0.1\"}]\n"));
    }

    @Test
    void aHugeNameIsShownCutInTheError() throws IOException {
        String m = refused("domains:\n - name: " + "n".repeat(100_000) + "\n   " + VIF + "}]\n");
        assertTrue(m.startsWith("guest name '" + "n".repeat(64) + "… (100000 characters)' must be 1-255 bytes"), m);
        assertTrue(m.length() < 300, m);
    }

    @Test
    void aFileOverTheBoundIsRefusedAfterReadingOnlyTheBound() throws IOException {
        // 256 MiB of zeros, sparse: 3 GB of them exhausted the heap in parsing; only the first 1 MiB is read.
        Path f = dir.resolve("huge.yaml");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(256L << 20);
        }
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> Topology.read(f));
        assertEquals("topology " + f + ": over 1048576 bytes, more than a topology file may have", e.getMessage());
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "refused at once");
    }

    @Test
    void aYamlSyntaxErrorIsOneLineWithItsLineAndColumn() throws IOException {
        // SnakeYAML's message spans four lines, quoting the file around the problem and its context.
        assertEquals("not YAML (expected ',' or '}', but got : at line 3, column 8)",
                refused("domains:\n - {name: a, vifs: [{mac:x\n   vifs: [{mac: \"00:16:3e:00:00:01\"}]}]\n"));
    }

    @Test
    void aYamlAliasIsRefusedByName() throws IOException {
        // Unrefused, the alias reached the checks as the string "v", and the error was about 'vifs'.
        assertEquals("YAML aliases are not supported (*v, line 3): write the value out",
                refused("domains:\n - {name: a, vifs: &v [{mac: \"00:16:3e:00:00:01\"}]}\n - {name: b, vifs: *v}\n"));
    }

    @Test
    void aLineBreakInsideAQuotedValueIsShownEscaped() throws IOException {
        // A double-quoted YAML string keeps a line break where the file has an empty line.
        assertEquals("MAC 'fe:ff\\x0a:ff' is not six hex bytes separated by ':'",
                refused("uplink: {mac: \"fe:ff\n\n  :ff\"}\ndomains:\n - name: a\n   " + VIF + "}]\n"));
    }

    @Test
    void aDirectoryIsRefusedNamingIt() {
        IOException e = assertThrows(IOException.class, () -> Topology.read(dir));
        assertEquals("topology " + dir + ": is a directory, not a topology file", e.getMessage());
    }

    @Test
    void bytesThatAreNotUtf8AreNotYamlSaidWithoutJavaClassNames() throws IOException {
        Path f = dir.resolve("random.yaml");
        Files.write(f, new byte[] {(byte) 0x84, 0x10, 0x4d, (byte) 0xff, 0x7f});
        IOException e = assertThrows(IOException.class, () -> Topology.read(f));
        assertEquals("topology " + f + ": not YAML (not UTF-8 text: byte 0x84 at character 1)", e.getMessage());
        Files.write(f, new byte[] {'a', ':', ' ', '[', (byte) 0xff, (byte) 0xfe, ']', '\n'});
        e = assertThrows(IOException.class, () -> Topology.read(f));
        assertEquals("topology " + f + ": not YAML (not UTF-8 text: byte 0xff at character 5)", e.getMessage());
    }

    @Test
    void controlBytesAreNotYamlSaidWithoutJavaClassNames() throws IOException {
        assertEquals("not YAML (special characters are not allowed at line 1)", refused("\u0001domains:\n"));
    }
}
