package org.xenids.cli;

import java.io.PrintWriter;
import org.xenids.xen.abi.XenAbi;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code xenids xen …}: the Xen ABI the emulator and the tap are built on. */
@Command(name = "xen", mixinStandardHelpOptions = true,
        description = "Xen hypervisor interface: struct layouts and constants.",
        subcommands = {XenCommand.Layouts.class, XenLabCommand.class})
final class XenCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a sub-command is required");
    }

    @Command(name = "layouts", mixinStandardHelpOptions = true,
            description = {"Print every Xen struct layout and constant xenids uses, as JSON.",
                "The form: {\"structs\": {NAME: {\"size\": N, \"fields\": {FIELD: OFFSET, ...}}, ...},",
                " \"field_sizes\": {NAME: {FIELD: BYTES, ...}, ...}, \"constants\": {NAME: VALUE, ...}}.",
                "Names are those of Xen's C headers (4.17, x86-64); checked against them by the tests."})
    static final class Layouts implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            PrintWriter out = spec.commandLine().getOut();
            out.print(XenAbi.toJson());
            out.flush();
        }
    }
}
