package org.xenids.xen.abi;

import java.util.List;

/**
 * A Xen public struct as bytes: its C name, {@code sizeof}, and named fields with their
 * {@code offsetof} and width. Nested members use C member designators ("source.domid",
 * "u.gso.size"), exactly what {@code offsetof(struct name, designator)} accepts, so the layout
 * test can check every field against the real headers with gcc.
 */
public record StructLayout(String name, int size, List<Field> fields) {

    /** One member: byte offset from the start of the struct and width in bytes. */
    public record Field(String name, int offset, int size) {}

    public StructLayout {
        fields = List.copyOf(fields);
        for (Field f : fields) {
            if (f.offset() < 0 || f.offset() + f.size() > size) {
                throw new IllegalArgumentException(name + "." + f.name() + " outside the struct");
            }
        }
    }

    static StructLayout of(String name, int size, Object... nameOffsetSize) {
        Field[] fs = new Field[nameOffsetSize.length / 3];
        for (int i = 0; i < fs.length; i++) {
            fs[i] = new Field((String) nameOffsetSize[3 * i], (Integer) nameOffsetSize[3 * i + 1],
                    (Integer) nameOffsetSize[3 * i + 2]);
        }
        return new StructLayout(name, size, List.of(fs));
    }

    /** The offset of a field by name (for tools and tests, not the hot path). */
    public int offset(String field) {
        for (Field f : fields) {
            if (f.name().equals(field)) {
                return f.offset();
            }
        }
        throw new IllegalArgumentException(name + " has no field " + field);
    }
}
