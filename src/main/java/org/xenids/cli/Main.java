package org.xenids.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The one entry point of the {@code xenids} command. Sub-commands are registered here; every
 * error reaches the user as one line on stderr with a non-zero exit, and a stack trace only
 * with {@code --debug}.
 */
@Command(name = "xenids",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Transparent intrusion detection for Xen virtual machines.",
            "Watches guests from below: network frames rebuilt from the hypervisor's grant-table and",
            "event-channel operations, and guest kernels read by virtual-machine introspection."},
        subcommands = {
            PcapCommand.class,
            VmiCommand.class,
            XenCommand.class,
            EvalCommand.class,
            ReplayCommand.class,
            TapCommand.class,
            TrainCommand.class,
            DetectCommand.class,
            DemoCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces of errors (for bug reports).")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (used by tests, too). */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError | StackOverflowError e) {
            // picocli hands only Exceptions to the handlers; these two come from input too large or
            // too deep for the heap or stack, and reach the user as one line like any other error.
            return Errors.handleError(e, cl, args);
        }
    }

    /** The command line as the launcher runs it: error handlers, enum options, help width. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Errors::handleExecution);
        cl.setParameterExceptionHandler(Errors::handleParameter);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // Command descriptions are written in lines of up to ~105 characters; at picocli's default
        // of 80 columns every one of them would break mid-sentence.
        cl.setUsageHelpWidth(110);
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"xenids " + (v == null ? "(development build)" : v),
                "Java " + Runtime.version()};
        }
    }
}
