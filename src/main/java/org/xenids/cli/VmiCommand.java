package org.xenids.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.KernelTypes;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xenids vmi …}: a Linux guest's kernel read from its physical memory. */
@Command(name = "vmi", mixinStandardHelpOptions = true,
        description = {"Introspect a Linux guest from its physical memory: processes, hidden processes, kernel facts.",
            "The memory is a raw image, a QEMU ELF core, a LiME file or a running QEMU guest's RAM file.",
            "Only the memory is needed: the kernel, KASLR, symbols (kallsyms) and struct layouts (BTF)",
            "are found in it. .xz images are decompressed once into a cache (~/.cache/xenids/images)."},
        subcommands = {VmiPs.class, VmiPsxview.class, VmiInfo.class, VmiWatch.class})
final class VmiCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a sub-command is required (ps, psxview, info, watch)");
    }

    /** The options every vmi sub-command shares. */
    static final class Source {
        @Option(names = {"-m", "--memory"}, required = true, paramLabel = "IMG",
                description = "Guest physical memory: raw, QEMU ELF core, LiME (optionally .xz), or with --live a QEMU RAM file.")
        Path memory;

        @Option(names = "--live", description = "IMG is a running QEMU guest's memory-backend-file (contents change while read).")
        boolean live;

        @Option(names = "--machine", defaultValue = "pc", paramLabel = "pc|q35",
                description = "QEMU machine type of a --live guest (where RAM above the PCI hole lies); only with --live. Default: ${DEFAULT-VALUE}.")
        MemorySources.Machine machine;

        @Option(names = "--symbols", paramLabel = "FILE",
                description = "System.map or /proc/kallsyms of the guest kernel (default: the kernel's own kallsyms in memory).")
        Path symbols;

        @Option(names = "--btf", paramLabel = "FILE",
                description = "Struct layouts from BTF: /sys/kernel/btf/vmlinux or a vmlinux ELF (default: the BTF in guest memory).")
        Path btf;

        @Option(names = "--isf", paramLabel = "FILE", description = "Struct layouts from a Volatility 3 ISF JSON file (optionally .xz).")
        Path isf;

        @Option(names = "--libvmi-config", paramLabel = "FILE",
                description = "Offsets from a LibVMI config (linux_tasks, linux_name, linux_pid, linux_mm): task list only.")
        Path libvmiConfig;

        /** The command's files, its inputs these options' (for {@link Outputs#output} checks of its outputs). */
        Outputs outputs(picocli.CommandLine.Model.CommandSpec spec) {
            return new Outputs(spec).input("--memory", memory).input("--symbols", symbols).input("--btf", btf)
                    .input("--isf", isf).input("--libvmi-config", libvmiConfig);
        }

        /** Everything opened, with where each part came from. */
        record Opened(PhysicalMemory memory, LinuxKernel kernel, KernelTypes types, LinuxGuest guest) {}

        Opened open(picocli.CommandLine cl) throws IOException {
            int layouts = (btf != null ? 1 : 0) + (isf != null ? 1 : 0) + (libvmiConfig != null ? 1 : 0);
            if (layouts > 1) {
                throw new picocli.CommandLine.ParameterException(cl, "give at most one of --btf, --isf, --libvmi-config");
            }
            if (!live && cl.getParseResult() != null && cl.getParseResult().hasMatchedOption("--machine")) {
                // An image file's layout is its own (file offsets, ELF or LiME headers): the option would do nothing.
                throw new picocli.CommandLine.ParameterException(cl, "--machine applies only to a --live guest's RAM file");
            }
            // The files beside the memory are looked for first: opening the memory can take a while.
            present(symbols, "symbol file");
            present(btf, "BTF file");
            present(isf, "ISF file");
            present(libvmiConfig, "LibVMI config");
            Path file = live ? memory : XzImages.plain(memory);
            PhysicalMemory pm = live ? MemorySources.openLive(file, machine) : MemorySources.open(file);
            LinuxKernel k = KernelLocator.locate(pm, symbols);
            KernelTypes types;
            if (btf != null) {
                types = KernelTypes.fromBtf(btf);
            } else if (isf != null) {
                types = KernelTypes.fromIsf(isf);
            } else if (libvmiConfig != null) {
                types = KernelTypes.fromLibvmiConfig(libvmiConfig);
            } else {
                types = LinuxGuest.btfFromMemory(pm, k);
            }
            return new Opened(pm, k, types, LinuxGuest.open(pm, k.kernel(), k.symbols(), types));
        }

        /** A missing {@code file} (when given) as an error naming it as {@code what}. */
        private static void present(Path file, String what) throws IOException {
            if (file != null && !java.nio.file.Files.exists(file)) {
                throw new IOException(what + " " + file + ": no such file");
            }
        }
    }
}
