package org.xenids.detect.payl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.xenids.detect.Direction;
import org.xenids.detect.Subject;

/**
 * Bounded reads from a checksummed PAYL file body. The checksum already rules out accidents;
 * these checks keep a crafted file (valid checksum, absurd content) from reading out of bounds,
 * allocating without limit or producing NaN statistics. Every fault names the file and offset.
 */
final class FileReader {
    private final String name;
    private final ByteBuffer bb;

    FileReader(String name, ByteBuffer bb) {
        this.name = name;
        this.bb = bb;
    }

    int position() {
        return bb.position();
    }

    int remaining() {
        return bb.remaining();
    }

    IOException fail(int at, String what) {
        return new IOException("model file " + name + ": offset " + at + ": " + what);
    }

    private void need(int n) throws IOException {
        if (bb.remaining() < n) {
            throw fail(bb.position(), "record truncated (" + n + " bytes needed, " + bb.remaining() + " left)");
        }
    }

    int u8() throws IOException {
        need(1);
        return bb.get() & 0xFF;
    }

    int u16() throws IOException {
        need(2);
        return bb.getShort() & 0xFFFF;
    }

    int i32() throws IOException {
        need(4);
        return bb.getInt();
    }

    long i64() throws IOException {
        need(8);
        return bb.getLong();
    }

    double f64() throws IOException {
        need(8);
        return bb.getDouble();
    }

    int count(String what, int max) throws IOException {
        int at = bb.position();
        int n = i32();
        if (n < 0 || n > max) {
            throw fail(at, what + " " + n + " out of range 0.." + max);
        }
        return n;
    }

    String string() throws IOException {
        int n = u16();
        if (n == 0 || n > 255) {
            throw fail(bb.position() - 2, "name length " + n + " out of range 1..255");
        }
        need(n);
        byte[] b = new byte[n];
        bb.get(b);
        for (byte c : b) {
            // A name goes into one-line errors, listings and alerts: no line breaks or escapes.
            if ((c & 0xFF) < 0x20 || c == 0x7f) {
                throw fail(bb.position() - n, "name holds control character 0x" + Integer.toHexString(c & 0xFF));
            }
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    Direction direction() throws IOException {
        int at = bb.position();
        int d = u8();
        if (d >= Direction.values().length) {
            throw fail(at, "unknown direction " + d);
        }
        return Direction.values()[d];
    }

    Subject subject() throws IOException {
        int at = bb.position();
        String image = string();
        Direction d = direction();
        int proto = u8();
        int port = u16();
        try {
            return new Subject(image, d, proto, port);
        } catch (IllegalArgumentException e) {
            throw fail(at, e.getMessage());
        }
    }

    PaylSettings settings() throws IOException {
        int at = bb.position();
        try {
            return new PaylSettings(f64(), i32(), i32(), f64(), f64(), f64(), i64(), u16());
        } catch (IllegalArgumentException e) {
            throw fail(at, "bad settings: " + e.getMessage());
        }
    }

    Moments moments() throws IOException {
        int at = bb.position();
        Moments m = new Moments();
        m.n = i64();
        if (m.n < 1) {
            throw fail(at, "sample count " + m.n);
        }
        need(256 * 16);
        // A bad value is named at its own offset, so that the file can be looked at there.
        for (int i = 0; i < 256; i++) {
            double v = bb.getDouble();
            if (!(v >= 0 && v <= 1)) {
                throw fail(bb.position() - 8, "mean frequency of byte " + i + " is " + v + " (not in 0..1)");
            }
            m.mean[i] = v;
        }
        // Frequencies lie in 0..1, so n samples deviate by at most n in squares: a larger sum
        // would give a σ near infinity and a weight near 0, and with it a resolution (the floor of
        // the threshold) of 0.
        for (int i = 0; i < 256; i++) {
            double v = bb.getDouble();
            if (!(v >= -1e-9 && v <= m.n)) {
                throw fail(bb.position() - 8, "squared deviation of byte " + i + " is " + v);
            }
            m.m2[i] = v;
        }
        return m;
    }

    /** Walks the sparse held-out samples once so a crafted file cannot misdirect calibration. */
    void checkHeldOut(HeldOut h, int depth) throws IOException {
        int p = 0;
        int samples = 0;
        while (p < h.size) {
            if (h.size - p < 2) {
                throw fail(bb.position(), "held-out sample " + samples + " cut short");
            }
            int len = h.data[p];
            int k = h.data[p + 1];
            if (len < 1 || len > depth || k < 1 || k > 256 || h.size - p - 2 < k) {
                throw fail(bb.position(), "held-out sample " + samples + " malformed (length " + len + ", " + k + " byte values)");
            }
            long sum = 0;
            for (int j = 0; j < k; j++) {
                sum += h.data[p + 2 + j] & 0xFFFFFF;
            }
            if (sum != len) {
                throw fail(bb.position(), "held-out sample " + samples + " counts " + sum + " bytes, says " + len);
            }
            p += 2 + k;
            samples++;
        }
        if (samples != h.count) {
            throw fail(bb.position(), "held-out data has " + samples + " samples, header says " + h.count);
        }
    }

    void end() throws IOException {
        if (bb.hasRemaining()) {
            throw fail(bb.position(), bb.remaining() + " unexpected bytes after the last record");
        }
    }
}
