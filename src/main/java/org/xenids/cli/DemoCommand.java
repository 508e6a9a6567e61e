package org.xenids.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.xenids.alert.EveEvent;
import org.xenids.alert.EveWriter;
import org.xenids.detect.payl.PaylModels;
import org.xenids.detect.payl.PaylSettings;
import org.xenids.eval.Evaluation;
import org.xenids.eval.ScoresCsv;
import org.xenids.flow.FlowConfig;
import org.xenids.io.Printable;
import org.xenids.vmi.linux.CrossView;
import org.xenids.vmi.linux.KernelLocator;
import org.xenids.vmi.linux.KernelTypes;
import org.xenids.vmi.linux.LinuxGuest;
import org.xenids.vmi.linux.LinuxKernel;
import org.xenids.vmi.linux.Task;
import org.xenids.vmi.memory.MemorySources;
import org.xenids.vmi.memory.PhysicalMemory;
import org.xenids.xen.emu.Topology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code xenids demo}: the main job on the embedded default, with nothing but the project. An
 * emulated Xen host runs the six guests of a bundled slice of real captures; the tap rebuilds
 * their frames from hypercalls; PAYL is trained on the benign part and watches the test part;
 * the alerts are scored against the labels. Then a bundled guest's memory is introspected.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run xenids end to end on its embedded default (an emulated Xen host, real traffic).",
            "The emulated host's six guests (web server, web shop, ssh, redis, dns, an inventory service)",
            "replay a bundled slice of real captures; the hypervisor-level tap rebuilds every frame;",
            "payload models are trained per VM image on the benign part and watch the test part (real",
            "attacks by nmap, sqlmap, hydra, hping3 and hand-made exploits); the result is scored against",
            "the labels. Then the memory of a bundled Linux guest is introspected: its process list and",
            "any hidden process. Writes eve.json, scores.csv, roc.csv, roc.svg and the models into the",
            "output folder."})
final class DemoCommand implements Callable<Integer> {
    private static final String RES = "/org/xenids/demo/";
    /** The dev captures' servers and the VM images they run (traffic/dev README). */
    private static final Map<String, String> IMAGES = new LinkedHashMap<>();

    static {
        IMAGES.put("10.0.0.11/32", "web-nginx");
        IMAGES.put("10.0.0.12/32", "shop-app");
        IMAGES.put("10.0.0.13/32", "ssh-server");
        IMAGES.put("10.0.0.14/32", "redis");
        IMAGES.put("10.0.0.15/32", "dns");
        IMAGES.put("10.0.0.16/32", "inventory");
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "xenids-demo",
            description = "Folder for the outputs (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--no-host", description = "Skip the introspection part.")
    boolean noHost;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        Files.createDirectories(out.resolve("input"));
        Path train = extract("demo-train.pcap.xz");
        Path test = extract("demo-test.pcap.xz");
        Path labels = extract("demo-test.csv");
        Topology t = Topology.fromCaptures(List.of(train, test), List.copyOf(IMAGES.keySet()), IMAGES);

        o.println("== network: an emulated Xen host, watched from the hypervisor ==");
        for (Topology.Guest g : t.guests()) {
            o.printf("  dom%d %-10s image %-11s vif0 %s %s%n", g.domid(), g.name(), g.image(),
                    g.vifs().get(0).mac(), g.vifs().get(0).ips());
        }
        o.flush();
        PaylRun.Trained tr = PaylRun.train(t, List.of(train), PaylSettings.defaults(), false,
                FlowConfig.UrgentPolicy.OUT_OF_BAND, err);
        Path models = out.resolve("models");
        Files.createDirectories(models);
        tr.models().save(models.resolve(PaylRun.MODEL_FILE));
        tr.run().print(o, "  train (benign)");
        o.printf("  %d PAYL models from %,d payloads (%,d held out to calibrate thresholds at 0.1%% false positives)%n",
                tr.models().models().size(), tr.trainer().trainedSamples(), tr.trainer().heldOutSamples());
        PaylRun.print(tr.doubts(), o, "  ", "trained");
        PaylRun.printUnmonitored(o, "  ", tr.unmonitoredFlows(), tr.unmonitoredBytes(), "trained on");
        o.flush();

        Path eve = out.resolve("eve.json");
        Path scores = out.resolve("scores.csv");
        try (EveWriter w = EveWriter.open(eve)) {
            PaylRun.Detected d;
            try (ScoresCsv s = ScoresCsv.create(scores)) {
                d = PaylRun.detect(t, List.of(test), PaylModels.load(models.resolve(PaylRun.MODEL_FILE)), false,
                        FlowConfig.UrgentPolicy.OUT_OF_BAND, w, s, err);
            }
            if (d.run().broken() != null) {
                throw d.run().broken(); // the bundled capture is damaged: nothing to score it against
            }
            d.run().print(o, "  watch (test)");
            PaylRun.print(d.doubts(), o, "  ", "scored");
            PaylRun.printUnmonitored(o, "  ", d.unmonitoredFlows(), d.unmonitoredBytes(), "scored");
            o.printf("  %,d flow directions scored, %,d alerts, by VM image and signature:%n", d.scoredDirections(), d.alerts());
            d.alertsByImage().forEach((k, v) -> o.printf("  %6d  %s%n", v, k));
            Evaluation.Result r = Evaluation.run(labels, List.of(scores), List.of());
            r.writeRocCsv(out.resolve("roc.csv"));
            r.writeRocSvg(out.resolve("roc.svg"), "PAYL on the demo slice (frames rebuilt by the tap)");
            o.println("  against the labels (a flow is alerted when a direction scores above its model's threshold):");
            o.printf(Locale.ROOT, "  %-24s %6s %7s %9s %8s%n", "flows", "count", "scored", "AUC(sc)", "alerted");
            o.printf(Locale.ROOT, "  %-24s %6d %7d %9s %7.1f%%%n", "benign", r.overall().negatives(), r.scored("benign"),
                    "", 100 * r.alertedShare("benign"));
            for (var e : r.byType().entrySet()) {
                o.printf(Locale.ROOT, "  %-24s %6d %7d %9.3f %7.1f%%%n", e.getKey(), e.getValue().positives(),
                        r.scored(e.getKey()), r.scoredOnlyAuc(e.getKey()), 100 * r.alertedShare(e.getKey()));
            }
            o.println("  AUC(sc): attack against benign flows among those with payload. Scans and floods carry no");
            o.println("  payload: byte frequencies cannot see them (flow records and signatures must).");
            o.flush();
            if (!noHost) {
                host(o, w);
            }
            w.write(d.run().stats().alerts(w.alertsWritten()).event()); // the network run's counts, last
        }
        o.printf("outputs in %s: eve.json, scores.csv, roc.csv, roc.svg, models/%s  (%.0f s)%n", out.toAbsolutePath(),
                PaylRun.MODEL_FILE, (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }

    /** Introspects the bundled guest: kernel, process table, hidden processes (alerts into the same EVE log). */
    private void host(PrintWriter o, EveWriter eve) throws IOException {
        o.println();
        o.println("== host: introspecting a bundled Linux guest's memory (no symbols, no offsets given) ==");
        Path image = XzImages.plain(extract("guest.core.xz"));
        try (PhysicalMemory pm = MemorySources.open(image)) {
            LinuxKernel k = KernelLocator.locate(pm);
            KernelTypes types = LinuxGuest.btfFromMemory(pm, k);
            LinuxGuest g = LinuxGuest.open(pm, k.kernel(), k.symbols(), types);
            o.printf("  %s%n  KASLR slide 0x%x, phys_base 0x%x, kernel page tables at 0x%x; symbols: %s; layouts: %s%n",
                    Printable.ascii(k.banner().strip()), k.virtualSlide(), k.physBase(), k.pageTableRoot(), k.symbols().source(),
                    types.source());
            List<Task> tasks = g.processes(false).tasks();
            o.printf("  %d processes:%n", tasks.size());
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < tasks.size(); i++) {
                Task tk = tasks.get(i);
                line.append(String.format("  [%5d] %-16s", tk.pid(), Printable.ascii(tk.comm())));
                if (i % 4 == 3 || i == tasks.size() - 1) {
                    o.println(line);
                    line.setLength(0);
                }
            }
            CrossView cv = g.crossView();
            List<CrossView.Row> hidden = cv.hidden();
            if (hidden.isEmpty()) {
                o.printf("  cross-view (%s): no hidden process%n", String.join(", ", cv.views()));
            } else {
                for (CrossView.Row h : hidden) {
                    o.printf("  HIDDEN [%5d] %s (task 0x%x) seen by %s%n", h.task().pid(), Printable.ascii(h.task().comm()),
                            h.task().address(), h.seenBy());
                }
            }
            for (EveEvent e : cv.events(System.currentTimeMillis() * 1_000_000L, "demo-guest")) {
                eve.write(e);
            }
        }
    }

    /** Copies a bundled file into DIR/input (replaced each run). */
    private Path extract(String name) throws IOException {
        Path dst = out.resolve("input").resolve(name);
        try (InputStream in = DemoCommand.class.getResourceAsStream(RES + name)) {
            if (in == null) {
                throw new IOException("bundled demo file " + name + " is missing from the build");
            }
            Files.copy(in, dst, StandardCopyOption.REPLACE_EXISTING);
        }
        return dst;
    }
}
