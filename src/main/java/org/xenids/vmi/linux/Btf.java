package org.xenids.vmi.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.xenids.io.Printable;

/**
 * A BTF blob (include/uapi/linux/btf.h) read as struct layouts. The input is hostile: every
 * section and record is bounds-checked against the blob, type ids against the type count, and
 * chains of type references (typedef → const → …) and nested anonymous members are followed
 * a bounded number of steps, so a crafted blob ends in a one-line error, never a loop.
 */
final class Btf implements KernelTypes {
    static final int MAGIC = 0xEB9F;
    static final int HEADER_MIN = 24;
    static final int MAX_REF_CHAIN = 64;
    static final int MAX_NESTING = 32;
    /** Longer names are refused (the kernel's own limit, KSYM_NAME_LEN, is 512). */
    static final int MAX_NAME = 1024;

    static final int INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7, TYPEDEF = 8,
            VOLATILE = 9, CONST = 10, RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14, DATASEC = 15,
            FLOAT = 16, DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19;

    private final String origin;
    private final ByteBuffer types;
    private final ByteBuffer strings;
    private final int[] offsets;      // offsets[id] = record offset in the type section; id 0 is void
    private final int count;          // number of ids including void
    private final Map<String, Integer> composites = new HashMap<>();
    private final long length;

    private Btf(String origin, ByteBuffer types, ByteBuffer strings, int[] offsets, int count, long length) {
        this.origin = origin;
        this.types = types;
        this.strings = strings;
        this.offsets = offsets;
        this.count = count;
        this.length = length;
    }

    /** Total blob length the header at {@code buf}'s position claims, or -1 when it is no BTF header. */
    static long claimedLength(ByteBuffer buf) {
        ByteBuffer b = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < HEADER_MIN || (b.getShort(0) & 0xffff) != MAGIC || b.get(2) != 1) {
            return -1;
        }
        long hdr = Integer.toUnsignedLong(b.getInt(4));
        long typeEnd = Integer.toUnsignedLong(b.getInt(8)) + Integer.toUnsignedLong(b.getInt(12));
        long strEnd = Integer.toUnsignedLong(b.getInt(16)) + Integer.toUnsignedLong(b.getInt(20));
        if (hdr < HEADER_MIN || hdr > 1024) {
            return -1;
        }
        return hdr + Math.max(typeEnd, strEnd);
    }

    /** Parses the blob starting at {@code buf}'s position (it may extend past the blob). */
    static Btf parse(ByteBuffer buf, String origin) {
        ByteBuffer b = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        long avail = b.remaining();
        if (avail < HEADER_MIN) {
            throw bad(origin, 0, "truncated BTF header (" + avail + " bytes)");
        }
        int magic = b.getShort(0) & 0xffff;
        if (magic == 0x9FEB) {
            throw bad(origin, 0, "big-endian BTF is not supported");
        }
        if (magic != MAGIC) {
            throw bad(origin, 0, String.format("not BTF (magic 0x%04x, expected 0xeb9f)", magic));
        }
        if (b.get(2) != 1) {
            throw bad(origin, 2, "unsupported BTF version " + (b.get(2) & 0xff));
        }
        long hdr = Integer.toUnsignedLong(b.getInt(4));
        if (hdr < HEADER_MIN || hdr > 1024 || hdr > avail) {
            throw bad(origin, 4, "bad BTF header length " + hdr);
        }
        long typeOff = Integer.toUnsignedLong(b.getInt(8));
        long typeLen = Integer.toUnsignedLong(b.getInt(12));
        long strOff = Integer.toUnsignedLong(b.getInt(16));
        long strLen = Integer.toUnsignedLong(b.getInt(20));
        long body = avail - hdr;
        if (typeOff + typeLen > body) {
            throw bad(origin, 8, "type section [" + typeOff + ", +" + typeLen + ") outside the blob ("
                    + body + " bytes after the header; truncated?)");
        }
        if (strOff + strLen > body) {
            throw bad(origin, 16, "string section [" + strOff + ", +" + strLen + ") outside the blob ("
                    + body + " bytes after the header; truncated?)");
        }
        if ((typeOff & 3) != 0 || (typeLen & 3) != 0) {
            throw bad(origin, 8, "type section not 4-byte aligned");
        }
        if (typeOff < strOff + strLen && strOff < typeOff + typeLen) {
            throw bad(origin, 8, "type and string sections overlap");
        }
        if (strLen == 0 || b.get((int) (hdr + strOff)) != 0) {
            throw bad(origin, hdr + strOff, "string section does not start with an empty string");
        }
        if (b.get((int) (hdr + strOff + strLen - 1)) != 0) {
            throw bad(origin, hdr + strOff + strLen - 1, "string section does not end with a NUL");
        }
        ByteBuffer types = b.slice((int) (hdr + typeOff), (int) typeLen).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer strings = b.slice((int) (hdr + strOff), (int) strLen).order(ByteOrder.LITTLE_ENDIAN);
        long length = hdr + Math.max(typeOff + typeLen, strOff + strLen);

        int[] offsets = new int[Math.max(16, (int) Math.min(typeLen / 12 + 2, 1 << 16))];
        int count = 1;
        int pos = 0;
        while (pos < typeLen) {
            if (typeLen - pos < 12) {
                throw bad(origin, hdr + typeOff + pos, "truncated type record (id " + count + ")");
            }
            int info = types.getInt(pos + 4);
            int kind = (info >>> 24) & 0x1f;
            int vlen = info & 0xffff;
            long extra = switch (kind) {
                case INT, VAR, DECL_TAG -> 4;
                case PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG -> 0;
                case ARRAY -> 12;
                case STRUCT, UNION, DATASEC, ENUM64 -> 12L * vlen;
                case ENUM, FUNC_PROTO -> 8L * vlen;
                default -> throw bad(origin, hdr + typeOff + pos, "unknown BTF kind " + kind + " (type id " + count + ")");
            };
            if (typeLen - pos - 12 < extra) {
                throw bad(origin, hdr + typeOff + pos, "type id " + count + " runs past the type section");
            }
            if (count == offsets.length) {
                offsets = java.util.Arrays.copyOf(offsets, offsets.length * 2);
            }
            offsets[count++] = pos;
            pos += (int) (12 + extra);
        }
        Btf btf = new Btf(origin, types, strings, offsets, count, length);
        btf.index();
        return btf;
    }

    private void index() {
        for (int id = 1; id < count; id++) {
            int info = info(id);
            int kind = (info >>> 24) & 0x1f;
            if ((kind == STRUCT || kind == UNION) && nameOff(id) != 0) {
                String name = string(nameOff(id));
                Integer prev = composites.get(name);
                if (prev == null || (vlen(prev) == 0 && vlen(id) > 0)) {
                    composites.put(name, id);
                }
            }
        }
    }

    long length() { return length; }

    int typeCount() { return count - 1; }

    @Override
    public String source() { return origin; }

    @Override
    public long sizeOf(String name) {
        return sizeOfId(requireComposite(name), 0);
    }

    @Override
    public synchronized Member member(String pathText) {
        TypePath path = TypePath.parse(pathText);
        int cur = requireComposite(path.root());
        long bits = 0;
        int bitSize = 0;
        for (TypePath.Step step : path.steps()) {
            int t = resolve(cur);
            int kind = kind(t);
            if (bitSize != 0) {
                throw new IllegalArgumentException("'" + pathText + "': cannot descend into a bitfield (" + origin + ")");
            }
            if (step.isIndex()) {
                if (kind != ARRAY) {
                    throw new IllegalArgumentException("'" + pathText + "': [" + step.index() + "] on a non-array (" + origin + ")");
                }
                int p = offsets[t] + 12;
                int elem = checkId(types.getInt(p));
                long n = Integer.toUnsignedLong(types.getInt(p + 8));
                if (n != 0 && step.index() >= n) {
                    throw new IllegalArgumentException("'" + pathText + "': index " + step.index() + " out of bounds (" + n
                            + " elements; " + origin + ")");
                }
                bits += step.index() * sizeOfId(elem, 0) * 8;
                cur = elem;
            } else {
                if (kind != STRUCT && kind != UNION) {
                    throw new IllegalArgumentException("'" + pathText + "': '" + step.name() + "' looked up in a non-struct (" + origin + ")");
                }
                visitsLeft = MAX_MEMBER_VISITS;
                long found = findMember(t, step.name(), 0);
                if (found == NOT_FOUND) {
                    throw new IllegalArgumentException("'" + pathText + "': no member '" + step.name() + "' in "
                            + describe(t) + " (" + origin + ")");
                }
                bits += foundBits;
                bitSize = foundBitSize;
                cur = foundType;
            }
        }
        long size = bitSize != 0 ? 0 : sizeOfId(cur, 0);
        return new Member(pathText, bits >>> 3, size, bitSize != 0 ? (int) (bits & 7) : 0, bitSize);
    }

    private static final long NOT_FOUND = -1;
    /**
     * Members one look-up may examine, anonymous members' own included. Nesting is bounded, but
     * a struct whose anonymous members share one type, which has the same, and so on, is searched
     * in exponential time without a bound; a real kernel's look-ups examine a few hundred.
     */
    static final int MAX_MEMBER_VISITS = 1 << 20;
    private int visitsLeft;
    // Result registers of findMember (this object is not shared between threads while resolving).
    private long foundBits;
    private int foundBitSize;
    private int foundType;

    /** Searches members of composite {@code t}, descending into anonymous struct/union members. */
    private long findMember(int t, String name, int depth) {
        if (depth > MAX_NESTING) {
            throw bad(origin, -1, "anonymous members nested deeper than " + MAX_NESTING + " at type id " + t);
        }
        boolean kflag = (info(t) >>> 31) != 0;
        int n = vlen(t);
        int p = offsets[t] + 12;
        for (int i = 0; i < n; i++, p += 12) {
            if (--visitsLeft < 0) {
                throw bad(origin, -1, "more than " + MAX_MEMBER_VISITS + " members to search for '" + Printable.ascii(name)
                        + "' (anonymous members sharing types, at type id " + t + ")");
            }
            int mname = types.getInt(p);
            int mtype = checkId(types.getInt(p + 4));
            int moff = types.getInt(p + 8);
            long bitOff = kflag ? (moff & 0xffffff) : Integer.toUnsignedLong(moff);
            int bitSize = kflag ? (moff >>> 24) : 0;
            if (mname != 0) {
                if (string(mname).equals(name)) {
                    foundBits = bitOff;
                    foundBitSize = bitSize;
                    foundType = mtype;
                    return bitOff;
                }
            } else {
                int r = resolve(mtype);
                int k = kind(r);
                if ((k == STRUCT || k == UNION) && findMember(r, name, depth + 1) != NOT_FOUND) {
                    foundBits += bitOff;
                    return foundBits;
                }
            }
        }
        return NOT_FOUND;
    }

    private int requireComposite(String name) {
        Integer id = composites.get(name);
        if (id == null) {
            throw new IllegalArgumentException("no struct or union '" + name + "' in " + origin);
        }
        return id;
    }

    /** Follows typedef/const/volatile/restrict/type-tag to the underlying type (bounded). */
    int resolve(int id) {
        int cur = checkId(id);
        for (int i = 0; i < MAX_REF_CHAIN; i++) {
            if (cur == 0) {
                return 0;
            }
            int k = kind(cur);
            if (k != TYPEDEF && k != VOLATILE && k != CONST && k != RESTRICT && k != TYPE_TAG) {
                return cur;
            }
            cur = checkId(types.getInt(offsets[cur] + 8));
        }
        throw bad(origin, -1, "type reference chain longer than " + MAX_REF_CHAIN + " (loop?) from type id " + id);
    }

    /** Size in bytes of type {@code id}; 0 for types without a size (void, functions, forward decls). */
    long sizeOfId(int id, int depth) {
        if (depth > MAX_NESTING) {
            throw bad(origin, -1, "arrays nested deeper than " + MAX_NESTING + " at type id " + id);
        }
        int t = resolve(id);
        if (t == 0) {
            return 0;
        }
        return switch (kind(t)) {
            case INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC -> Integer.toUnsignedLong(types.getInt(offsets[t] + 8));
            case PTR -> 8;
            case ARRAY -> {
                int p = offsets[t] + 12;
                long n = Integer.toUnsignedLong(types.getInt(p + 8));
                long e = sizeOfId(checkId(types.getInt(p)), depth + 1);
                if (n != 0 && e > (1L << 40) / n) {
                    throw bad(origin, -1, "array type id " + t + " is implausibly large");
                }
                yield n * e;
            }
            default -> 0;
        };
    }

    private int checkId(int id) {
        if (id < 0 || id >= count) {
            throw bad(origin, -1, "type id " + Integer.toUnsignedString(id) + " out of range (" + (count - 1) + " types)");
        }
        return id;
    }

    private int info(int id) { return types.getInt(offsets[id] + 4); }

    int kind(int id) { return id == 0 ? 0 : (info(id) >>> 24) & 0x1f; }

    private int vlen(int id) { return info(id) & 0xffff; }

    private int nameOff(int id) { return types.getInt(offsets[id]); }

    private String describe(int t) {
        int no = nameOff(t);
        String n = no == 0 ? "(anonymous)" : Printable.ascii(string(no));
        return (kind(t) == UNION ? "union " : "struct ") + n;
    }

    /** The NUL-terminated string at {@code off} in the string section (bounded by the section). */
    String string(int off) {
        long o = Integer.toUnsignedLong(off);
        int len = strings.limit();
        if (o >= len) {
            throw bad(origin, -1, "string offset " + o + " outside the string section (" + len + " bytes)");
        }
        int s = (int) o;
        int e = s;
        int end = (int) Math.min(len, (long) s + MAX_NAME + 1);
        while (e < end && strings.get(e) != 0) {
            e++;
        }
        if (e == end) {
            throw bad(origin, -1, "name at string offset " + o + " is unterminated or longer than " + MAX_NAME + " bytes");
        }
        byte[] b = new byte[e - s];
        strings.get(s, b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static IllegalArgumentException bad(String origin, long offset, String msg) {
        return new IllegalArgumentException(origin + (offset >= 0 ? " at offset " + offset : "") + ": " + msg);
    }
}
