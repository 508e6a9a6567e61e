package org.xenids.cli;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import org.tukaani.xz.XZFormatException;
import org.tukaani.xz.XZIOException;
import org.tukaani.xz.XZInputStream;

/**
 * {@code .xz} memory images are decompressed once into a cache ({@code $XDG_CACHE_HOME/xenids/images},
 * else {@code ~/.cache/xenids/images}; override with {@code XENIDS_CACHE} or -Dxenids.cache) and memory-mapped
 * from there: an image must be random-access. Progress goes to stderr.
 *
 * <p>An entry is keyed by the .xz file's name and a SHA-256 of its bytes, not by its modification
 * time: a copy, or the demo's fresh extraction of the same image, finds the entry it made before.
 * Using an entry marks it recently used; after a new entry is written, the least recently used
 * others go until at most {@link #MAX_ENTRIES} remain and together they take at most
 * {@link #MAX_BYTES} (the one just written always stays), so the cache never grows with use.
 */
final class XzImages {
    static final int MAX_ENTRIES = 8;
    static final long MAX_BYTES = 16L << 30;
    /** A partial file older than this is left by a run that was killed (a live one writes on). */
    private static final long STALE_PART_MILLIS = 60 * 60 * 1000L;
    private static final String PART = ".part";
    /** XZ for Java's message for corrupt compressed data, which says nothing more. */
    private static final String CORRUPT = "Compressed data is corrupt";

    private XzImages() {}

    static Path plain(Path file) throws IOException {
        if (!file.getFileName().toString().endsWith(".xz")) {
            return file;
        }
        if (Files.isDirectory(file)) {
            throw new IOException("memory image " + file + " is a directory");
        }
        if (!Files.exists(file)) {
            throw new IOException("memory image " + file + ": no such file");
        }
        String name = file.getFileName().toString();
        Path dir = cacheDir();
        String digest;
        try {
            digest = digest(file);
        } catch (IOException e) {
            throw new IOException("memory image " + file + ": " + reason(e, file), e);
        }
        Path out = dir.resolve(name.substring(0, name.length() - 3) + "." + digest);
        if (Files.isRegularFile(out)) {
            touch(out);
            return out;
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create the image cache folder " + dir + " (" + reason(e, dir)
                    + "); set XENIDS_CACHE to a folder that can be written", e);
        }
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, name, PART);
        } catch (IOException e) {
            throw new IOException("cannot write in the image cache folder " + dir + " (" + reason(e, dir)
                    + "); set XENIDS_CACHE to a folder that can be written", e);
        }
        System.err.println("xenids: decompressing " + file + " into " + out + " (once)");
        try {
            decompress(file, tmp);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        evict(dir, out, MAX_ENTRIES, MAX_BYTES);
        return out;
    }

    /** Decompresses {@code file} into {@code tmp}; errors name the image or the cache file, and say what went wrong. */
    private static void decompress(Path file, Path tmp) throws IOException {
        boolean tty = System.console() != null;
        long done = 0;
        OutputStream o;
        try {
            o = Files.newOutputStream(tmp);
        } catch (IOException e) {
            throw new IOException("image cache: cannot write " + tmp + " (" + reason(e, tmp) + ")", e);
        }
        try (OutputStream closeLast = o; InputStream raw = Files.newInputStream(file)) {
            InputStream in = new XZInputStream(new java.io.BufferedInputStream(raw, 1 << 16));
            byte[] buf = new byte[1 << 20];
            long next = 64L << 20;
            for (int n; (n = in.read(buf)) > 0; ) {
                try {
                    o.write(buf, 0, n);
                } catch (IOException e) {
                    throw new CacheWriteException("image cache: cannot write " + tmp + " (" + reason(e, tmp) + ")", e);
                }
                done += n;
                if (tty && done >= next) {
                    System.err.print("\rxenids: " + (done >> 20) + " MiB");
                    next += 64L << 20;
                }
            }
            if (tty) {
                System.err.println("\rxenids: " + (done >> 20) + " MiB decompressed");
            }
        } catch (CacheWriteException e) {
            throw e;
        } catch (IOException e) {
            if (tty && done >= 64L << 20) {
                System.err.println();
            }
            String why = e instanceof EOFException ? "the xz stream is truncated (it ends after " + (done >> 20)
                    + " MiB decompressed)"
                    : e instanceof XZFormatException ? "not an xz stream"
                    : e instanceof org.tukaani.xz.UnsupportedOptionsException ? "the xz stream uses options this reader does not"
                            + " support (" + reason(e, file) + ")"
                    : e instanceof XZIOException ? "the xz stream is corrupt"
                            + (CORRUPT.equals(e.getMessage()) ? "" : " (" + reason(e, file) + ")")
                    : reason(e, file);
            throw new IOException("memory image " + file + ": " + why, e);
        }
    }

    /** A write to the cache failed: named as such, not as a fault of the image. */
    private static final class CacheWriteException extends IOException {
        CacheWriteException(String message, IOException cause) {
            super(message, cause);
        }
    }

    /**
     * Why an I/O operation on {@code subject} failed, in words and without a class name ("no such
     * file", "permission denied", ...), preceded by the path it failed on when that is another one.
     */
    static String reason(IOException e, Path subject) {
        String why;
        if (e instanceof NoSuchFileException) {
            why = "no such file";
        } else if (e instanceof AccessDeniedException) {
            why = "permission denied";
        } else if (e instanceof FileSystemException f && f.getReason() != null) {
            why = f.getReason().strip();
            if (why.length() > 1 && Character.isUpperCase(why.charAt(0)) && Character.isLowerCase(why.charAt(1))) {
                why = Character.toLowerCase(why.charAt(0)) + why.substring(1); // the OS's "Not a directory"
            }
        } else {
            String m = e.getMessage();
            return m == null || m.isBlank() ? e.getClass().getSimpleName().replaceAll("Exception$", "") : m.strip();
        }
        String at = ((FileSystemException) e).getFile();
        return at == null || at.equals(subject.toString()) ? why : at + ": " + why;
    }

    /** 128 bits of the SHA-256 of the file's bytes, in hex. */
    private static String digest(Path file) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 16);
    }

    private static void touch(Path entry) {
        try {
            Files.setLastModifiedTime(entry, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // A read-only cache still serves; its order of use is only lost.
        }
    }

    /**
     * Deletes the least recently used entries but {@code keep} while there are more than
     * {@code maxEntries} or they take more than {@code maxBytes}, and partial files of killed runs. An entry another run has mapped stays readable by it (Linux keeps a deleted file's
     * pages until they are unmapped).
     */
    static void evict(Path dir, Path keep, int maxEntries, long maxBytes) throws IOException {
        record Entry(Path path, long size, long used) {}
        List<Entry> entries = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (!Files.isRegularFile(p)) {
                    continue;
                }
                long used = Files.getLastModifiedTime(p).toMillis();
                if (p.getFileName().toString().endsWith(PART)) {
                    if (now - used > STALE_PART_MILLIS) {
                        Files.deleteIfExists(p);
                    }
                } else if (!p.equals(keep)) {
                    entries.add(new Entry(p, Files.size(p), used));
                }
            }
        }
        entries.sort(Comparator.comparingLong(Entry::used).reversed());
        long total = Files.size(keep);
        int count = 1;
        int removed = 0;
        long freed = 0;
        for (Entry e : entries) {
            if (count + 1 > maxEntries || total + e.size() > maxBytes) {
                Files.deleteIfExists(e.path());
                removed++;
                freed += e.size();
            } else {
                count++;
                total += e.size();
            }
        }
        if (removed > 0) {
            System.err.printf("xenids: image cache %s: removed the %d least recently used image(s), %d MiB%n",
                    dir, removed, freed >> 20);
        }
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
