package org.xenids.pcap;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.tukaani.xz.ArrayCache;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.check.Check;
import org.tukaani.xz.lz.LZDecoder;
import org.tukaani.xz.lzma.LZMADecoder;
import org.tukaani.xz.rangecoder.RangeDecoderFromBuffer;

/**
 * The .xz container (one or more streams of blocks, each block LZMA2 data, optionally behind
 * the delta filter) read so that a fault loses nothing decoded before it. Every byte that the
 * compressed bytes present determine is handed out, as xz-utils' own decoder ({@code xzcat})
 * hands them out, including the start of an LZMA2 chunk that the file cuts short; then the
 * fault, as a {@link CaptureFormatException} at the decompressed offset where the data ends
 * (the count of bytes handed out), saying whether the file was cut or is corrupt and where in
 * the compressed file.
 * <p>
 * The LZMA coding is xz-java's ({@code LZDecoder}, {@code LZMADecoder}, the range decoder); the
 * LZMA2 chunking and the container are parsed here, because xz-java's streams discard what
 * they decoded in the call that meets a fault, and decode nothing of a chunk whose compressed
 * bytes are not all present (up to 2 MiB of output per chunk). Those classes are public but in
 * packages xz-java's module descriptor does not export: usable on the class path, where xenids
 * runs, and pinned by the xz version in the pom (a new version is to be checked against the
 * tests that compare cut files with {@code xzcat}). A cut chunk is given to the range decoder
 * as it is: at its first read past the bytes present it fails, and everything decoded before
 * that read is in the dictionary, which is what is handed out.
 * <p>
 * Filters: LZMA2, optionally after delta ({@code xz}'s default, and its {@code --delta}); the
 * executable (BCJ) filters are refused, on one line, before any data.
 * <p>
 * Bounded: memory is the block's dictionary (refused over the limit before it is reserved)
 * and two 64 KiB buffers; every compressed byte is read once; a chunk's output is bounded by its
 * header (2 MiB), a block's by its declared size when it has one. Integrity is checked as
 * xz does it: header CRC32s, each block's check (CRC32, CRC64 or SHA-256) over its data, the
 * index against the blocks read, and the stream footer against the header.
 */
final class XzDecoder {
    private static final byte[] MAGIC = {(byte) 0xFD, '7', 'z', 'X', 'Z', 0};
    private static final int FILTER_DELTA = 0x03;
    private static final int FILTER_LZMA2 = 0x21;
    /** Largest compressed size of an LZMA2 chunk. */
    private static final int CHUNK_MAX = 1 << 16;

    private final String name;
    private final InputStream in;
    private final long memoryLimit;

    /** Compressed bytes read; decompressed bytes handed out. */
    private long cpos;
    private long out;

    private int streams;
    private boolean inStream;
    private int streamFlags;
    private long indexSize;
    private int checkType;
    private long blocks;
    private MessageDigest blockRecords;
    /** Where the parser is, for messages ("block 2's data", "the index"). */
    private String part = "the stream header";
    private boolean inBlock;
    private boolean ended;

    // The current block.
    private int headerSize;
    private long declaredCompressed;
    private long declaredUncompressed;
    private long blockCompressed;
    private long blockOut;
    private Check check;
    private int deltaDistance;
    private final byte[] deltaHistory = new byte[256];
    private int deltaPos;

    // LZMA2.
    private LZDecoder lz;
    private int lzSize;
    private final RangeDecoderFromBuffer rc = new RangeDecoderFromBuffer(CHUNK_MAX, ArrayCache.getDummyCache());
    private LZMADecoder lzma;
    private int lzmaProps = -1;
    private boolean needDictReset;
    private boolean needProps;
    private int chunkLeft;
    private boolean lzmaChunk;
    /** The chunk's compressed bytes were not all in the file. */
    private boolean chunkCut;
    private long chunkAt;

    /** Compressed bytes of a chunk, read into {@link #staged} for xz-java's decoders. */
    private final byte[] cbuf = new byte[CHUNK_MAX];
    private final Staged staged = new Staged();
    private final DataInputStream stagedData = new DataInputStream(staged);
    private final byte[] hbuf = new byte[1024];

    /** A chunk that broke: the decoded matches it still owes are handed out, then this. */
    private Fault deferred;
    private CaptureFormatException failure;

    XzDecoder(String name, InputStream in, long memoryLimitBytes) {
        this.name = name;
        this.in = in;
        this.memoryLimit = memoryLimitBytes;
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
                if (chunkLeft == 0 && deferred == null) {
                    if (!nextChunk()) {
                        break;
                    }
                    continue;
                }
                n += step(b, off + n, len - n);
            }
        } catch (Fault e) {
            failure = new CaptureFormatException(name, out, e.getMessage(), e);
            if (n == 0) {
                throw failure;
            }
        }
        return n == 0 && len > 0 ? -1 : n;
    }

    void close() throws IOException { in.close(); }

    // ---- decoding ---------------------------------------------------------------------------

    /** Decodes from the current chunk (which has data left, or broke). */
    private int step(byte[] b, int off, int len) throws IOException {
        int want = Math.min(len, chunkLeft);
        if (declaredUncompressed >= 0 && want > 0) {
            long room = declaredUncompressed - blockOut;
            if (room == 0) {
                throw corrupt("block " + blocks + " holds more than the " + declaredUncompressed
                        + " bytes its header declares");
            }
            want = (int) Math.min(want, room);
        }
        if (deferred != null) {
            if (want == 0 || !lz.hasPending()) {
                throw deferred;
            }
            lz.setLimit(want);
            try {
                lz.repeatPending();
            } catch (IOException e) {
                throw deferred;
            }
            return emit(b, off);
        }
        if (!lzmaChunk) {
            // Stored bytes: through the dictionary, which later chunks may refer to.
            want = Math.min(Math.min(want, lzSize - lz.getPos()), CHUNK_MAX);
            int got = readUpTo(cbuf, 0, want);
            blockCompressed += got;
            checkCompressedSize();
            staged.set(got);
            try {
                lz.copyUncompressed(stagedData, got);
            } catch (IOException e) {
                throw new IllegalStateException(e); // reads an array already holding the bytes
            }
            int done = emit(b, off);
            if (got < want) {
                deferred = truncated();
            }
            return done;
        }
        lz.setLimit(want);
        try {
            lzma.decode();
        } catch (IOException e) {
            // The range decoder ran out of a cut chunk's bytes, or the data are invalid. What
            // was decoded before is in the dictionary either way, and is handed out first.
            deferred = chunkCut ? truncated() : corrupt("LZMA2 data of the chunk at byte " + chunkAt + " do not decode");
        }
        int done = emit(b, off);
        if (chunkLeft == 0 && deferred == null) {
            if (chunkCut) {
                deferred = truncated();
            } else if (!rc.isFinished() || lz.hasPending()) {
                deferred = corrupt("the LZMA2 chunk at byte " + chunkAt + " does not end where its header says");
            }
        }
        return done;
    }

    /** Hands out what the dictionary holds past the last call, through the filters and check. */
    private int emit(byte[] b, int off) {
        int n = lz.flush(b, off);
        if (deltaDistance > 0) {
            byte[] h = deltaHistory;
            int p = deltaPos;
            int d = deltaDistance;
            for (int i = off, end = off + n; i < end; i++) {
                b[i] += h[(p + d) & 0xFF];
                h[p-- & 0xFF] = b[i];
            }
            deltaPos = p;
        }
        check.update(b, off, n);
        chunkLeft -= n;
        blockOut += n;
        out += n;
        return n;
    }

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
                part = where("block " + (blocks + 1) + "'s header");
                long at = cpos;
                int size = u8();
                if (size == 0) {
                    index(at);
                    streamFooter();
                    inStream = false;
                    continue;
                }
                blockHeader(at, (size + 1) * 4);
                continue;
            }
            if (chunkHeader()) {
                return true;
            }
            blockEnd();
        }
    }

    private boolean chunkHeader() throws IOException {
        chunkAt = cpos;
        chunkCut = false;
        int control = u8();
        blockCompressed++;
        if (control == 0x00) {
            return false;
        }
        if (control >= 0xE0 || control == 0x01) {
            needProps = true;
            needDictReset = false;
            lz.reset();
        } else if (needDictReset) {
            throw corrupt("block " + blocks + " does not start with a dictionary reset");
        }
        if (control < 0x80) {
            if (control > 0x02) {
                throw corrupt(String.format("invalid LZMA2 control byte 0x%02X at byte %d", control, chunkAt));
            }
            lzmaChunk = false;
            chunkLeft = u16() + 1;
            blockCompressed += 2;
            checkCompressedSize();
            return true;
        }
        lzmaChunk = true;
        chunkLeft = ((control & 0x1F) << 16) + u16() + 1;
        int compressed = u16() + 1;
        blockCompressed += 4;
        if (control >= 0xC0) {
            needProps = false;
            props(u8());
            blockCompressed++;
        } else if (needProps) {
            throw corrupt("the LZMA2 chunk at byte " + chunkAt + " lacks the properties it needs");
        } else if (control >= 0xA0) {
            lzma.reset();
        }
        if (compressed < 5) {
            throw corrupt("the LZMA2 chunk at byte " + chunkAt + " has " + compressed + " compressed bytes, less than 5");
        }
        int got = readUpTo(cbuf, 0, compressed);
        blockCompressed += got;
        checkCompressedSize();
        if (got < 5) {
            throw truncated(); // not even the range coder's first bytes
        }
        if (cbuf[0] != 0) {
            throw corrupt("the LZMA2 chunk at byte " + chunkAt + " does not start with a zero byte");
        }
        chunkCut = got < compressed;
        staged.set(got);
        try {
            rc.prepareInputBuffer(stagedData, got);
        } catch (IOException e) {
            throw new IllegalStateException(e); // checked above: at least 5 bytes, the first 0
        }
        return true;
    }

    private void props(int props) throws Fault {
        if (props > (4 * 5 + 4) * 9 + 8) {
            throw corrupt("invalid LZMA properties byte " + props + " at byte " + (cpos - 1));
        }
        int pb = props / (9 * 5);
        int rest = props - pb * 9 * 5;
        int lp = rest / 9;
        int lc = rest - lp * 9;
        if (lc + lp > 4) {
            throw corrupt("LZMA2 properties lc=" + lc + " lp=" + lp + " exceed lc+lp=4");
        }
        if (lzma != null && props == lzmaProps) {
            lzma.reset(); // the same as a new decoder: the state and probabilities start over
        } else {
            lzma = new LZMADecoder(lz, rc, lc, lp, pb);
            lzmaProps = props;
        }
    }

    private void checkCompressedSize() throws Fault {
        if (declaredCompressed >= 0 && blockCompressed > declaredCompressed) {
            throw corrupt("block " + blocks + " holds more than the " + declaredCompressed
                    + " compressed bytes its header declares");
        }
    }

    // ---- the container ---------------------------------------------------------------------

    /** Reads a stream header (after stream padding when not the first); false at a clean end. */
    private boolean streamHeader() throws IOException {
        byte[] h = hbuf;
        part = streams == 0 ? "the stream header" : "stream padding";
        if (streams > 0) {
            // Padding (groups of four zero bytes) may follow a stream; then the end or a stream.
            while (true) {
                int got = readUpTo(h, 0, 4);
                if (got == 0) {
                    return false;
                }
                if (!isZero(h, got)) {
                    if (got < 4 && Arrays.equals(h, 0, got, MAGIC, 0, got)) {
                        throw truncated();
                    }
                    break;
                }
                if (got < 4) {
                    throw corrupt("stream padding of a size not a multiple of four bytes");
                }
            }
            part = "stream " + (streams + 1) + "'s header";
            if (!Arrays.equals(h, 0, 4, MAGIC, 0, 4)) {
                throw corrupt("data after the end of stream " + streams + " is not another xz stream");
            }
            readFully(h, 4, 8);
        } else {
            readFully(h, 0, 12);
        }
        if (!Arrays.equals(h, 0, 6, MAGIC, 0, 6)) {
            throw corrupt("no xz stream header magic");
        }
        if (crc32(h, 6, 2) != le32(h, 8)) {
            throw corrupt("stream header CRC32 mismatch");
        }
        if (h[6] != 0 || (h[7] & 0xF0) != 0) {
            throw unsupported(String.format("stream flags 0x%02X%02X", h[6] & 0xFF, h[7] & 0xFF));
        }
        checkType = h[7] & 0x0F;
        streamFlags = checkType;
        try {
            Check.getInstance(checkType);
        } catch (UnsupportedOptionsException e) {
            throw unsupported("integrity check type " + checkType);
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
        readFully(h, 1, size - 1);
        if (crc32(h, 0, size - 4) != le32(h, size - 4)) {
            throw corrupt("block header CRC32 mismatch (block at byte " + at + ")");
        }
        int flags = h[1] & 0xFF;
        if ((flags & 0x3C) != 0) {
            throw unsupported(String.format("block flags 0x%02X", flags));
        }
        int[] p = {2};
        int end = size - 4;
        declaredCompressed = (flags & 0x40) != 0 ? vli(h, p, end) : -1;
        declaredUncompressed = (flags & 0x80) != 0 ? vli(h, p, end) : -1;
        if (declaredCompressed == 0) {
            throw corrupt("block header declares 0 compressed bytes");
        }
        int filters = (flags & 3) + 1;
        int delta = 0;
        int dictByte = -1;
        for (int i = 0; i < filters; i++) {
            long id = vli(h, p, end);
            long propsSize = vli(h, p, end);
            if (propsSize > end - p[0]) {
                throw corrupt("filter properties run past the block header");
            }
            int q = p[0];
            p[0] += (int) propsSize;
            boolean last = i == filters - 1;
            if (id == FILTER_LZMA2 && last) {
                if (propsSize != 1 || (h[q] & 0xFF) > 40) {
                    throw unsupported("LZMA2 properties");
                }
                dictByte = h[q] & 0xFF;
            } else if (id == FILTER_DELTA && !last && delta == 0) {
                if (propsSize != 1) {
                    throw unsupported("delta filter properties");
                }
                delta = (h[q] & 0xFF) + 1;
            } else {
                throw unsupported("filter chain: filter 0x" + Long.toHexString(id) + " at position " + (i + 1)
                        + " of " + filters + " (LZMA2, optionally after delta, is read)");
            }
        }
        for (int i = p[0]; i < end; i++) {
            if (h[i] != 0) {
                throw unsupported("non-zero block header padding");
            }
        }
        long dict = dictByte == 40 ? 0xFFFF_FFFFL : (2L | (dictByte & 1)) << (dictByte / 2 + 11);
        long needed = (dict + 15) & ~15L;
        if (needed + 2L * CHUNK_MAX > memoryLimit) {
            throw new Fault("xz: block " + (blocks + 1) + " needs a " + ((dict + (1 << 20) - 1) >> 20)
                    + " MiB dictionary, over the " + (memoryLimit >> 20) + " MiB memory limit");
        }
        if (lz == null || lzSize != needed) {
            lz = null; // let the old dictionary go before the new one is reserved
            lzma = null;
            lz = new LZDecoder((int) needed, null, ArrayCache.getDummyCache());
            lzSize = (int) needed;
        }
        blocks++;
        headerSize = size;
        blockCompressed = 0;
        blockOut = 0;
        try {
            check = Check.getInstance(checkType);
        } catch (UnsupportedOptionsException e) {
            throw new IllegalStateException(e); // checked with the stream header
        }
        deltaDistance = delta;
        deltaPos = 0;
        Arrays.fill(deltaHistory, (byte) 0);
        needDictReset = true;
        needProps = true;
        inBlock = true;
        part = where("block " + blocks + "'s data");
    }

    private void blockEnd() throws IOException {
        if (declaredCompressed >= 0 && blockCompressed != declaredCompressed) {
            throw corrupt("block " + blocks + " has " + blockCompressed + " compressed bytes, its header declares "
                    + declaredCompressed);
        }
        if (declaredUncompressed >= 0 && blockOut != declaredUncompressed) {
            throw corrupt("block " + blocks + " holds " + blockOut + " bytes, its header declares " + declaredUncompressed);
        }
        part = where("block " + blocks + "'s padding");
        for (long i = blockCompressed; (i & 3) != 0; i++) {
            if (u8() != 0) {
                throw corrupt("non-zero block padding");
            }
        }
        part = where("block " + blocks + "'s check");
        int size = check.getSize();
        byte[] expected = check.finish();
        readFully(hbuf, 0, size);
        if (!Arrays.equals(hbuf, 0, size, expected, 0, size)) {
            throw corrupt(check.getName() + " mismatch: block " + blocks + " does not hold the data it was made from");
        }
        record(blockRecords, headerSize + blockCompressed + size, blockOut);
        inBlock = false;
    }

    private void index(long at) throws IOException {
        part = where("the index");
        CRC32 crc = new CRC32();
        crc.update(0);
        long[] size = {1};
        long count = indexVli(crc, size);
        if (count != blocks) {
            throw corrupt("the index lists " + count + " blocks, the stream holds " + blocks);
        }
        MessageDigest listed = sha256();
        for (long i = 0; i < count; i++) {
            long unpadded = indexVli(crc, size);
            long uncompressed = indexVli(crc, size);
            record(listed, unpadded, uncompressed);
        }
        if (!MessageDigest.isEqual(listed.digest(), blockRecords.digest())) {
            throw corrupt("the index does not match the blocks (index at byte " + at + ")");
        }
        while ((size[0] & 3) != 0) {
            int c = u8();
            crc.update(c);
            size[0]++;
            if (c != 0) {
                throw corrupt("non-zero index padding");
            }
        }
        readFully(hbuf, 0, 4);
        if (le32(hbuf, 0) != crc.getValue()) {
            throw corrupt("index CRC32 mismatch");
        }
        indexSize = size[0] + 4;
    }

    private void streamFooter() throws IOException {
        part = where("the stream footer");
        byte[] h = hbuf;
        readFully(h, 0, 12);
        if (h[10] != 'Y' || h[11] != 'Z') {
            throw corrupt("no stream footer magic");
        }
        if (crc32(h, 4, 6) != le32(h, 0)) {
            throw corrupt("stream footer CRC32 mismatch");
        }
        if ((le32(h, 4) + 1) * 4 != indexSize) {
            throw corrupt("the stream footer's index size differs from the index");
        }
        if (h[8] != 0 || (h[9] & 0xFF) != streamFlags) {
            throw corrupt("the stream footer's flags differ from the stream header's");
        }
    }

    private long indexVli(CRC32 crc, long[] size) throws IOException {
        long v = 0;
        for (int i = 0; i < 9; i++) {
            int c = u8();
            crc.update(c);
            size[0]++;
            v |= (long) (c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0) {
                if (c == 0 && i > 0) {
                    throw corrupt("an index number is not in its shortest form");
                }
                return v;
            }
        }
        throw corrupt("an index number is longer than 9 bytes");
    }

    private long vli(byte[] h, int[] p, int end) throws Fault {
        long v = 0;
        for (int i = 0; i < 9; i++) {
            if (p[0] >= end) {
                throw corrupt("a block header number runs past the header");
            }
            int c = h[p[0]++] & 0xFF;
            v |= (long) (c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0) {
                if (c == 0 && i > 0) {
                    throw corrupt("a block header number is not in its shortest form");
                }
                return v;
            }
        }
        throw corrupt("a block header number is longer than 9 bytes");
    }

    private static void record(MessageDigest md, long unpadded, long uncompressed) {
        for (int i = 0; i < 8; i++) {
            md.update((byte) (unpadded >>> (8 * i)));
        }
        for (int i = 0; i < 8; i++) {
            md.update((byte) (uncompressed >>> (8 * i)));
        }
    }

    // ---- compressed input ------------------------------------------------------------------

    private int u8() throws IOException {
        int c = in.read();
        if (c < 0) {
            throw truncated();
        }
        cpos++;
        return c;
    }

    private int u16() throws IOException {
        return u8() << 8 | u8();
    }

    /** Reads {@code n} bytes, fewer only where the file ends. */
    private int readUpTo(byte[] b, int off, int n) throws IOException {
        int got = 0;
        while (got < n) {
            int r = in.read(b, off + got, n - got);
            if (r < 0) {
                break;
            }
            got += r;
        }
        cpos += got;
        return got;
    }

    private void readFully(byte[] b, int off, int n) throws IOException {
        if (readUpTo(b, off, n) < n) {
            throw truncated();
        }
    }

    // ---- faults ----------------------------------------------------------------------------

    /** A fault of the xz data, turned into a {@link CaptureFormatException} at the decompressed offset reached. */
    private static final class Fault extends IOException {
        private static final long serialVersionUID = 1L;

        Fault(String message) { super(message); }
    }

    private Fault truncated() {
        return new Fault("xz stream is truncated: the compressed file ends at byte " + cpos + ", in " + part
                + "; the decompressed data end here");
    }

    private Fault corrupt(String what) {
        return new Fault("xz data are corrupt: " + what + " (in " + part + ")");
    }

    private Fault unsupported(String what) {
        return new Fault("xz: unsupported " + what + " (in " + part + ")");
    }

    private String where(String what) {
        return streams > 1 ? "stream " + streams + ", " + what : what;
    }

    // ---- helpers ---------------------------------------------------------------------------

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

    /** {@link #cbuf}'s first bytes as a stream, for xz-java's readers. */
    private final class Staged extends InputStream {
        private int pos;
        private int limit;

        void set(int n) {
            pos = 0;
            limit = n;
        }

        @Override
        public int read() {
            return pos < limit ? cbuf[pos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= limit) {
                return -1;
            }
            int k = Math.min(len, limit - pos);
            System.arraycopy(cbuf, pos, b, off, k);
            pos += k;
            return k;
        }
    }
}
