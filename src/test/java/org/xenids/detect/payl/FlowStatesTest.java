package org.xenids.detect.payl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class FlowStatesTest {
    /** Random puts and removes (ids clustered so probe runs collide) agree with a HashMap. */
    @Property(tries = 200)
    void behavesLikeAMapUnderPutsAndRemoves(@ForAll @Size(max = 3000) List<@IntRange(min = -300, max = 300) Integer> ops) {
        FlowStates s = new FlowStates();
        Map<Long, PaylFlowState> ref = new HashMap<>();
        for (int op : ops) {
            long id = Math.abs(op) + 1;
            if (op >= 0) {
                PaylFlowState v = new PaylFlowState();
                s.put(id, v);
                ref.put(id, v);
            } else {
                assertSame(ref.remove(id), s.remove(id));
            }
            assertEquals(ref.size(), s.size());
        }
        for (long id = 1; id <= 302; id++) {
            assertSame(ref.get(id), s.get(id), "id " + id);
        }
    }
}
