package org.xenids.cli;

import java.util.Arrays;
import org.xenids.io.Printable;
import picocli.CommandLine;

/** Turns exceptions into the one-line errors users see (stack traces only with --debug). */
final class Errors {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    private Errors() {}

    static int handleExecution(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = isDebug(parsed);
        cl.getErr().println("xenids: " + oneLine(ex));
        if (debug) {
            ex.printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return EXIT_FAILURE;
    }

    static int handleParameter(CommandLine.ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        String msg = oneLine(ex).replace("option option '", "option '"); // picocli's wording for a map option
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !cl.getSubcommands().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")
                && cl.getCommandSpec().positionalParameters().isEmpty()) {
            msg = "unknown command '" + Printable.controlsEscaped(u.getUnmatched().get(0)) + "'";
        }
        cl.getErr().println("xenids: " + msg + " (see '" + cl.getCommandSpec().qualifiedName() + " --help')");
        if (Arrays.asList(args).contains("--debug")) {
            ex.printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return EXIT_USAGE;
    }

    static int handleError(Error e, CommandLine cl, String[] args) {
        cl.getErr().println("xenids: " + oneLine(e));
        if (Arrays.asList(args).contains("--debug")) {
            e.printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return EXIT_FAILURE;
    }

    /** The message of the exception (or its first cause that has one), flattened to one line. */
    static String oneLine(Throwable ex) {
        Throwable t = ex;
        // An I/O failure carried through a lambda: its message is the wrapped exception's toString().
        while (t instanceof java.io.UncheckedIOException && t.getCause() != null && t.getCause().getMessage() != null
                && t.getMessage() != null && t.getMessage().endsWith(t.getCause().getMessage())) {
            t = t.getCause();
        }
        while (t != null && (t.getMessage() == null || t.getMessage().isBlank()) && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t == null || t.getMessage() == null ? ex.getClass().getSimpleName() : t.getMessage();
        if (t instanceof java.nio.file.NoSuchFileException) {
            msg = msg + ": no such file";
        } else if (t instanceof java.nio.file.AccessDeniedException) {
            msg = msg + ": permission denied";
        } else if (t instanceof java.nio.file.FileAlreadyExistsException f && f.getReason() == null) {
            // Files.createDirectories throws it, with the path alone, when the path is a file.
            msg = msg + (f.getFile() != null && java.nio.file.Files.isRegularFile(java.nio.file.Path.of(f.getFile()))
                    ? ": exists and is not a directory" : ": already exists");
        } else if (t instanceof java.nio.file.NotDirectoryException) {
            msg = msg + ": not a directory";
        } else if (t instanceof OutOfMemoryError) {
            msg = "out of memory (" + msg + "); raise the heap with XENIDS_JAVA_OPTS=-Xmx…";
        } else if (t instanceof StackOverflowError) {
            msg = "stack overflow; raise the stack with XENIDS_JAVA_OPTS=-Xss…";
        }
        return Printable.controlsEscaped(msg.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip());
    }

    private static boolean isDebug(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--debug")) {
                return true;
            }
        }
        return false;
    }
}
