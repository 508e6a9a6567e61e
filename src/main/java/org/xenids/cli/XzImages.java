package org.xenids.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.tukaani.xz.XZInputStream;

/**
 * {@code .xz} memory images are decompressed once into a cache ({@code $XDG_CACHE_HOME/xenids/images},
 * else {@code ~/.cache/xenids/images}; override with {@code XENIDS_CACHE} or -Dxenids.cache) and memory-mapped
 * from there: an image must be random-access. The cache entry is keyed by name, size and
 * modification time of the .xz file; progress goes to stderr.
 */
final class XzImages {
    private XzImages() {}

    static Path plain(Path file) throws IOException {
        if (!file.getFileName().toString().endsWith(".xz")) {
            return file;
        }
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString());
        }
        String name = file.getFileName().toString();
        long size = Files.size(file);
        long mtime = Files.getLastModifiedTime(file).toMillis();
        Path dir = cacheDir();
        Path out = dir.resolve(name.substring(0, name.length() - 3) + "." + Long.toHexString(size) + "-" + Long.toHexString(mtime));
        if (Files.isRegularFile(out)) {
            return out;
        }
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, name, ".part");
        System.err.println("xenids: decompressing " + file + " into " + out + " (once)");
        boolean tty = System.console() != null;
        try (InputStream in = new XZInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16));
             OutputStream o = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 20];
            long done = 0;
            long next = 64L << 20;
            int n;
            while ((n = in.read(buf)) > 0) {
                o.write(buf, 0, n);
                done += n;
                if (tty && done >= next) {
                    System.err.print("\rxenids: " + (done >> 20) + " MiB");
                    next += 64L << 20;
                }
            }
            if (tty) {
                System.err.println("\rxenids: " + (done >> 20) + " MiB decompressed");
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw new IOException("cannot decompress " + file + ": " + e.getMessage(), e);
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return out;
    }

    static Path cacheDir() {
        String env = System.getProperty("xenids.cache", System.getenv("XENIDS_CACHE"));
        if (env != null && !env.isBlank()) {
            return Path.of(env, "images");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("xenids").resolve("images");
    }
}
