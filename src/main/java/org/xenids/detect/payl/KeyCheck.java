package org.xenids.detect.payl;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.xenids.detect.Subject;

/**
 * The shapes a model file's keys must have for the scorer to mean what the file says, as training
 * writes them: a length-range model per service port, at most one model per length of a port,
 * one all-lengths fallback per port and one all-ports fallback per image and direction. A crafted
 * file that breaks them (a port of -1 on a port's model, two models for one length) would
 * otherwise load with some of its models silently shadowed, or fail outside the loader.
 */
final class KeyCheck {
    private final Map<Subject, boolean[]> lengths = new HashMap<>();
    private final Set<Subject> portAll = new HashSet<>();
    private final Set<String> imageAll = new HashSet<>();

    /** Null when {@code key} fits its role and the keys before it, else what is wrong. */
    String add(ModelKey key, PaylModel.Role role) {
        if (role == PaylModel.Role.IMAGE_ALL_PORTS) {
            if (key.port() != -1 || !key.allLengths()) {
                return "all-ports model " + key + " must cover every port and length";
            }
            return imageAll.add(key.image() + "/" + key.direction().ordinal()) ? null : "second all-ports model " + key;
        }
        if (key.port() < 0) {
            return "model " + key + " is a port's model but names no port (only an image's all-ports fallback may)";
        }
        Subject s = new Subject(key.image(), key.direction(), key.ipProto(), key.port());
        if (role == PaylModel.Role.PORT_ALL_LENGTHS) {
            if (!key.allLengths()) {
                return "all-lengths model " + key + " must cover every length";
            }
            return portAll.add(s) ? null : "second all-lengths model " + key;
        }
        boolean[] taken = lengths.computeIfAbsent(s, k -> new boolean[LengthBins.COUNT]);
        for (int b = LengthBins.of(key.lenLo()); b <= LengthBins.of(key.lenHi()); b++) {
            if (taken[b]) {
                return "model " + key + " overlaps the lengths of an earlier model";
            }
            taken[b] = true;
        }
        return null;
    }
}
