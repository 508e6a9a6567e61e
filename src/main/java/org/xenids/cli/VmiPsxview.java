package org.xenids.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.io.Printable;
import org.xenids.vmi.linux.Anomaly;
import org.xenids.vmi.linux.CrossView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code xenids vmi psxview}: processes as four kernel structures see them; hidden ones marked. */
@Command(name = "psxview", mixinStandardHelpOptions = true,
        description = {"Cross-view process check: processes hidden from the task list (DKOM).",
            "Views: the task list, the pid IDR (what the guest's own ps shows), the parent/children",
            "tree and a physical scan for task_structs. One row per task_struct,",
            "one column per view. A live task missing from the task list but seen by another view is",
            "HIDDEN (DKOM). Exit status 0 also when hidden processes are found (see --eve)."})
final class VmiPsxview implements Callable<Integer> {
    @Mixin
    VmiCommand.Source source = new VmiCommand.Source();

    @Option(names = "--eve", paramLabel = "OUT", description = "Write an EVE JSON alert per hidden process (and walk anomalies) to OUT.")
    Path eve;

    @Option(names = "--json", description = "The table as JSON.")
    boolean json;

    @Option(names = "--all", description = "Also show rows that are not processes (exited, idle, stale copies).")
    boolean all;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        source.outputs(spec).output("--eve", eve);
        VmiCommand.Source.Opened o = source.open(spec.commandLine());
        CrossView cv = o.guest().crossView();
        PrintWriter out = spec.commandLine().getOut();
        List<CrossView.Row> rows = cv.rows().stream().filter(r -> all
                || r.status() == CrossView.Status.LISTED || r.status() == CrossView.Status.HIDDEN).toList();
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("memory", o.memory().describe());
            root.put("views", cv.views());
            root.put("unavailable", cv.unavailable());
            List<Map<String, Object>> list = new ArrayList<>();
            for (CrossView.Row r : rows) {
                Map<String, Object> m = VmiPs.taskJson(r.task());
                m.put("seen_by", List.copyOf(r.seenBy()));
                m.put("status", r.status().name().toLowerCase(java.util.Locale.ROOT));
                list.add(m);
            }
            root.put("rows", list);
            root.put("hidden", cv.hidden().size());
            Map<String, Object> counts = new LinkedHashMap<>();
            counts.put("scan_candidates", cv.counts().scanCandidates());
            counts.put("scan_exited", cv.counts().scanExited());
            counts.put("scan_rejected", cv.counts().scanRejected());
            counts.put("scan_past_limit", cv.counts().scanPastLimit());
            counts.put("pids_without_task", cv.counts().pidsWithoutTask());
            root.put("counts", counts);
            root.put("anomalies", cv.anomalies().stream().map(VmiPs::anomalyJson).toList());
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
        } else {
            StringBuilder h = new StringBuilder(String.format("%7s %7s %-16s %-18s", "PID", "PPID", "COMM", "TASK"));
            for (String v : cv.views()) {
                h.append(' ').append(v);
            }
            out.println(h.append("  STATUS"));
            for (CrossView.Row r : rows) {
                StringBuilder b = new StringBuilder(String.format("%7d %7d %-16s 0x%016x", r.task().pid(), r.task().ppid(),
                        Printable.ascii(r.task().comm()), r.task().address()));
                for (String v : cv.views()) {
                    String mark = r.seenBy().contains(v) ? "yes" : "-";
                    b.append(' ').append(String.format("%-" + v.length() + "s", mark));
                }
                b.append("  ").append(r.hidden() ? "HIDDEN" : r.status().name().toLowerCase(java.util.Locale.ROOT));
                out.println(b);
            }
            // Candidates past the limit only when there are some: the scan then also reports a limit anomaly.
            out.printf("%d processes, %d hidden; scan: %d candidates, %d exited, %d rejected%s; pid IDR: %d pids without a task%n",
                    rows.stream().filter(r -> r.status() == CrossView.Status.LISTED).count(), cv.hidden().size(),
                    cv.counts().scanCandidates(), cv.counts().scanExited(), cv.counts().scanRejected(),
                    cv.counts().scanPastLimit() == 0 ? "" : ", " + cv.counts().scanPastLimit() + " past the task limit (not checked)",
                    cv.counts().pidsWithoutTask());
            cv.unavailable().forEach((v, why) -> out.println("view " + v + " unavailable: " + why));
        }
        out.flush();
        for (Anomaly a : cv.anomalies()) {
            spec.commandLine().getErr().println("xenids: anomaly: " + a);
        }
        if (eve != null) {
            long now = System.currentTimeMillis() * 1_000_000L;
            try (EveWriter w = EveWriter.open(eve)) {
                for (EveEvent e : cv.events(now, source.memory.getFileName().toString())) {
                    w.write(e);
                }
            }
        }
        return 0;
    }
}
