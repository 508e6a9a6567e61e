package org.xenids.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A command's files, checked before anything is read or written: no two outputs are one file
 * (the second would silently replace the first, alerts lost under a score table) and no output
 * is one of the inputs (a capture overwritten by the log of its own replay). A usage error
 * names both options.
 */
final class Outputs {
    private final CommandSpec spec;
    /** File identity → "--option path" of the first that named it. */
    private final Map<Object, String> inputs = new HashMap<>();
    private final Map<Object, String> outputs = new HashMap<>();

    Outputs(CommandSpec spec) {
        this.spec = spec;
    }

    /** Files the command reads; null entries ignored. */
    Outputs inputs(String option, Collection<Path> files) {
        if (files != null) {
            for (Path f : files) {
                input(option, f);
            }
        }
        return this;
    }

    Outputs input(String option, Path file) {
        if (file != null) {
            inputs.putIfAbsent(identity(file), option + " " + file);
        }
        return this;
    }

    /**
     * A file the command writes (null: not asked for, or standard output where the command takes
     * "-" so). Also refused, before any output is opened (so that a run failing on its second
     * output leaves no empty first one): a folder, a file that cannot be written, a path whose
     * nearest existing folder cannot be. A device (/dev/null, a terminal) may take several outputs.
     */
    Outputs output(String option, Path file) throws IOException {
        if (file == null) {
            return this;
        }
        writable(option, file);
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            return this;
        }
        Object id = identity(file);
        String in = inputs.get(id);
        if (in != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    option + " " + file + " is the input " + in + ": writing it would destroy the input");
        }
        String other = outputs.putIfAbsent(id, option + " " + file);
        if (other != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    option + " " + file + " is the same file as " + other + ": one would overwrite the other");
        }
        return this;
    }

    private static void writable(String option, Path file) throws IOException {
        Path abs = file.toAbsolutePath();
        String what = "output " + file + " (" + option + "): ";
        if (Files.isDirectory(abs)) {
            throw new IOException(what + "is a folder");
        }
        if (Files.exists(abs)) {
            if (!Files.isWritable(abs)) {
                throw new IOException(what + "permission denied");
            }
            return;
        }
        Path p = abs.getParent();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null || !Files.isDirectory(p)) {
            throw new IOException(what + "cannot create its folder: " + p + " is not a folder");
        }
        if (!Files.isWritable(p)) {
            throw new IOException(what + "folder " + p + " is not writable");
        }
    }

    /**
     * What makes two names one file: the file system's key (device and inode) when the file exists,
     * so that a hard link, a symbolic link or "./x" is the same file. A file still to be made is
     * where the system would make it: a symbolic link to it is followed, and its nearest existing
     * folder taken with its links resolved, the names below it as given. Nothing is normalised
     * before the system resolves it: "a/l/../x" with a/l a link is not "a/x".
     */
    static Object identity(Path file) {
        Path p = file.toAbsolutePath();
        try {
            for (int hops = 0; hops < 40; hops++) {
                if (Files.exists(p)) {
                    Object key = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
                    return key != null ? key : p.toRealPath();
                }
                java.util.ArrayDeque<Path> below = new java.util.ArrayDeque<>();
                Path a = p;
                while (a != null && !Files.exists(a, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    below.push(a.getFileName());
                    a = a.getParent();
                }
                if (a == null) {
                    return p;
                }
                if (Files.isSymbolicLink(a) && !Files.exists(a)) {
                    // A link to something not there yet: writing through it makes its target.
                    Path target = a.getParent().resolve(Files.readSymbolicLink(a));
                    for (Path n : below) {
                        target = target.resolve(n);
                    }
                    p = target;
                    continue;
                }
                Path base = a.toRealPath();
                for (Path n : below) {
                    base = base.resolve(n);
                }
                return base;
            }
        } catch (IOException e) {
            // fall through: the path as given
        }
        return p;
    }
}
