package org.xenids.vmi.linux;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** A small, valid BTF blob with every construct the resolver handles, for fuzzing and unit tests. */
final class MiniBtf {
    static final String[] PATHS = {"task_struct.pid", "task_struct.tgid", "task_struct.tasks", "task_struct.tasks.prev",
        "task_struct.comm", "task_struct.comm[3]", "task_struct.a", "task_struct.b", "task_struct.bits", "list_head.next"};

    private MiniBtf() {}

    static byte[] blob() {
        Map<String, Integer> names = new LinkedHashMap<>();
        ByteArrayOutputStream strs = new ByteArrayOutputStream();
        strs.write(0);
        ByteBuffer t = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        // 1 int
        t.putInt(name("int", names, strs)).putInt(Btf.INT << 24).putInt(4).putInt(0x01000020);
        // 2 char
        t.putInt(name("char", names, strs)).putInt(Btf.INT << 24).putInt(1).putInt(0x01000008);
        // 3 char[16]
        t.putInt(0).putInt(Btf.ARRAY << 24).putInt(0).putInt(2).putInt(1).putInt(16);
        // 4 struct list_head { list_head *next, *prev; }
        t.putInt(name("list_head", names, strs)).putInt(Btf.STRUCT << 24 | 2).putInt(16);
        t.putInt(name("next", names, strs)).putInt(5).putInt(0);
        t.putInt(name("prev", names, strs)).putInt(5).putInt(64);
        // 5 pointer to 4
        t.putInt(0).putInt(Btf.PTR << 24).putInt(4);
        // 6 struct task_struct (kind_flag: bitfield offsets)
        t.putInt(name("task_struct", names, strs)).putInt(1 << 31 | Btf.STRUCT << 24 | 6).putInt(64);
        t.putInt(name("pid", names, strs)).putInt(1).putInt(0);
        t.putInt(name("tgid", names, strs)).putInt(8).putInt(32);
        t.putInt(name("tasks", names, strs)).putInt(4).putInt(64);
        t.putInt(name("comm", names, strs)).putInt(3).putInt(192);
        t.putInt(0).putInt(7).putInt(320);
        t.putInt(name("bits", names, strs)).putInt(1).putInt(3 << 24 | 355);
        // 7 anonymous union { int a; u_t b; }
        t.putInt(0).putInt(Btf.UNION << 24 | 2).putInt(4);
        t.putInt(name("a", names, strs)).putInt(1).putInt(0);
        t.putInt(name("b", names, strs)).putInt(8).putInt(0);
        // 8 typedef u_t → 9, 9 const → 1
        t.putInt(name("u_t", names, strs)).putInt(Btf.TYPEDEF << 24).putInt(9);
        t.putInt(0).putInt(Btf.CONST << 24).putInt(1);
        byte[] types = java.util.Arrays.copyOf(t.array(), t.position());
        return BtfBuilder.blob(types, strs.toByteArray());
    }

    private static int name(String s, Map<String, Integer> names, ByteArrayOutputStream strs) {
        return names.computeIfAbsent(s, k -> {
            int off = strs.size();
            strs.writeBytes((k + "\0").getBytes(StandardCharsets.ISO_8859_1));
            return off;
        });
    }
}
