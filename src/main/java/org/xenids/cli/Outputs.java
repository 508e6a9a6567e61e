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
     * A file the command writes (null: not asked for; "-": standard output). Also refused, before
     * any output is opened (so that a run failing on its second output leaves no empty first one):
     * a folder, a file that cannot be written, a path whose nearest existing folder cannot be.
     */
    Outputs output(String option, Path file) throws IOException {
        if (file == null || file.toString().equals("-")) {
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
        writable(option, file);
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
     * so that a hard link, a symbolic link or "./x" is the same file; else the absolute path, its
     * folder resolved when that exists.
     */
    static Object identity(Path file) {
        try {
            if (Files.exists(file)) {
                Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
                return key != null ? key : file.toRealPath();
            }
            Path abs = file.toAbsolutePath().normalize();
            Path parent = abs.getParent();
            return parent != null && Files.isDirectory(parent) ? parent.toRealPath().resolve(abs.getFileName()) : abs;
        } catch (IOException e) {
            return file.toAbsolutePath().normalize();
        }
    }
}
