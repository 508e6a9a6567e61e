package org.xenids.cli;

import org.xenids.detect.payl.PaylSettings;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** PAYL settings of train (detect takes them from the models). */
final class PaylOptions {
    @Option(names = "--depth", paramLabel = "BYTES", defaultValue = "4096",
            description = "Payload bytes of each flow direction that are modelled and scored, 1.."
                    + PaylSettings.MAX_DEPTH + " (default: ${DEFAULT-VALUE}). Stored with the models: detect uses theirs.")
    int depth;

    @Option(names = "--target-fpr", paramLabel = "RATE", defaultValue = "0.001",
            description = "False-positive rate each model's threshold is calibrated to, on held-out benign"
                    + " traffic, above 0 and below 0.5 (default: ${DEFAULT-VALUE}).")
    double targetFpr;

    @Option(names = "--holdout", paramLabel = "FRACTION", defaultValue = "0.2",
            description = "Share of the benign payloads kept out of training to calibrate thresholds, above 0 and"
                    + " below 1 (default: ${DEFAULT-VALUE}).")
    double holdout;

    @Option(names = "--per-packet", description = "Score every packet's payload instead of each reassembled flow direction.")
    boolean perPacket;

    @Spec(Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    PaylSettings settings() {
        PaylSettings s = PaylSettings.defaults();
        try {
            s = s.withDepth(depth);
        } catch (IllegalArgumentException e) {
            throw bad("--depth", e);
        }
        try {
            s = s.withTargetFpr(targetFpr);
        } catch (IllegalArgumentException e) {
            throw bad("--target-fpr", e);
        }
        if (!(holdout > 0)) {
            // Thresholds are calibrated on the held-out share: with none, training would fail at its end.
            throw new CommandLine.ParameterException(spec.commandLine(), "--holdout must be in (0, 1): " + holdout);
        }
        try {
            return s.withHoldout(holdout);
        } catch (IllegalArgumentException e) {
            throw bad("--holdout", e);
        }
    }

    /** The settings' message names its field ("targetFpr must be in (0, 0.5): 1.5"); the user typed the option. */
    private CommandLine.ParameterException bad(String option, IllegalArgumentException e) {
        String m = e.getMessage();
        return new CommandLine.ParameterException(spec.commandLine(), option + m.substring(Math.max(0, m.indexOf(' '))));
    }
}
