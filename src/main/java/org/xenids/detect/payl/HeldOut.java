package org.xenids.detect.payl;

import java.util.Arrays;

/**
 * The held-out payloads of one subject, kept as sparse byte counts ({@code byte << 24 | count}
 * per present byte value, after the length and the number of entries) until the models exist
 * and can be calibrated on them. A 400-byte HTTP request with 60 distinct bytes takes 248 bytes.
 */
final class HeldOut {
    int[] data = new int[1024];
    int size;
    int count;

    void add(int[] counts, int len) {
        if (data.length - size < 258) {
            data = Arrays.copyOf(data, Math.max(data.length * 2, size + 258));
        }
        int[] d = data;
        int p = size;
        d[p] = len;
        int head = p + 1;
        p += 2;
        for (int b = 0; b < 256; b++) {
            int c = counts[b];
            if (c != 0) {
                d[p++] = b << 24 | c;
            }
        }
        d[head] = p - head - 1;
        size = p;
        count++;
    }

    void merge(HeldOut o) {
        if (data.length - size < o.size) {
            data = Arrays.copyOf(data, size + o.size + 1024);
        }
        System.arraycopy(o.data, 0, data, size, o.size);
        size += o.size;
        count += o.count;
    }

    /** Visits each sample: fills {@code counts} (cleared first) and passes the length. */
    void forEach(int[] counts, java.util.function.IntConsumer sample) {
        int p = 0;
        while (p < size) {
            Arrays.fill(counts, 0);
            int len = data[p];
            int k = data[p + 1];
            p += 2;
            for (int j = 0; j < k; j++) {
                int e = data[p++];
                counts[e >>> 24] = e & 0xFFFFFF;
            }
            sample.accept(len);
        }
    }
}
