package org.xenids.pcap;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A streaming cursor over the records of a pcap or pcapng capture (optionally xz-compressed,
 * detected by its magic). Usage:
 * <pre>{@code
 * try (CaptureReader r = CaptureReader.open(path)) {
 *     while (r.next()) {
 *         handle(r.linkType(), r.timestampNanos(), r.array(), r.dataOffset(), r.capturedLength());
 *     }
 * }
 * }</pre>
 * The accessors describe the current record and stay valid until the next call of
 * {@link #next()}; {@link #array()} may be a different array after that call. Reading allocates
 * nothing per record, and memory is bounded whatever the file size: a record or block may be at most
 * {@link #MAX_CAPLEN} captured bytes ({@link #MAX_BLOCK} for a whole pcapng block that must be held).
 * <p>
 * Malformed input ends with a {@link CaptureFormatException} naming the source and offset; the
 * records before the fault are all delivered first, the counters cover exactly those, and every
 * later call of {@link #next()} throws the same exception. Not thread-safe.
 */
public abstract sealed class CaptureReader implements AutoCloseable permits PcapReader, PcapngReader {
    /** Largest captured length accepted for a record (Wireshark's and libpcap's standard maximum). */
    public static final int MAX_CAPLEN = 262_144;
    /** Largest pcapng block held in memory (a packet block with its options, an SHB or IDB). */
    public static final int MAX_BLOCK = MAX_CAPLEN + 65_536;
    /** Most interfaces a capture may describe (pcapng: over all sections). */
    public static final int MAX_INTERFACES = 65_536;
    static final int DEFAULT_BUFFER = 1 << 17;

    /** What kind of capture is being read. */
    public enum Format { PCAP, PCAP_NANOS, PCAPNG }

    /**
     * Counters of what has been read so far (see {@link #stats()}).
     *
     * @param compressed     the capture was xz-compressed (offsets count uncompressed bytes)
     * @param records        records returned by {@link #next()}
     * @param capturedBytes  sum of their captured lengths
     * @param originalBytes  sum of their original (on-the-wire) lengths
     * @param snappedRecords records captured shorter than they were on the wire
     * @param sections       pcapng section headers seen (1 for pcap)
     * @param interfaces     interfaces described
     * @param reportedDrops  losses the capture itself reports: pcapng interface statistics
     *                       ({@code isb_ifdrop}, latest per interface) and obsolete packet blocks'
     *                       drop counts
     * @param skippedBlocks  pcapng blocks not used (name resolution, secrets, custom, unknown…)
     * @param skippedByType  the same by block type ("NRB", "DSB", "custom", "0x12345678", at most
     *                       32 kinds, the rest as "other")
     */
    public record Stats(Format format, boolean compressed, long records, long capturedBytes,
            long originalBytes, long snappedRecords, int sections, int interfaces,
            long reportedDrops, long skippedBlocks, Map<String, Long> skippedByType) {}

    final Source src;
    final boolean compressed;

    // The current record.
    int linkType;
    long timestampNanos;
    int capturedLength;
    int originalLength;
    int interfaceId;
    long recordOffset;
    int dataOffset;

    // Counters.
    long records;
    long capturedBytes;
    long originalBytes;
    long snappedRecords;
    long reportedDrops;
    long skippedBlocks;
    /** Records and blocks looked at, including skipped ones: the work done, for the fuzz bound. */
    long steps;
    private final int[] skippedTypes = new int[32];
    private final long[] skippedCounts = new long[32];
    private int skippedDistinct;
    private long skippedOther;

    // Interfaces (pcap: exactly one).
    int interfaceCount;
    int[] ifLinkType = new int[4];
    String[] ifName = new String[4];
    String[] ifDescription = new String[4];

    private CaptureFormatException failure;
    private boolean done;

    CaptureReader(Source src, boolean compressed) {
        this.src = src;
        this.compressed = compressed;
    }

    // ---- factories ------------------------------------------------------------------------

    /** Opens a capture file (pcap or pcapng, plain or xz-compressed), named by its file name in errors. */
    public static CaptureReader open(Path file) throws IOException {
        Path fn = file.getFileName();
        String name = fn == null ? file.toString() : fn.toString();
        if (Files.isDirectory(file)) {
            // Opening a directory succeeds on Linux; its first read fails with no name in the error.
            throw new IOException(file + ": is a directory, not a capture file");
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return detect(new Source.ChannelSource(name, ch, DEFAULT_BUFFER, MAX_BLOCK));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Reads a capture from a stream, named {@code name} in errors. The stream is closed with the
     * reader, or at once when this fails.
     */
    public static CaptureReader open(InputStream in, String name) throws IOException {
        try {
            return detect(new Source.StreamSource(name, in, DEFAULT_BUFFER, MAX_BLOCK));
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Reads a capture already in memory, in place (nothing is copied unless it is xz-compressed). */
    public static CaptureReader of(byte[] data) throws CaptureFormatException {
        return of(data, 0, data.length, "memory");
    }

    /** Reads {@code data[offset, offset+length)} in place; {@code name} is used in errors. */
    public static CaptureReader of(byte[] data, int offset, int length, String name) throws CaptureFormatException {
        try {
            return detect(new Source.ArraySource(name, data, offset, length));
        } catch (CaptureFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("in-memory source cannot fail to read", e);
        }
    }

    /**
     * Reads a capture held in a memory segment (e.g. a mapped file). A heap segment over a byte
     * array is read in place; other memory is copied through a reused buffer.
     */
    public static CaptureReader of(MemorySegment segment, String name) throws CaptureFormatException {
        try {
            if (segment.heapBase().orElse(null) instanceof byte[] a && segment.byteSize() <= Integer.MAX_VALUE) {
                return detect(new Source.ArraySource(name, a, (int) segment.address(), (int) segment.byteSize()));
            }
            return detect(new Source.SegmentSource(name, segment, DEFAULT_BUFFER, MAX_BLOCK));
        } catch (CaptureFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("in-memory source cannot fail to read", e);
        }
    }

    /** Reader over a source with a given initial buffer (tests use small buffers to force growth). */
    static CaptureReader open(Source src) throws IOException {
        return detect(src);
    }

    private static CaptureReader detect(Source src) throws IOException {
        boolean xz = false;
        src.ensure(6);
        if (src.available() >= 6 && isXz(src.buf, src.pos)) {
            xz = true;
            src = XzSource.over(src);
            src.ensure(4);
        }
        int n = src.available();
        if (n == 0) {
            throw new CaptureFormatException(src.name, 0, "empty file, no capture header");
        }
        if (n < 4) {
            throw new CaptureFormatException(src.name, 0, "file of " + n + " bytes is too short for a capture header");
        }
        int magic = Source.i32(src.buf, src.pos, true);
        switch (magic) {
            case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1 -> { return new PcapReader(src, xz); }
            case PcapngReader.SHB -> { return new PcapngReader(src, xz); }
            default -> {
                String what = (magic >>> 16) == 0x1F8B ? " (gzip-compressed: decompress it first)" : "";
                throw new CaptureFormatException(src.name, 0,
                        String.format("not a pcap or pcapng file: magic 0x%08X%s", magic, what));
            }
        }
    }

    private static boolean isXz(byte[] b, int p) {
        return (b[p] & 0xFF) == 0xFD && b[p + 1] == '7' && b[p + 2] == 'z' && b[p + 3] == 'X'
                && b[p + 4] == 'Z' && b[p + 5] == 0;
    }

    // ---- the cursor -----------------------------------------------------------------------

    /**
     * Moves to the next record: true when there is one, false at the clean end of the capture.
     *
     * @throws CaptureFormatException when the capture is malformed at this point (again on every
     *         later call); records before the fault have all been returned
     * @throws IOException when reading the file fails
     */
    public final boolean next() throws IOException {
        if (failure != null) {
            throw failure;
        }
        if (done) {
            return false;
        }
        try {
            if (!advance()) {
                done = true;
                return false;
            }
        } catch (CaptureFormatException e) {
            failure = e;
            throw e;
        }
        records++;
        capturedBytes += capturedLength;
        originalBytes += originalLength;
        if (capturedLength < originalLength) {
            snappedRecords++;
        }
        return true;
    }

    /** Parses the next record into the current-record fields; false at the clean end. */
    abstract boolean advance() throws IOException;

    abstract Format format();

    /** LINKTYPE of the current record's interface (see {@link LinkType}). */
    public final int linkType() { return linkType; }

    /**
     * Capture time of the current record, nanoseconds since the epoch (saturated, never wrapped);
     * 0 for a pcapng simple packet block, which carries no time.
     */
    public final long timestampNanos() { return timestampNanos; }

    /** Bytes of the current record present in the capture. */
    public final int capturedLength() { return capturedLength; }

    /** Length of the frame on the wire (≥ captured length unless the writer was odd). */
    public final int originalLength() { return originalLength; }

    /**
     * Interface of the current record: its index among all interfaces described in the file, in
     * order of appearance (pcapng: over all sections, so equal to the block's interface id in a
     * one-section file; pcap: 0).
     */
    public final int interfaceId() { return interfaceId; }

    /** Byte offset (in the uncompressed capture) of the current record header or block. */
    public final long recordOffset() { return recordOffset; }

    /** The bytes of the current record: the frame is {@code array()[dataOffset() .. +capturedLength())}. */
    public final byte[] array() { return src.buf; }

    /** Where the current frame starts in {@link #array()}. */
    public final int dataOffset() { return dataOffset; }

    /** Records returned so far. */
    public final long records() { return records; }

    /**
     * Interfaces described so far. pcapng may describe an interface anywhere before its first
     * packet, so this grows while reading; use {@link #linkType()} per record rather than
     * assuming the interfaces are known after opening (a pcap file has its one interface at once).
     */
    public final int interfaceCount() { return interfaceCount; }

    /** LINKTYPE of interface {@code id}. */
    public final int interfaceLinkType(int id) {
        return ifLinkType[java.util.Objects.checkIndex(id, interfaceCount)];
    }

    /** Name of interface {@code id} (pcapng {@code if_name}), or null. */
    public final String interfaceName(int id) {
        return ifName[java.util.Objects.checkIndex(id, interfaceCount)];
    }

    /** Description of interface {@code id} (pcapng {@code if_description}), or null. */
    public final String interfaceDescription(int id) {
        return ifDescription[java.util.Objects.checkIndex(id, interfaceCount)];
    }

    /** The name used in error messages (the file name). */
    public final String name() { return src.name; }

    /** A snapshot of the counters. */
    public final Stats stats() {
        Map<String, Long> byType = new LinkedHashMap<>();
        for (int i = 0; i < skippedDistinct; i++) {
            byType.put(PcapngReader.blockTypeName(skippedTypes[i]), skippedCounts[i]);
        }
        if (skippedOther > 0) {
            byType.merge("other", skippedOther, Long::sum);
        }
        return new Stats(format(), compressed, records, capturedBytes, originalBytes, snappedRecords,
                sections(), interfaceCount, reportedDrops, skippedBlocks, Map.copyOf(byType));
    }

    int sections() { return 1; }

    @Override
    public void close() throws IOException {
        src.close();
    }

    // ---- helpers for the format readers ----------------------------------------------------

    final CaptureFormatException fail(long offset, String detail) {
        return new CaptureFormatException(src.name, offset, detail);
    }

    /** Counts a block that was not needed, by type (a bounded table: the rest go to "other"). */
    final void skipped(int type) {
        skippedBlocks++;
        for (int i = 0; i < skippedDistinct; i++) {
            if (skippedTypes[i] == type) {
                skippedCounts[i]++;
                return;
            }
        }
        if (skippedDistinct < skippedTypes.length) {
            skippedTypes[skippedDistinct] = type;
            skippedCounts[skippedDistinct++] = 1;
        } else {
            skippedOther++;
        }
    }

    final int addInterface(int linkType, String name, String description, long offset) throws CaptureFormatException {
        if (interfaceCount >= MAX_INTERFACES) {
            throw fail(offset, "more than " + MAX_INTERFACES + " interfaces");
        }
        if (interfaceCount == ifLinkType.length) {
            int n = interfaceCount * 2;
            ifLinkType = Arrays.copyOf(ifLinkType, n);
            ifName = Arrays.copyOf(ifName, n);
            ifDescription = Arrays.copyOf(ifDescription, n);
            grewInterfaces(n);
        }
        ifLinkType[interfaceCount] = linkType;
        ifName[interfaceCount] = name;
        ifDescription[interfaceCount] = description;
        return interfaceCount++;
    }

    void grewInterfaces(int n) {}

    /** Saturating add: a hostile timestamp pins at the end of the range instead of wrapping. */
    static long satAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }
}
