package org.xenids.alert;

/**
 * What fired: EVE's {@code alert} header. xenids' own detectors use gid 1 and signature ids in
 * the ranges documented in the README (e.g. 9000xxx for payload anomalies, 9100xxx for host
 * introspection); severity 1 is the most severe, as in Suricata.
 */
public record Signature(String action, int gid, long signatureId, int rev, String signature,
                        String category, int severity) {
    public Signature {
        if (signature == null || signature.isBlank()) {
            throw new IllegalArgumentException("a signature needs a message");
        }
        if (action == null) {
            action = "allowed";
        }
        if (category == null) {
            category = "";
        }
        if (severity < 1 || severity > 255) {
            throw new IllegalArgumentException("severity out of range: " + severity);
        }
    }

    /** A detection-only alert (no blocking). */
    public static Signature detect(long signatureId, String signature, String category, int severity) {
        return new Signature("allowed", 1, signatureId, 1, signature, category, severity);
    }
}
