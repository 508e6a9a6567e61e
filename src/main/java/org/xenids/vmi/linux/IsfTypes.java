package org.xenids.vmi.linux;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.xenids.io.Printable;

/**
 * Struct layouts from a Volatility 3 ISF (Intermediate Symbol Format) JSON file, as produced by
 * dwarf2json: {@code user_types.NAME.fields.MEMBER.{offset,type}}. Anonymous members
 * ({@code "anonymous": true}) are searched as C does.
 */
final class IsfTypes implements KernelTypes {
    private final JsonNode userTypes;
    private final JsonNode baseTypes;
    private final JsonNode enums;
    private final String origin;

    private IsfTypes(JsonNode root, String origin) {
        this.origin = origin;
        this.userTypes = root.path("user_types");
        this.baseTypes = root.path("base_types");
        this.enums = root.path("enums");
        if (!userTypes.isObject()) {
            throw new IllegalArgumentException(origin + ": no user_types object (not a Volatility 3 ISF file?)");
        }
    }

    /**
     * JSON accepted from one ISF file, once decompressed. A kernel's ISF is tens of MB (Debian
     * 6.1's: 38 MB, 190 MB of heap as a tree); a few KB of xz can expand to gigabytes, and the
     * tree takes five times the text: past this, the file is refused rather than the heap spent.
     */
    static final long MAX_JSON = 256L << 20;

    static IsfTypes load(Path file) throws IOException {
        return load(file, MAX_JSON);
    }

    static IsfTypes load(Path file, long maxJson) throws IOException {
        ObjectMapper mapper = new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxDocumentLength(maxJson).build())
                .build());
        try (InputStream raw = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16);
             InputStream in = file.toString().endsWith(".xz") ? new org.tukaani.xz.XZInputStream(raw) : raw) {
            JsonNode root;
            try {
                root = mapper.readTree(in);
            } catch (StreamConstraintsException e) {
                throw new IllegalArgumentException(file + ": more than " + (maxJson % (1 << 20) == 0 ? (maxJson >> 20) + " MiB" : maxJson + " bytes") + " of JSON"
                        + (in == raw ? "" : " once decompressed") + "; not a kernel's ISF file (" + e.getOriginalMessage() + ")");
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
            return new IsfTypes(root, "ISF file " + file);
        }
    }

    static IsfTypes of(JsonNode root, String origin) { return new IsfTypes(root, origin); }

    @Override
    public String source() { return origin; }

    @Override
    public long sizeOf(String name) {
        JsonNode t = userTypes.get(name);
        if (t == null || !t.path("size").canConvertToLong()) {
            throw new IllegalArgumentException("no struct or union '" + name + "' in " + origin);
        }
        return t.path("size").asLong();
    }

    @Override
    public Member member(String pathText) {
        TypePath path = TypePath.parse(pathText);
        JsonNode type = null;
        String composite = path.root();
        if (!userTypes.has(composite)) {
            throw new IllegalArgumentException("no struct or union '" + composite + "' in " + origin);
        }
        long offset = 0;
        int bitOffset = 0;
        int bitSize = 0;
        for (TypePath.Step step : path.steps()) {
            if (bitSize != 0) {
                throw new IllegalArgumentException("'" + pathText + "': cannot descend into a bitfield (" + origin + ")");
            }
            if (step.isIndex()) {
                if (type == null || !"array".equals(type.path("kind").asText())) {
                    throw new IllegalArgumentException("'" + pathText + "': [" + step.index() + "] on a non-array (" + origin + ")");
                }
                long n = type.path("count").asLong(0);
                if (n < 0) {
                    throw new IllegalArgumentException("'" + pathText + "': an array of " + n + " elements (" + origin + ")");
                }
                if (n != 0 && step.index() >= n) {
                    throw new IllegalArgumentException("'" + pathText + "': index " + step.index() + " out of bounds (" + n
                            + " elements; " + origin + ")");
                }
                JsonNode sub = type.path("subtype");
                offset += step.index() * sizeOfType(sub, 0);
                type = sub;
            } else {
                if (type != null) {
                    String k = type.path("kind").asText();
                    if (!k.equals("struct") && !k.equals("union") && !k.equals("class")) {
                        throw new IllegalArgumentException("'" + pathText + "': '" + step.name() + "' looked up in a non-struct (" + origin + ")");
                    }
                    composite = type.path("name").asText();
                }
                long[] off = new long[1];
                JsonNode field = findField(composite, step.name(), off, 0, new int[] {Btf.MAX_MEMBER_VISITS});
                if (field == null) {
                    throw new IllegalArgumentException("'" + pathText + "': no member '" + step.name() + "' in "
                            + Printable.ascii(composite) + " (" + origin + ")");
                }
                offset += off[0];
                type = field.path("type");
                if ("bitfield".equals(type.path("kind").asText())) {
                    bitOffset = type.path("bit_position").asInt();
                    bitSize = type.path("bit_length").asInt();
                    offset += bitOffset / 8;
                    bitOffset %= 8;
                }
            }
        }
        long size = bitSize != 0 ? 0 : type == null ? sizeOf(composite) : sizeOfType(type, 0);
        return new Member(pathText, offset, size, bitOffset, bitSize);
    }

    /** Searches as {@link Btf} does, on the same bound of members examined ({@code left}). */
    private JsonNode findField(String composite, String name, long[] off, int depth, int[] left) {
        if (depth > Btf.MAX_NESTING) {
            throw new IllegalArgumentException(origin + ": anonymous members nested deeper than " + Btf.MAX_NESTING + " in "
                    + Printable.ascii(composite));
        }
        JsonNode fields = userTypes.path(composite).path("fields");
        JsonNode f = fields.get(name);
        if (f != null) {
            off[0] = f.path("offset").asLong();
            return f;
        }
        for (var it = fields.properties().iterator(); it.hasNext(); ) {
            if (--left[0] < 0) {
                throw new IllegalArgumentException(origin + ": more than " + Btf.MAX_MEMBER_VISITS + " members to search for '"
                        + Printable.ascii(name) + "' (anonymous members sharing types, in " + Printable.ascii(composite) + ")");
            }
            JsonNode a = it.next().getValue();
            if (a.path("anonymous").asBoolean(false)) {
                JsonNode found = findField(a.path("type").path("name").asText(), name, off, depth + 1, left);
                if (found != null) {
                    off[0] += a.path("offset").asLong();
                    return found;
                }
            }
        }
        return null;
    }

    private long sizeOfType(JsonNode type, int depth) {
        if (depth > Btf.MAX_NESTING) {
            throw new IllegalArgumentException(origin + ": types nested deeper than " + Btf.MAX_NESTING);
        }
        String name = type.path("name").asText();
        return switch (type.path("kind").asText()) {
            case "base" -> baseTypes.path(name).path("size").asLong(0);
            case "pointer" -> baseTypes.path("pointer").path("size").asLong(8);
            case "struct", "union", "class" -> userTypes.path(name).path("size").asLong(0);
            case "enum" -> enums.path(name).path("size").asLong(0);
            case "array" -> type.path("count").asLong(0) * sizeOfType(type.path("subtype"), depth + 1);
            default -> 0;
        };
    }
}
