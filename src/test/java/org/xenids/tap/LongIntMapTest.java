package org.xenids.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongIntMapTest {
    @Test
    void keepsEveryKeysLastValueThroughGrowthIncludingNegativeValuesAndZeroKeys() {
        LongIntMap m = new LongIntMap();
        Map<Long, Integer> ref = new HashMap<>();
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            long k = i % 3 == 0 ? r.nextInt(500) : r.nextLong();
            int v = r.nextInt() | (i % 5 == 0 ? Integer.MIN_VALUE : 0);
            m.put(k, v);
            ref.put(k, v);
        }
        m.put(0, -1);
        ref.put(0L, -1);
        assertEquals(ref.size(), m.size());
        for (Map.Entry<Long, Integer> e : ref.entrySet()) {
            assertEquals(e.getValue(), m.get(e.getKey(), 12345));
        }
        for (int i = 0; i < 1000; i++) {
            long k = r.nextLong();
            if (!ref.containsKey(k)) {
                assertEquals(-77, m.get(k, -77));
            }
        }
    }
}
