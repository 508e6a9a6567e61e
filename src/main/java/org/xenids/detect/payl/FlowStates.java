package org.xenids.detect.payl;

import java.util.Arrays;

/**
 * Flow id → state, open addressing with linear probing on primitive keys: the per-packet lookup
 * neither boxes the id nor allocates. Ids are positive (the flow table counts from 1).
 */
final class FlowStates {
    private long[] keys = new long[1024];
    private PaylFlowState[] values = new PaylFlowState[1024];
    private int size;

    int size() {
        return size;
    }

    private static int hash(long k, int mask) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    PaylFlowState get(long k) {
        int mask = keys.length - 1;
        for (int i = hash(k, mask); ; i = (i + 1) & mask) {
            if (keys[i] == k) {
                return values[i];
            }
            if (keys[i] == 0) {
                return null;
            }
        }
    }

    void put(long k, PaylFlowState v) {
        if (k <= 0) {
            throw new IllegalArgumentException("flow id " + k);
        }
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        int i = hash(k, mask);
        while (keys[i] != 0 && keys[i] != k) {
            i = (i + 1) & mask;
        }
        if (keys[i] == 0) {
            size++;
        }
        keys[i] = k;
        values[i] = v;
    }

    PaylFlowState remove(long k) {
        int mask = keys.length - 1;
        int i = hash(k, mask);
        while (keys[i] != k) {
            if (keys[i] == 0) {
                return null;
            }
            i = (i + 1) & mask;
        }
        PaylFlowState v = values[i];
        keys[i] = 0;
        values[i] = null;
        size--;
        // Re-insert the rest of the probe run so later lookups do not stop at the hole.
        for (int j = (i + 1) & mask; keys[j] != 0; j = (j + 1) & mask) {
            long rk = keys[j];
            PaylFlowState rv = values[j];
            keys[j] = 0;
            values[j] = null;
            size--;
            put(rk, rv);
        }
        return v;
    }

    private void grow() {
        long[] ok = keys;
        PaylFlowState[] ov = values;
        keys = new long[ok.length * 2];
        values = new PaylFlowState[ok.length * 2];
        size = 0;
        for (int i = 0; i < ok.length; i++) {
            if (ok[i] != 0) {
                put(ok[i], ov[i]);
            }
        }
        Arrays.fill(ok, 0);
    }
}
