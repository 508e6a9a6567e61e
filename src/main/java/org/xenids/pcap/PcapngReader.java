package org.xenids.pcap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * pcapng (draft-ietf-opsawg-pcapng): sections of blocks, each section with its own byte order
 * and interfaces. Packet blocks (EPB, SPB, obsolete PB) become records; IDBs, SHBs and ISBs are
 * used; every other block is skipped without being held in memory, and counted.
 */
final class PcapngReader extends CaptureReader {
    static final int SHB = 0x0A0D0D0A;
    static final int IDB = 1;
    static final int OPB = 2;
    static final int SPB = 3;
    static final int NRB = 4;
    static final int ISB = 5;
    static final int EPB = 6;
    private static final int BOM = 0x1A2B3C4D;
    /** Bytes of an interface name or description kept (longer ones are cut: they are labels). */
    private static final int MAX_LABEL = 256;

    private static final byte TS_MUL = 0;
    private static final byte TS_DIV = 1;
    private static final byte TS_POW2 = 2;

    private boolean big;
    private int sections;
    private int sectionFirst;
    private int sectionCount;

    // Per interface, over all sections (indexes are global interface ids).
    private int[] ifSnaplen = new int[4];
    private byte[] tsKind = new byte[4];
    private long[] tsParam = new long[4];
    private long[] tsOffsetNanos = new long[4];
    private long[] ifDrops = new long[4];

    PcapngReader(Source src, boolean compressed) {
        super(src, compressed);
    }

    @Override
    Format format() { return Format.PCAPNG; }

    @Override
    int sections() { return sections; }

    @Override
    void grewInterfaces(int n) {
        ifSnaplen = Arrays.copyOf(ifSnaplen, n);
        tsKind = Arrays.copyOf(tsKind, n);
        tsParam = Arrays.copyOf(tsParam, n);
        tsOffsetNanos = Arrays.copyOf(tsOffsetNanos, n);
        ifDrops = Arrays.copyOf(ifDrops, n);
    }

    @Override
    boolean advance() throws IOException {
        Source s = src;
        // Every pass consumes at least 12 bytes (a block length is checked ≥ 12 before use),
        // so the work is bounded by the input size whatever the lengths say.
        while (true) {
            long start = s.offset();
            steps++;
            if (!s.ensure(12)) {
                if (s.available() == 0) {
                    return false;
                }
                throw fail(start, "truncated block header: " + s.available() + " of 12 bytes");
            }
            byte[] b = s.buf;
            int p = s.pos;
            int type = Source.i32(b, p, big);
            if (type == SHB) {
                int bom = Source.i32(b, p + 8, true);
                if (bom == BOM) {
                    big = true;
                } else if (bom == Integer.reverseBytes(BOM)) {
                    big = false;
                } else {
                    throw fail(start + 8, String.format("bad byte-order magic 0x%08X in section header", bom));
                }
            }
            long len = Source.u32(b, p + 4, big);
            if (len < 12) {
                throw fail(start, "block length " + len + " is less than 12");
            }
            if ((len & 3) != 0) {
                throw fail(start, "block length " + len + " is not a multiple of 4");
            }
            if (!held(type)) {
                if (!s.skip(len - 4) || !s.ensure(4)) {
                    throw fail(start, "truncated " + blockTypeName(type) + " block: length " + len
                            + ", file ends at offset " + s.offset());
                }
                checkTrailer(s.buf, s.pos, len, start);
                s.pos += 4;
                skipped(type);
                continue;
            }
            if (len > MAX_BLOCK) {
                throw fail(start, blockTypeName(type) + " block length " + len + " exceeds limit " + MAX_BLOCK);
            }
            int n = (int) len;
            if (!s.ensure(n)) {
                throw fail(start, "truncated " + blockTypeName(type) + " block: length " + len
                        + ", only " + s.available() + " bytes left");
            }
            b = s.buf;
            p = s.pos;
            checkTrailer(b, p + n - 4, len, start);
            // Consumed now; the bytes stay in the buffer until the next call.
            s.pos = p + n;
            switch (type) {
                case SHB -> sectionHeader(b, p, n, start);
                case IDB -> interfaceDescription(b, p, n, start);
                case ISB -> interfaceStatistics(b, p, n, start);
                case EPB, OPB -> {
                    packet(b, p, n, start, type);
                    return true;
                }
                case SPB -> {
                    simplePacket(b, p, n, start);
                    return true;
                }
                default -> throw new AssertionError(type);
            }
        }
    }

    private static boolean held(int type) {
        return type == SHB || type == IDB || type == EPB || type == SPB || type == OPB || type == ISB;
    }

    private void checkTrailer(byte[] b, int at, long len, long start) throws CaptureFormatException {
        long trailer = Source.u32(b, at, big);
        if (trailer != len) {
            throw fail(start, "trailing block length " + trailer + " differs from leading length " + len);
        }
    }

    private void sectionHeader(byte[] b, int p, int n, long start) throws CaptureFormatException {
        if (n < 28) {
            throw fail(start, "section header block length " + n + " is less than 28");
        }
        int major = Source.u16(b, p + 12, big);
        int minor = Source.u16(b, p + 14, big);
        if (major != 1) {
            throw fail(start + 12, "unsupported pcapng version " + major + "." + minor);
        }
        sections++;
        sectionFirst = interfaceCount;
        sectionCount = 0;
    }

    private void interfaceDescription(byte[] b, int p, int n, long start) throws CaptureFormatException {
        if (n < 20) {
            throw fail(start, "interface description block length " + n + " is less than 20");
        }
        int link = Source.u16(b, p + 8, big);
        long snaplen = Source.u32(b, p + 12, big);
        String name = null;
        String description = null;
        byte kind = TS_MUL;
        long param = 1000; // default resolution: microseconds
        long offsetNanos = 0;
        int o = p + 16;
        int end = p + n - 4;
        while (o + 4 <= end) {
            int code = Source.u16(b, o, big);
            int olen = Source.u16(b, o + 2, big);
            if (code == 0) {
                break;
            }
            if (olen > end - o - 4) {
                throw fail(start + (o - p), "interface option " + code + " length " + olen + " runs past the block");
            }
            int v = o + 4;
            switch (code) {
                case 2 -> name = label(b, v, olen);
                case 3 -> description = label(b, v, olen);
                case 9 -> {
                    if (olen != 1) {
                        throw fail(start + (o - p), "if_tsresol option length " + olen + " is not 1");
                    }
                    int r = b[v] & 0xFF;
                    if ((r & 0x80) != 0) {
                        kind = TS_POW2;
                        param = r & 0x7F;
                    } else if (r <= 9) {
                        kind = TS_MUL;
                        param = pow10(9 - r);
                    } else {
                        kind = TS_DIV;
                        param = r - 9;
                    }
                }
                case 14 -> {
                    if (olen != 8) {
                        throw fail(start + (o - p), "if_tsoffset option length " + olen + " is not 8");
                    }
                    long hi = Source.u32(b, v, big);
                    long lo = Source.u32(b, v + 4, big);
                    long sec = big ? (hi << 32 | lo) : (lo << 32 | hi);
                    long limit = Long.MAX_VALUE / 1_000_000_000L;
                    offsetNanos = sec > limit ? Long.MAX_VALUE : sec < -limit ? Long.MIN_VALUE : sec * 1_000_000_000L;
                }
                default -> { }
            }
            o = v + ((olen + 3) & ~3);
        }
        int id = addInterface(link, name, description, start);
        ifSnaplen[id] = (int) Math.min(snaplen, Integer.MAX_VALUE);
        tsKind[id] = kind;
        tsParam[id] = param;
        tsOffsetNanos[id] = offsetNanos;
        sectionCount++;
    }

    private void interfaceStatistics(byte[] b, int p, int n, long start) throws CaptureFormatException {
        if (n < 24) {
            throw fail(start, "interface statistics block length " + n + " is less than 24");
        }
        int id = iface(Source.u32(b, p + 8, big), start, "ISB");
        int o = p + 20;
        int end = p + n - 4;
        while (o + 4 <= end) {
            int code = Source.u16(b, o, big);
            int olen = Source.u16(b, o + 2, big);
            if (code == 0) {
                break;
            }
            if (olen > end - o - 4) {
                throw fail(start + (o - p), "statistics option " + code + " length " + olen + " runs past the block");
            }
            if (code == 5 && olen == 8) { // isb_ifdrop: cumulative, so keep the largest seen
                long drops = u64(b, o + 4);
                if (drops > ifDrops[id]) {
                    reportedDrops += drops - ifDrops[id];
                    ifDrops[id] = drops;
                }
            }
            o = o + 4 + ((olen + 3) & ~3);
        }
    }

    private void packet(byte[] b, int p, int n, long start, int type) throws CaptureFormatException {
        if (n < 32) {
            throw fail(start, blockTypeName(type) + " block length " + n + " is less than 32");
        }
        long rawId;
        if (type == EPB) {
            rawId = Source.u32(b, p + 8, big);
        } else {
            rawId = Source.u16(b, p + 8, big);
            reportedDrops += Source.u16(b, p + 10, big); // drops since the previous packet
        }
        int id = iface(rawId, start, blockTypeName(type));
        long caplen = Source.u32(b, p + 20, big);
        if (caplen > MAX_CAPLEN) {
            throw fail(start, "record length " + caplen + " exceeds snaplen " + MAX_CAPLEN);
        }
        if (caplen > n - 32) {
            throw fail(start, "record length " + caplen + " exceeds block data of " + (n - 32) + " bytes");
        }
        long ts = (Source.u32(b, p + 12, big) << 32) | Source.u32(b, p + 16, big);
        set(id, toNanos(id, ts), (int) caplen, Source.u32(b, p + 24, big), start, p + 28);
    }

    private void simplePacket(byte[] b, int p, int n, long start) throws CaptureFormatException {
        if (n < 16) {
            throw fail(start, "SPB block length " + n + " is less than 16");
        }
        if (sectionCount == 0) {
            throw fail(start, "SPB before any interface description in its section");
        }
        int id = sectionFirst;
        long orig = Source.u32(b, p + 8, big);
        int snap = ifSnaplen[id];
        long caplen = snap != 0 && orig > snap ? snap : orig;
        if (caplen > MAX_CAPLEN) {
            throw fail(start, "record length " + caplen + " exceeds snaplen " + MAX_CAPLEN);
        }
        if (caplen > n - 16) {
            throw fail(start, "record length " + caplen + " exceeds block data of " + (n - 16) + " bytes");
        }
        // An SPB has no timestamp: 0 rather than an invented time.
        set(id, 0, (int) caplen, orig, start, p + 12);
    }

    private void set(int id, long nanos, int caplen, long orig, long start, int data) {
        linkType = ifLinkType[id];
        interfaceId = id;
        timestampNanos = nanos;
        capturedLength = caplen;
        originalLength = (int) Math.min(orig, Integer.MAX_VALUE);
        recordOffset = start;
        dataOffset = data;
    }

    private int iface(long rawId, long start, String what) throws CaptureFormatException {
        if (rawId >= sectionCount) {
            throw fail(start, what + " interface id " + rawId + " not described (section has "
                    + sectionCount + " interfaces)");
        }
        return sectionFirst + (int) rawId;
    }

    /** Timestamp units → epoch nanoseconds; {@code ts} is unsigned. */
    private long toNanos(int id, long ts) {
        long param = tsParam[id];
        long ns = switch (tsKind[id]) {
            case TS_MUL -> {
                long hi = Math.unsignedMultiplyHigh(ts, param);
                long lo = ts * param;
                yield hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
            }
            case TS_DIV -> param > 19 ? 0 : divPow10(ts, (int) param);
            default -> pow2(ts, (int) param);
        };
        return satAdd(ns, tsOffsetNanos[id]);
    }

    private static long divPow10(long ts, int k) {
        if (k > 18) { // 10^19 does not fit a signed long
            return Long.divideUnsigned(Long.divideUnsigned(ts, 1_000_000_000_000_000_000L), 10);
        }
        return Long.divideUnsigned(ts, pow10(k));
    }

    /** (ts × 10^9) >> v with a 128-bit intermediate, saturated. */
    private static long pow2(long ts, int v) {
        long hi = Math.unsignedMultiplyHigh(ts, 1_000_000_000L);
        long lo = ts * 1_000_000_000L;
        long rHi;
        long rLo;
        if (v == 0) {
            rHi = hi;
            rLo = lo;
        } else if (v < 64) {
            rHi = hi >>> v;
            rLo = (lo >>> v) | (hi << (64 - v));
        } else {
            rHi = 0;
            rLo = v - 64 < 64 ? hi >>> (v - 64) : 0;
        }
        return rHi != 0 || rLo < 0 ? Long.MAX_VALUE : rLo;
    }

    private static long pow10(int k) {
        long r = 1;
        for (int i = 0; i < k; i++) {
            r *= 10;
        }
        return r;
    }

    private long u64(byte[] b, int o) {
        long first = Source.u32(b, o, big);
        long second = Source.u32(b, o + 4, big);
        return big ? (first << 32 | second) : (second << 32 | first);
    }

    private static String label(byte[] b, int at, int len) {
        int n = Math.min(len, MAX_LABEL);
        while (n > 0 && b[at + n - 1] == 0) {
            n--; // writers may include a terminating NUL
        }
        return new String(b, at, n, StandardCharsets.UTF_8);
    }

    static String blockTypeName(int type) {
        return switch (type) {
            case SHB -> "SHB";
            case IDB -> "IDB";
            case OPB -> "PB";
            case SPB -> "SPB";
            case NRB -> "NRB";
            case ISB -> "ISB";
            case EPB -> "EPB";
            case 9 -> "systemd-journal";
            case 0x0A -> "DSB";
            case 0x0BAD, 0x40000BAD -> "custom";
            default -> String.format("0x%08X", type);
        };
    }
}
