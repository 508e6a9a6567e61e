package org.xenids.pcap;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.check.Check;
import org.xenids.pcap.XzInput.Fault;

/**
 * The .xz container (one or more streams of blocks, each block LZMA2 data, optionally behind
 * the delta filter) read so that a fault loses nothing decoded before it. Every byte that the
 * compressed bytes present determine is handed out, as xz-utils' own decoder ({@code xzcat})
 * hands them out, including the start of an LZMA2 chunk that the file cuts short; then the
 * fault, as a {@link CaptureFormatException} at the decompressed offset where the data end
 * (the count of bytes handed out), saying whether the file was cut or is corrupt and where in
 * the compressed file.
 * <p>
 * The container is parsed here; the blocks' data, started by each block header with a
 * {@link Lzma2Decoder.Block} of plain values, by {@link Lzma2Decoder}; the compressed bytes are
 * read, and the faults worded with the part of the file they are in, by {@link XzInput}.
 * <p>
 * Filters: LZMA2, optionally after delta ({@code xz}'s default, and its {@code --delta}); the
 * executable (BCJ) filters are refused, on one line, before any data.
 * <p>
 * Integrity is checked as xz does it: header CRC32s, each block's check (CRC32, CRC64 or
 * SHA-256) over its data, the index against the blocks read, and the stream footer against the
 * header. Memory and output are bounded as {@link Lzma2Decoder} says.
 */
final class XzDecoder {
    private static final byte[] MAGIC = {(byte) 0xFD, '7', 'z', 'X', 'Z', 0};
    private static final int FILTER_DELTA = 0x03;
    private static final int FILTER_LZMA2 = 0x21;

    private final String name;
    private final XzInput in;
    private final Lzma2Decoder data;

    /** Decompressed bytes handed out; the fault met, thrown again by every later call. */
    private long out;
    private CaptureFormatException failure;

    private int streams;
    private boolean inStream;
    private int streamFlags;
    private long indexSize;
    private int checkType;
    private long blocks;
    private MessageDigest blockRecords;
    private boolean inBlock;
    private boolean ended;

    // The current block.
    private int headerSize;
    private Check check;

    private final byte[] hbuf = new byte[1024];

    XzDecoder(String name, InputStream in, long memoryLimitBytes) {
        this.name = name;
        this.in = new XzInput(in);
        this.data = new Lzma2Decoder(this.in, memoryLimitBytes);
    }

    /**
     * Decompresses up to {@code len} bytes; -1 at the clean end of the last stream. A fault
     * after some bytes of this call were decoded returns those bytes; the next call throws it
     * (and every later call the same exception).
     */
    int read(byte[] b, int off, int len) throws IOException {
        if (failure != null) {
            throw failure;
        }
        int n = 0;
        try {
            while (n < len) {
                if (data.chunkDone()) {
                    if (!nextChunk()) {
                        break;
                    }
                    continue;
                }
                int k = data.read(b, off + n, len - n);
                check.update(b, off + n, k);
                out += k;
                n += k;
            }
        } catch (Lzma2Decoder.NoHeap e) {
            throw new IOException(name + ": " + e.getMessage(), e);
        } catch (Fault e) {
            failure = new CaptureFormatException(name, out, e.getMessage(), e);
            if (n == 0) {
                throw failure;
            }
        }
        return n == 0 && len > 0 ? -1 : n;
    }

    void close() throws IOException { in.close(); }

    /**
     * Moves to the next chunk with data, reading what comes between (stream header, block
     * header, the end of a block, the index, the stream footer and padding); false at the clean
     * end of the last stream.
     */
    private boolean nextChunk() throws IOException {
        while (true) {
            if (ended) {
                return false;
            }
            if (!inStream) {
                if (!streamHeader()) {
                    ended = true;
                    return false;
                }
                continue;
            }
            if (!inBlock) {
                in.enter(where("block " + (blocks + 1) + "'s header"));
                long at = in.position();
                int size = in.u8();
                if (size == 0) {
                    index(at);
                    streamFooter();
                    inStream = false;
                    continue;
                }
                blockHeader(at, (size + 1) * 4);
                continue;
            }
            if (data.nextChunk()) {
                return true;
            }
            blockEnd();
        }
    }

    /** Reads a stream header (after stream padding when not the first); false at a clean end. */
    private boolean streamHeader() throws IOException {
        byte[] h = hbuf;
        in.enter(streams == 0 ? "the stream header" : "stream padding");
        if (streams > 0) {
            // Padding (groups of four zero bytes) may follow a stream; then the end or a stream.
            while (true) {
                int got = in.readUpTo(h, 0, 4);
                if (got == 0) {
                    return false;
                }
                if (!isZero(h, got)) {
                    if (got < 4 && Arrays.equals(h, 0, got, MAGIC, 0, got)) {
                        throw in.truncated();
                    }
                    break;
                }
                if (got < 4) {
                    throw in.corrupt("stream padding of a size not a multiple of four bytes");
                }
            }
            in.enter("stream " + (streams + 1) + "'s header");
            if (!Arrays.equals(h, 0, 4, MAGIC, 0, 4)) {
                throw in.corrupt("data after the end of stream " + streams + " is not another xz stream");
            }
            in.readFully(h, 4, 8);
        } else {
            in.readFully(h, 0, 12);
        }
        if (!Arrays.equals(h, 0, 6, MAGIC, 0, 6)) {
            throw in.corrupt("no xz stream header magic");
        }
        if (crc32(h, 6, 2) != le32(h, 8)) {
            throw in.corrupt("stream header CRC32 mismatch");
        }
        if (h[6] != 0 || (h[7] & 0xF0) != 0) {
            throw in.unsupported(String.format("stream flags 0x%02X%02X", h[6] & 0xFF, h[7] & 0xFF));
        }
        checkType = h[7] & 0x0F;
        streamFlags = checkType;
        try {
            Check.getInstance(checkType);
        } catch (UnsupportedOptionsException e) {
            throw in.unsupported("integrity check type " + checkType);
        }
        streams++;
        inStream = true;
        blocks = 0;
        blockRecords = sha256();
        return true;
    }

    private void blockHeader(long at, int size) throws IOException {
        byte[] h = hbuf;
        h[0] = (byte) (size / 4 - 1);
        in.readFully(h, 1, size - 1);
        if (crc32(h, 0, size - 4) != le32(h, size - 4)) {
            throw in.corrupt("block header CRC32 mismatch (block at byte " + at + ")");
        }
        int flags = h[1] & 0xFF;
        if ((flags & 0x3C) != 0) {
            throw in.unsupported(String.format("block flags 0x%02X", flags));
        }
        int[] p = {2};
        int end = size - 4;
        long declaredCompressed = (flags & 0x40) != 0 ? vli(h, p, end) : -1;
        long declaredUncompressed = (flags & 0x80) != 0 ? vli(h, p, end) : -1;
        if (declaredCompressed == 0) {
            throw in.corrupt("block header declares 0 compressed bytes");
        }
        int filters = (flags & 3) + 1;
        int delta = 0;
        int dictByte = -1;
        for (int i = 0; i < filters; i++) {
            long id = vli(h, p, end);
            long propsSize = vli(h, p, end);
            if (propsSize > end - p[0]) {
                throw in.corrupt("filter properties run past the block header");
            }
            int q = p[0];
            p[0] += (int) propsSize;
            boolean last = i == filters - 1;
            if (id == FILTER_LZMA2 && last) {
                if (propsSize != 1 || (h[q] & 0xFF) > 40) {
                    throw in.unsupported("LZMA2 properties");
                }
                dictByte = h[q] & 0xFF;
            } else if (id == FILTER_DELTA && !last && delta == 0) {
                if (propsSize != 1) {
                    throw in.unsupported("delta filter properties");
                }
                delta = (h[q] & 0xFF) + 1;
            } else {
                throw in.unsupported("filter chain: filter 0x" + Long.toHexString(id) + " at position " + (i + 1)
                        + " of " + filters + " (LZMA2, optionally after delta, is read)");
            }
        }
        for (int i = p[0]; i < end; i++) {
            if (h[i] != 0) {
                throw in.unsupported("non-zero block header padding");
            }
        }
        long dict = dictByte == 40 ? 0xFFFF_FFFFL : (2L | (dictByte & 1)) << (dictByte / 2 + 11);
        data.startBlock(new Lzma2Decoder.Block(blocks + 1, declaredCompressed, declaredUncompressed, dict, delta));
        blocks++;
        headerSize = size;
        try {
            check = Check.getInstance(checkType);
        } catch (UnsupportedOptionsException e) {
            throw new IllegalStateException(e); // checked with the stream header
        }
        inBlock = true;
        in.enter(where("block " + blocks + "'s data"));
    }

    /** After the block's end marker (its sizes already checked against its header): its padding and check. */
    private void blockEnd() throws IOException {
        long blockCompressed = data.blockCompressed();
        in.enter(where("block " + blocks + "'s padding"));
        for (long i = blockCompressed; (i & 3) != 0; i++) {
            if (in.u8() != 0) {
                throw in.corrupt("non-zero block padding");
            }
        }
        in.enter(where("block " + blocks + "'s check"));
        int size = check.getSize();
        byte[] expected = check.finish();
        in.readFully(hbuf, 0, size);
        if (!Arrays.equals(hbuf, 0, size, expected, 0, size)) {
            throw in.corrupt(check.getName() + " mismatch: block " + blocks + " does not hold the data it was made from");
        }
        record(blockRecords, headerSize + blockCompressed + size, data.blockOut());
        inBlock = false;
    }

    private void index(long at) throws IOException {
        in.enter(where("the index"));
        CRC32 crc = new CRC32();
        crc.update(0);
        long[] size = {1};
        long count = indexVli(crc, size);
        if (count != blocks) {
            throw in.corrupt("the index lists " + count + " blocks, the stream holds " + blocks);
        }
        MessageDigest listed = sha256();
        for (long i = 0; i < count; i++) {
            long unpadded = indexVli(crc, size);
            long uncompressed = indexVli(crc, size);
            record(listed, unpadded, uncompressed);
        }
        if (!MessageDigest.isEqual(listed.digest(), blockRecords.digest())) {
            throw in.corrupt("the index does not match the blocks (index at byte " + at + ")");
        }
        while ((size[0] & 3) != 0) {
            int c = in.u8();
            crc.update(c);
            size[0]++;
            if (c != 0) {
                throw in.corrupt("non-zero index padding");
            }
        }
        in.readFully(hbuf, 0, 4);
        if (le32(hbuf, 0) != crc.getValue()) {
            throw in.corrupt("index CRC32 mismatch");
        }
        indexSize = size[0] + 4;
    }

    private void streamFooter() throws IOException {
        in.enter(where("the stream footer"));
        byte[] h = hbuf;
        in.readFully(h, 0, 12);
        if (h[10] != 'Y' || h[11] != 'Z') {
            throw in.corrupt("no stream footer magic");
        }
        if (crc32(h, 4, 6) != le32(h, 0)) {
            throw in.corrupt("stream footer CRC32 mismatch");
        }
        if ((le32(h, 4) + 1) * 4 != indexSize) {
            throw in.corrupt("the stream footer's index size differs from the index");
        }
        if (h[8] != 0 || (h[9] & 0xFF) != streamFlags) {
            throw in.corrupt("the stream footer's flags differ from the stream header's");
        }
    }

    private long indexVli(CRC32 crc, long[] size) throws IOException {
        long v = 0;
        for (int i = 0; i < 9; i++) {
            int c = in.u8();
            crc.update(c);
            size[0]++;
            v |= (long) (c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0) {
                if (c == 0 && i > 0) {
                    throw in.corrupt("an index number is not in its shortest form");
                }
                return v;
            }
        }
        throw in.corrupt("an index number is longer than 9 bytes");
    }

    private long vli(byte[] h, int[] p, int end) throws Fault {
        long v = 0;
        for (int i = 0; i < 9; i++) {
            if (p[0] >= end) {
                throw in.corrupt("a block header number runs past the header");
            }
            int c = h[p[0]++] & 0xFF;
            v |= (long) (c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0) {
                if (c == 0 && i > 0) {
                    throw in.corrupt("a block header number is not in its shortest form");
                }
                return v;
            }
        }
        throw in.corrupt("a block header number is longer than 9 bytes");
    }

    private static void record(MessageDigest md, long unpadded, long uncompressed) {
        for (int i = 0; i < 8; i++) {
            md.update((byte) (unpadded >>> (8 * i)));
        }
        for (int i = 0; i < 8; i++) {
            md.update((byte) (uncompressed >>> (8 * i)));
        }
    }

    /** A part of the file, named with its stream once there is more than one. */
    private String where(String what) {
        return streams > 1 ? "stream " + streams + ", " + what : what;
    }

    private static boolean isZero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static long crc32(byte[] b, int off, int len) {
        CRC32 c = new CRC32();
        c.update(b, off, len);
        return c.getValue();
    }

    private static long le32(byte[] b, int off) {
        return Source.u32(b, off, false);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
    }
}
