package org.xenids.vmi.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The five offsets a LibVMI config gives ({@code linux_tasks}, {@code linux_name},
 * {@code linux_pid}, {@code linux_mm}, {@code linux_pgd}), e.g.
 * {@code guest { ostype = "Linux"; linux_tasks = 0x890; ... }}. Anything else is unknown:
 * walkers that need more (IDR, tree, scan) report that they cannot run.
 */
final class LibvmiConfigTypes implements KernelTypes {
    static final Map<String, String> KEYS = Map.of(
            "linux_tasks", "task_struct.tasks",
            "linux_name", "task_struct.comm",
            "linux_pid", "task_struct.pid",
            "linux_mm", "task_struct.mm",
            "linux_pgd", "mm_struct.pgd");
    private static final Map<String, Long> SIZES = Map.of(
            "task_struct.tasks", 16L, "task_struct.comm", 16L, "task_struct.pid", 4L,
            "task_struct.mm", 8L, "mm_struct.pgd", 8L);
    private static final Pattern ENTRY = Pattern.compile("(linux_[a-z]+)\\s*=\\s*(0[xX][0-9a-fA-F]+|[0-9]+)\\s*;");

    private final Map<String, Long> offsets;
    private final String origin;

    LibvmiConfigTypes(Map<String, Long> offsets, String origin) {
        this.offsets = offsets;
        this.origin = origin;
    }

    static LibvmiConfigTypes load(Path file) throws IOException {
        if (Files.size(file) > 1 << 20) {
            throw new IllegalArgumentException(file + ": too large for a LibVMI config");
        }
        return parse(Files.readString(file, StandardCharsets.ISO_8859_1), "LibVMI config " + file);
    }

    static LibvmiConfigTypes parse(String text, String origin) {
        Map<String, Long> offsets = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) {
            String path = KEYS.get(m.group(1));
            if (path == null) {
                continue;
            }
            String v = m.group(2);
            long value;
            try {
                value = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(origin + ": bad value for " + m.group(1) + ": " + v);
            }
            if (value < 0 || value > 1 << 20) {
                throw new IllegalArgumentException(origin + ": implausible offset " + m.group(1) + " = " + v);
            }
            offsets.put(path, value);
        }
        for (String need : new String[] {"linux_tasks", "linux_name", "linux_pid"}) {
            if (!offsets.containsKey(KEYS.get(need))) {
                throw new IllegalArgumentException(origin + ": missing " + need + " (a LibVMI config needs linux_tasks, linux_name, linux_pid)");
            }
        }
        return new LibvmiConfigTypes(offsets, origin);
    }

    @Override
    public String source() { return origin; }

    @Override
    public long sizeOf(String name) {
        throw new IllegalArgumentException("struct sizes are not in a " + origin + " (only linux_* offsets)");
    }

    @Override
    public Member member(String path) {
        Long off = offsets.get(path);
        if (off == null) {
            throw new IllegalArgumentException("'" + path + "' is not in " + origin + " (it has " + offsets.keySet() + ")");
        }
        return new Member(path, off, SIZES.get(path), 0, 0);
    }
}
