package org.xenids.pcap;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.tukaani.xz.ArrayCache;
import org.tukaani.xz.lz.LZDecoder;
import org.tukaani.xz.lzma.LZMADecoder;
import org.tukaani.xz.rangecoder.RangeDecoderFromBuffer;
import org.xenids.pcap.XzInput.Fault;

/**
 * The data of the blocks of an .xz file: LZMA2 chunks, optionally behind the delta filter,
 * decoded so that every byte the compressed bytes present determine is handed out, including
 * the start of a chunk that the file cuts short, before the fault. The container around the
 * blocks ({@link XzDecoder}) starts each block with what its header declares, reads the check
 * over the bytes handed out, and ends the block when {@link #nextChunk} meets its end marker.
 * <p>
 * The LZMA coding is xz-java's ({@code LZDecoder}, {@code LZMADecoder}, the range decoder); the
 * LZMA2 chunking is parsed here, because xz-java's streams discard what they decoded in the call
 * that meets a fault, and decode nothing of a chunk whose compressed bytes are not all present
 * (up to 2 MiB of output per chunk). Those classes are public but in packages xz-java's module
 * descriptor does not export: usable on the class path, where xenids runs, and pinned by the xz
 * version in the pom (a new version is to be checked against the tests that compare cut files
 * with {@code xzcat}). A cut chunk is given to the range decoder as it is: at its first read
 * past the bytes present it fails, and everything decoded before that read is in the
 * dictionary, which is what is handed out.
 * <p>
 * Bounded: memory is the block's dictionary (refused over the limit before it is reserved)
 * and two 64 KiB buffers; every compressed byte is read once; a chunk's output is bounded by its
 * header (2 MiB), a block's by its declared size when it has one.
 */
final class Lzma2Decoder {
    /** Largest compressed size of an LZMA2 chunk. */
    private static final int CHUNK_MAX = 1 << 16;

    /**
     * What a block's header says of its data: its number in the stream (for messages), its
     * declared compressed and uncompressed sizes (-1 when not declared), the LZMA2 dictionary
     * size and the delta filter's distance (0 without the filter).
     */
    record Block(long number, long declaredCompressed, long declaredUncompressed, long dictionary, int delta) {}

    /** A dictionary the heap has no room for: a failure of this run, not of the file. */
    static final class NoHeap extends IOException {
        private static final long serialVersionUID = 1L;

        NoHeap(String message) { super(message); }
    }

    private final XzInput in;
    private final long memoryLimit;

    // The current block.
    private Block block;
    /** The block's compressed bytes read; its decompressed bytes handed out. */
    private long blockCompressed;
    private long blockOut;
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

    /** A chunk that broke: the decoded matches it still owes are handed out, then this. */
    private Fault deferred;

    Lzma2Decoder(XzInput in, long memoryLimitBytes) {
        this.in = in;
        this.memoryLimit = memoryLimitBytes;
    }

    /**
     * Starts a block, after its header: reserves its dictionary (refused over the memory limit
     * before it is reserved) and starts the filters over. A dictionary at least as large as the
     * block needs is kept: each block starts with a dictionary reset, so the bytes of earlier
     * blocks are never referred to, and a file cannot make the reader reserve and clear up to
     * 100 MiB for every 16-byte empty block by alternating two sizes. (A crafted block that
     * refers past its own declared size then decodes from its own bytes, where xz would refuse.)
     */
    void startBlock(Block b) throws Fault, NoHeap {
        long needed = (b.dictionary() + 15) & ~15L;
        if (needed + 2L * CHUNK_MAX > memoryLimit) {
            throw new Fault("xz: block " + b.number() + " needs a " + ((b.dictionary() + (1 << 20) - 1) >> 20)
                    + " MiB dictionary, over the " + (memoryLimit >> 20) + " MiB memory limit");
        }
        if (lz == null || lzSize < needed) {
            lz = null; // let the old dictionary go before the new one is reserved
            lzma = null;
            lzSize = 0;
            try {
                lz = new LZDecoder((int) needed, null, ArrayCache.getDummyCache());
            } catch (OutOfMemoryError e) {
                // Under the limit, but not in this heap beside what else is open (several xz
                // captures merged in one run each hold their own). Said here, where the cause is
                // known, and not as damage to the file: the same file reads with more heap.
                throw new NoHeap("xz: block " + b.number() + "'s " + ((needed + (1 << 20) - 1) >> 20)
                        + " MiB dictionary does not fit in the " + (Runtime.getRuntime().maxMemory() >> 20)
                        + " MiB heap (xz captures read together each hold their own); raise the heap with"
                        + " XENIDS_JAVA_OPTS=-Xmx…, or give fewer xz captures at once");
            }
            lzSize = (int) needed;
        }
        block = b;
        blockCompressed = 0;
        blockOut = 0;
        deltaPos = 0;
        Arrays.fill(deltaHistory, (byte) 0);
        needDictReset = true;
        needProps = true;
    }

    /** The block's compressed bytes read so far, its end marker included once met (its padding follows). */
    long blockCompressed() { return blockCompressed; }

    /** The block's decompressed bytes handed out so far. */
    long blockOut() { return blockOut; }

    /** True when the current chunk has nothing left to hand out and owes no fault: the next chunk header is due. */
    boolean chunkDone() {
        return chunkLeft == 0 && deferred == null;
    }

    /**
     * Decodes from the current chunk (which has data left, or broke) into {@code b}, through
     * the delta filter; a fault met after some bytes were decoded is kept for the next call.
     */
    int read(byte[] b, int off, int len) throws IOException {
        int want = Math.min(len, chunkLeft);
        long declaredUncompressed = block.declaredUncompressed();
        if (declaredUncompressed >= 0 && want > 0) {
            long room = declaredUncompressed - blockOut;
            if (room == 0) {
                throw in.corrupt("block " + block.number() + " holds more than the " + declaredUncompressed
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
            int got = in.readUpTo(cbuf, 0, want);
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
                deferred = in.truncated();
            }
            return done;
        }
        lz.setLimit(want);
        try {
            lzma.decode();
        } catch (IOException e) {
            // The range decoder ran out of a cut chunk's bytes, or the data are invalid. What
            // was decoded before is in the dictionary either way, and is handed out first.
            deferred = chunkCut ? in.truncated() : in.corrupt("LZMA2 data of the chunk at byte " + chunkAt + " do not decode");
        }
        int done = emit(b, off);
        if (chunkLeft == 0 && deferred == null) {
            if (chunkCut) {
                deferred = in.truncated();
            } else if (!rc.isFinished() || lz.hasPending()) {
                deferred = in.corrupt("the LZMA2 chunk at byte " + chunkAt + " does not end where its header says");
            }
        }
        return done;
    }

    /** Hands out what the dictionary holds past the last call, through the delta filter. */
    private int emit(byte[] b, int off) {
        int n = lz.flush(b, off);
        int d = block.delta();
        if (d > 0) {
            byte[] h = deltaHistory;
            int p = deltaPos;
            for (int i = off, end = off + n; i < end; i++) {
                b[i] += h[(p + d) & 0xFF];
                h[p-- & 0xFF] = b[i];
            }
            deltaPos = p;
        }
        chunkLeft -= n;
        blockOut += n;
        return n;
    }

    /**
     * Reads the next chunk's header, and an LZMA chunk's compressed bytes (as many as the file
     * holds); false at the block's end marker, once the block's sizes are checked against those
     * its header declares.
     */
    boolean nextChunk() throws IOException {
        chunkAt = in.position();
        chunkCut = false;
        int control = in.u8();
        blockCompressed++;
        if (control == 0x00) {
            endBlock();
            return false;
        }
        if (control >= 0xE0 || control == 0x01) {
            needProps = true;
            needDictReset = false;
            lz.reset();
        } else if (needDictReset) {
            throw in.corrupt("block " + block.number() + " does not start with a dictionary reset");
        }
        if (control < 0x80) {
            if (control > 0x02) {
                throw in.corrupt(String.format("invalid LZMA2 control byte 0x%02X at byte %d", control, chunkAt));
            }
            lzmaChunk = false;
            chunkLeft = in.u16() + 1;
            blockCompressed += 2;
            checkCompressedSize();
            return true;
        }
        lzmaChunk = true;
        chunkLeft = ((control & 0x1F) << 16) + in.u16() + 1;
        int compressed = in.u16() + 1;
        blockCompressed += 4;
        if (control >= 0xC0) {
            needProps = false;
            props(in.u8());
            blockCompressed++;
        } else if (needProps) {
            throw in.corrupt("the LZMA2 chunk at byte " + chunkAt + " lacks the properties it needs");
        } else if (control >= 0xA0) {
            lzma.reset();
        }
        if (compressed < 5) {
            throw in.corrupt("the LZMA2 chunk at byte " + chunkAt + " has " + compressed + " compressed bytes, less than 5");
        }
        int got = in.readUpTo(cbuf, 0, compressed);
        blockCompressed += got;
        checkCompressedSize();
        if (got < 5) {
            throw in.truncated(); // not even the range coder's first bytes
        }
        if (cbuf[0] != 0) {
            throw in.corrupt("the LZMA2 chunk at byte " + chunkAt + " does not start with a zero byte");
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

    /** At the block's end marker: the block must have the sizes its header declares. */
    private void endBlock() throws Fault {
        long declaredCompressed = block.declaredCompressed();
        long declaredUncompressed = block.declaredUncompressed();
        if (declaredCompressed >= 0 && blockCompressed != declaredCompressed) {
            throw in.corrupt("block " + block.number() + " has " + blockCompressed
                    + " compressed bytes, its header declares " + declaredCompressed);
        }
        if (declaredUncompressed >= 0 && blockOut != declaredUncompressed) {
            throw in.corrupt("block " + block.number() + " holds " + blockOut + " bytes, its header declares "
                    + declaredUncompressed);
        }
    }

    private void props(int props) throws Fault {
        if (props > (4 * 5 + 4) * 9 + 8) {
            throw in.corrupt("invalid LZMA properties byte " + props + " at byte " + (in.position() - 1));
        }
        int pb = props / (9 * 5);
        int rest = props - pb * 9 * 5;
        int lp = rest / 9;
        int lc = rest - lp * 9;
        if (lc + lp > 4) {
            throw in.corrupt("LZMA2 properties lc=" + lc + " lp=" + lp + " exceed lc+lp=4");
        }
        if (lzma != null && props == lzmaProps) {
            lzma.reset(); // the same as a new decoder: the state and probabilities start over
        } else {
            lzma = new LZMADecoder(lz, rc, lc, lp, pb);
            lzmaProps = props;
        }
    }

    private void checkCompressedSize() throws Fault {
        long declaredCompressed = block.declaredCompressed();
        if (declaredCompressed >= 0 && blockCompressed > declaredCompressed) {
            throw in.corrupt("block " + block.number() + " holds more than the " + declaredCompressed
                    + " compressed bytes its header declares");
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
