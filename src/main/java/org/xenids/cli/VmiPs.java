package org.xenids.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.xenids.io.Printable;
import org.xenids.vmi.linux.Anomaly;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.Task;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code xenids vmi ps}: the kernel's task list, as LibVMI's vmi-process-list prints it. */
@Command(name = "ps", mixinStandardHelpOptions = true,
        description = {"List the processes on the guest kernel's task list (init_task.tasks), in list order.",
            "Lines as LibVMI's vmi-process-list: [  pid] comm (struct addr:…). Walk anomalies (cycles,",
            "torn links, faults) go to stderr and make the exit status 1."})
final class VmiPs implements Callable<Integer> {
    @Mixin
    VmiCommand.Source source = new VmiCommand.Source();

    @Option(names = "--json", description = "One JSON object: tasks with pid, tgid, ppid, uid, comm, kernel_thread, start_time_ns, address.")
    boolean json;

    @Option(names = "--threads", description = "Also list every thread (from signal->thread_head).")
    boolean threads;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        VmiCommand.Source.Opened o = source.open(spec.commandLine());
        LinuxGuest.ProcessList list = o.guest().processes(threads);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("memory", o.memory().describe());
            root.put("kernel", o.kernel().banner());
            root.put("types", o.types().source());
            List<Map<String, Object>> tasks = new ArrayList<>();
            for (Task t : list.tasks()) {
                tasks.add(taskJson(t));
            }
            root.put("tasks", tasks);
            root.put("anomalies", list.anomalies().stream().map(VmiPs::anomalyJson).toList());
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
        } else {
            out.println("Process listing for file " + source.memory.getFileName());
            for (Task t : list.tasks()) {
                out.printf("[%5d] %s (struct addr:%x)%n", t.pid(), Printable.ascii(t.comm()), t.address());
            }
        }
        out.flush();
        for (Anomaly a : list.anomalies()) {
            spec.commandLine().getErr().println("xenids: anomaly: " + a);
        }
        return list.anomalies().isEmpty() ? 0 : 1;
    }

    static Map<String, Object> taskJson(Task t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", t.pid());
        m.put("tgid", t.tgid());
        m.put("ppid", t.ppid());
        m.put("uid", t.uid());
        m.put("comm", t.comm());
        m.put("kernel_thread", t.kernelThread());
        m.put("start_time_ns", t.startTimeNs());
        m.put("address", String.format("0x%016x", t.address()));
        return m;
    }

    static Map<String, Object> anomalyJson(Anomaly a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("view", a.view());
        m.put("kind", a.kind());
        m.put("address", String.format("0x%016x", a.address()));
        m.put("message", a.message());
        return m;
    }
}
