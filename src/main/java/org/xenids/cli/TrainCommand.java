package org.xenids.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.xenids.detect.payl.PaylModels;
import org.xenids.detect.payl.PaylSettings;
import org.xenids.xen.emu.Topology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code xenids train}: PAYL models per VM image from benign traffic seen by the tap. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train payload byte-frequency models (PAYL) per VM image on benign traffic.",
            "The captures drive an emulated Xen host; the tap rebuilds each guest's frames from the",
            "hypercalls, and every TCP stream direction (and UDP payload) of a guest is added to the model",
            "of (VM image, direction, service port, payload length). Thresholds are calibrated on a",
            "held-out share of the same traffic. Writes DIR/" + PaylRun.MODEL_FILE + "."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    GuestOptions guests;

    @Option(names = "--pcap", paramLabel = "FILE", required = true, split = ",",
            description = "Benign capture(s) (pcap/pcapng, plain or .xz; merged by timestamp; each file once).")
    List<Path> pcaps;

    @Option(names = "--models", paramLabel = "DIR", required = true, description = "Folder to write the models into.")
    Path models;

    @Mixin
    PaylOptions payl;

    @Mixin
    UrgentOption urgent;

    @Override
    public Integer call() throws Exception {
        // Settings and the output folder are checked before the captures are read, not after training.
        PaylSettings settings = payl.settings();
        new Outputs(spec).inputs("--pcap", pcaps).input("--topology", guests.topology)
                .output("--models", models.resolve(PaylRun.MODEL_FILE));
        boolean created = !Files.isDirectory(models);
        Files.createDirectories(models);
        Path file = models.resolve(PaylRun.MODEL_FILE);
        PaylRun.Trained tr;
        try {
            Topology t = guests.topology(pcaps);
            tr = PaylRun.train(t, pcaps, settings, payl.perPacket, urgent.policy, spec.commandLine().getErr());
            if (tr.models().models().isEmpty()) {
                // Models that score nothing would make every later detect silent: refused, not written
                // (what the captures gave is printed first, to see why).
                PrintWriter out = spec.commandLine().getOut();
                tr.printRun(out, "", "train");
                out.flush();
                throw new java.io.IOException(String.format(java.util.Locale.ROOT, "no model trained: the guests'"
                        + " traffic gave %,d payloads, fewer than %d for any VM image, direction and port; give"
                        + " more benign traffic, or check --guests/--topology", tr.trainer().trainedSamples()
                        + tr.trainer().heldOutSamples(), settings.minSamples()));
            }
            tr.models().save(file);
        } catch (Exception | Error e) {
            if (created) {
                deleteIfEmpty(models); // a failed training leaves no folder it made
            }
            throw e;
        }
        PrintWriter out = spec.commandLine().getOut();
        tr.printRun(out, "", "train");
        out.printf("models: %d (%,d payloads trained, %,d held out for calibration, %,d bytes) -> %s (%,d bytes)%n",
                tr.models().models().size(), tr.trainer().trainedSamples(), tr.trainer().heldOutSamples(),
                tr.trainer().bytes(), file, Files.size(file));
        for (PaylModels.ModelInfo m : tr.models().models()) {
            out.printf("  %-48s %8d samples  threshold %.4f%s%n", m.key(), m.trainingSamples(), m.threshold(),
                    m.fallbackRole() == null ? "" : "  (" + m.fallbackRole() + ")");
        }
        out.flush();
        return 0;
    }

    private static void deleteIfEmpty(Path dir) {
        try (var entries = Files.list(dir)) {
            if (entries.findAny().isEmpty()) {
                Files.delete(dir);
            }
        } catch (java.io.IOException ignored) {
            // The training's own error is the one to report; a folder left behind is harmless.
        }
    }
}
