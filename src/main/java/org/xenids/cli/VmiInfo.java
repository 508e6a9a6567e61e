package org.xenids.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.xenids.io.Printable;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.memory.PhysicalMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code xenids vmi info}: what was found about the guest kernel, and where from. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"What was found about the guest kernel, and where from.",
            "Kernel version, KASLR slide, phys_base, page-table root (DTB), direct map, and the sources",
            "of symbols and struct layouts."})
final class VmiInfo implements Callable<Integer> {
    @Mixin
    VmiCommand.Source source = new VmiCommand.Source();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        VmiCommand.Source.Opened o = source.open(spec.commandLine());
        LinuxKernel k = o.kernel();
        PrintWriter out = spec.commandLine().getOut();
        out.println("memory:          " + o.memory().describe());
        long ram = 0;
        for (PhysicalMemory.Range r : o.memory().ranges()) {
            ram += r.length();
        }
        out.printf("RAM:             %d MiB in %d ranges%n", ram >> 20, o.memory().ranges().size());
        out.println("kernel:          " + Printable.ascii(k.banner()));
        out.printf("_text:           virtual 0x%016x, physical 0x%x; image mapped: %d MiB%n",
                k.textVirtual(), k.textPhysical(), k.imageSize() >> 20);
        out.printf("KASLR slide:     0x%x%n", k.virtualSlide());
        out.printf("phys_base:       0x%x%n", k.physBase());
        out.printf("DTB:             0x%x (init_top_pgt, %s paging)%n", k.pageTableRoot(), k.fiveLevel() ? "5-level" : "4-level");
        out.printf("direct map:      0x%016x%n", k.pageOffsetBase());
        out.println("symbols:         " + k.symbols().source());
        out.println("struct layouts:  " + o.types().source());
        String size;
        try {
            size = o.types().sizeOf("task_struct") + " bytes";
        } catch (IllegalArgumentException e) {
            size = "size unknown";
        }
        out.printf("task_struct:     %s, tasks at +%d, comm at +%d%n", size,
                o.types().offset("task_struct.tasks"), o.types().offset("task_struct.comm"));
        out.flush();
        return 0;
    }
}
