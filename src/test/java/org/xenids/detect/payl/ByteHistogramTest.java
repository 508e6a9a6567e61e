package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteHistogramTest {
    private static int[] naive(byte[] b, int off, int n) {
        int[] c = new int[256];
        for (int i = off; i < off + n; i++) {
            c[b[i] & 0xFF]++;
        }
        return c;
    }

    private static int[] counts(ByteHistogram h) {
        int[] c = new int[256];
        for (int v = 0; v < 256; v++) {
            c[v] = h.count(v);
        }
        return c;
    }

    @Test
    void countsEqualANaiveCountForEveryLengthAroundTheUnrolledStep() {
        Random r = new Random(7);
        byte[] buf = new byte[300];
        r.nextBytes(buf);
        ByteHistogram h = new ByteHistogram(4096);
        for (int off = 0; off < 40; off += 13) {
            for (int n = 0; off + n <= buf.length; n++) {
                h.reset();
                assertEquals(n, h.add(buf, off, n));
                assertArrayEquals(naive(buf, off, n), counts(h), "off " + off + " len " + n);
                assertEquals(n, h.length());
            }
        }
    }

    @Test
    void piecesAddUpAndStopAtTheDepth() {
        byte[] sled = new byte[100];
        java.util.Arrays.fill(sled, (byte) 0x90);
        ByteHistogram h = new ByteHistogram(150);
        assertEquals(100, h.add(sled, 0, 100));
        assertEquals(50, h.add(sled, 10, 90));
        assertEquals(0, h.add(sled, 0, 100));
        assertTrue(h.full());
        assertEquals(150, h.count(0x90));
        assertEquals(150, h.length());
    }

    /** The kernel's speed depends on being compiled on its own; see {@code ByteHistogram.count}. */
    @Test
    void countingKernelStaysAboveTheJitsInliningLimit() throws Exception {
        ClassModel cm;
        try (InputStream in = ByteHistogram.class.getResourceAsStream("ByteHistogram.class")) {
            cm = ClassFile.of().parse(in.readAllBytes());
        }
        MethodModel count = cm.methods().stream()
                .filter(m -> m.methodName().equalsString("count") && m.methodType().equalsString("([I[BII)V"))
                .findFirst().orElseThrow();
        int codeLength = count.findAttribute(java.lang.classfile.Attributes.code()).map(CodeAttribute::codeLength).orElseThrow();
        assertTrue(codeLength > 325, "count() is " + codeLength + " bytes of bytecode; C2 inlines hot methods up to 325");
    }
}
