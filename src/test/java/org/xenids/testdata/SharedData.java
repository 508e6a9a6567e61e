package org.xenids.testdata;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.tukaani.xz.XZInputStream;

/**
 * The real captures, memory images and Xen records in {@code ../shared/data} (system property
 * {@code xenids.data}, set by the build). {@code .xz} files are decompressed once into
 * {@code target/shared-data/} and reused by later tests and runs.
 */
public final class SharedData {
    private SharedData() {}

    /** The data root; fails (not skips) when missing: CI always has it beside the clone. */
    public static Path root() {
        String p = System.getProperty("xenids.data", "../shared/data");
        Path root = Path.of(p).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("shared test data not found at " + root
                    + " (set -Dxenids.data=DIR)");
        }
        return root;
    }

    /** A file under the data root, as it is (may be .xz). */
    public static Path file(String relative) {
        Path f = root().resolve(relative);
        if (!Files.isRegularFile(f)) {
            throw new IllegalStateException("shared test data file missing: " + f);
        }
        return f;
    }

    /**
     * The decompressed form of {@code relative} ("traffic/dev/train/train_benign.pcap.xz" →
     * a cached ".pcap"); a file without ".xz" is returned as it is.
     */
    public static synchronized Path plain(String relative) {
        Path src = file(relative);
        if (!relative.endsWith(".xz")) {
            return src;
        }
        Path out = Path.of("target", "shared-data", relative.substring(0, relative.length() - 3))
                .toAbsolutePath();
        try {
            if (Files.isRegularFile(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(src)) >= 0) {
                return out;
            }
            Files.createDirectories(out.getParent());
            Path tmp = Files.createTempFile(out.getParent(), out.getFileName().toString(), ".part");
            try (InputStream in = new XZInputStream(new java.io.BufferedInputStream(Files.newInputStream(src), 1 << 16))) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decompress " + src, e);
        }
    }
}
