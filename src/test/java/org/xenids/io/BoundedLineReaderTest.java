package org.xenids.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.CharRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoundedLineReaderTest {

    static List<String> lines(BoundedLineReader r) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l; (l = r.readLine()) != null; ) {
            out.add(l);
        }
        return out;
    }

    /** Short reads, one to seven bytes at a time: line breaks split across reads must still be found. */
    static InputStream trickling(byte[] b) {
        return new ByteArrayInputStream(b) {
            int k;

            @Override
            public synchronized int read(byte[] dst, int off, int len) {
                return super.read(dst, off, Math.min(len, 1 + k++ % 7));
            }
        };
    }

    @Property(tries = 500)
    void splitsLinesAsBufferedReaderDoes(@ForAll @StringLength(max = 300) @CharRange(from = '\n', to = '\r')
                                         @CharRange(from = 'a', to = 'c') @CharRange(from = 'é', to = 'é') String text)
            throws IOException {
        List<String> expected = new BufferedReader(new StringReader(text)).lines().toList();
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        assertEquals(expected, lines(new BoundedLineReader(new ByteArrayInputStream(utf8), "t", StandardCharsets.UTF_8, 1000)));
        assertEquals(expected, lines(new BoundedLineReader(trickling(utf8), "t", StandardCharsets.UTF_8, 1000)));
    }

    @Test
    void anEndlessLineIsRefusedAtTheBoundNamingTheInputAndLine() {
        // An input with no line break that never ends: only a bound on the line stops the read.
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 'a';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                java.util.Arrays.fill(b, off, off + len, (byte) 0);
                return len;
            }
        };
        BoundedLineReader r = new BoundedLineReader(
                new java.io.SequenceInputStream(new ByteArrayInputStream("ok\n".getBytes()), endless),
                "labels file x.csv", StandardCharsets.UTF_8, 1 << 16);
        IOException e = assertThrows(IOException.class, () -> {
            assertEquals("ok", r.readLine());
            r.readLine();
        });
        assertEquals("labels file x.csv: line 2 is longer than 65536 bytes", e.getMessage());
    }

    @Test
    void aLineOfExactlyTheBoundIsReadAndOneByteMoreIsNot() throws IOException {
        String line = "x".repeat(100);
        BoundedLineReader r = new BoundedLineReader(new ByteArrayInputStream((line + "\r\n" + line).getBytes()), "t",
                StandardCharsets.UTF_8, 100);
        assertEquals(List.of(line, line), lines(r));
        BoundedLineReader over = new BoundedLineReader(trickling((line + "\n" + line + "x").getBytes()), "t",
                StandardCharsets.UTF_8, 100);
        assertEquals(line, over.readLine());
        assertEquals("t: line 2 is longer than 100 bytes", assertThrows(IOException.class, over::readLine).getMessage());
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedNamingTheLine() throws IOException {
        byte[] b = {'a', '\n', 'b', (byte) 0xff, '\n', 'c'};
        BoundedLineReader r = new BoundedLineReader(new ByteArrayInputStream(b), "EVE file e.json", StandardCharsets.UTF_8, 100);
        assertEquals("a", r.readLine());
        IOException e = assertThrows(IOException.class, r::readLine);
        assertEquals("EVE file e.json: line 2 is not valid UTF-8", e.getMessage());
        BoundedLineReader latin = new BoundedLineReader(new ByteArrayInputStream(b), "t", StandardCharsets.ISO_8859_1, 100);
        assertEquals(List.of("a", "b\u00ff", "c"), lines(latin));
    }

    @Test
    void aDirectoryIsRefusedNamingIt(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class, () -> BoundedLineReader.open(dir, "labels file", StandardCharsets.UTF_8, 10));
        assertEquals("labels file " + dir + " is a directory", e.getMessage());
    }

    @Test
    void anEmptyInputHasNoLines() throws IOException {
        assertNull(new BoundedLineReader(InputStream.nullInputStream(), "t", StandardCharsets.UTF_8, 1).readLine());
        assertTrue(lines(new BoundedLineReader(new ByteArrayInputStream("\n".getBytes()), "t", StandardCharsets.UTF_8, 1))
                .equals(List.of("")));
    }
}
