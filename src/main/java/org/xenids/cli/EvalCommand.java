package org.xenids.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.xenids.eval.Evaluation;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xenids eval}: detector output against a labelled dataset. Reads files only. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Scores a detector's output against flow labels.",
            "Prints AUC and the detection rate at 0.01%%, 0.1%% and 1%% false-positive rate,",
            "overall and per attack type; writes the ROC curve as CSV and SVG on request.",
            "Flows without a score (e.g. scans with no payload) rank below every scored flow."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--labels", required = true, paramLabel = "CSV",
            description = "Flow labels (flow_id,proto,src_ip,src_port,dst_ip,dst_port,first_ts,last_ts,…,label,attack_type,…).")
    Path labels;

    @Option(names = "--scores", paramLabel = "CSV", description = "Flow scores written by 'xenids detect --scores' (repeatable).")
    List<Path> scores = new ArrayList<>();

    @Option(names = "--eve", paramLabel = "JSON", description = "EVE JSON logs whose alerts count (score from alert.context.score; repeatable).")
    List<Path> eve = new ArrayList<>();

    @Option(names = "--roc-csv", paramLabel = "FILE", description = "Write the ROC points (overall and per attack type) as CSV.")
    Path rocCsv;

    @Option(names = "--roc-svg", paramLabel = "FILE", description = "Write the ROC plot as SVG.")
    Path rocSvg;

    @Option(names = "--title", description = "Title of the plot (default: the labels file name).")
    String title;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (scores.isEmpty() && eve.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --scores and/or --eve");
        }
        new Outputs(spec).input("--labels", labels).inputs("--scores", scores).inputs("--eve", eve)
                .output("--roc-csv", rocCsv).output("--roc-svg", rocSvg);
        Evaluation.Result r = Evaluation.run(labels, scores, eve);
        PrintWriter out = spec.commandLine().getOut();
        r.report(out);
        if (rocCsv != null) {
            r.writeRocCsv(rocCsv);
            out.println("ROC points written to " + rocCsv);
        }
        if (rocSvg != null) {
            r.writeRocSvg(rocSvg, title != null ? title : "ROC: " + labels.getFileName());
            out.println("ROC plot written to " + rocSvg);
        }
        out.flush();
        return 0;
    }
}
