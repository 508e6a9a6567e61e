package org.xenids.cli;

import org.xenids.detect.payl.PaylSettings;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** PAYL settings shared by train and demo. */
final class PaylOptions {
    @Option(names = "--depth", paramLabel = "BYTES", defaultValue = "4096",
            description = "Payload bytes of each flow direction that are modelled and scored (default: ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--target-fpr", paramLabel = "RATE", defaultValue = "0.001",
            description = "False-positive rate each model's threshold is calibrated to, on held-out benign"
                    + " traffic (default: ${DEFAULT-VALUE}).")
    double targetFpr;

    @Option(names = "--holdout", paramLabel = "FRACTION", defaultValue = "0.2",
            description = "Share of the benign payloads kept out of training to calibrate thresholds (default: ${DEFAULT-VALUE}).")
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
