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
        try {
            return PaylSettings.defaults().withDepth(depth).withTargetFpr(targetFpr).withHoldout(holdout);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
