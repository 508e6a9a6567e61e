package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BridgeTest {

    @Test
    void learnsForwardsFloodsAndFlushesAFullTableCountingIt() {
        XenHost host = new XenHost(1 << 14);
        host.createDomain(0, "Domain-0", 4096);
        Toolstack.bootGrantTable(host, host.createDomain(1, "guest", 4096), 4);
        List<byte[]> up = new ArrayList<>();
        List<byte[]> guest = new ArrayList<>();
        Bridge bridge = new Bridge(host.domain(0), (b, n) -> up.add(Arrays.copyOf(b, n)));
        Toolstack.Vif vif = Toolstack.addVif(host, 1, 0, "00:16:3e:00:00:02", bridge, 1,
                (b, n) -> guest.add(Arrays.copyOf(b, n)));
        host.runPending();
        byte[] f = new byte[60];
        byte[] g = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
        System.arraycopy(g, 0, f, 0, 6);
        for (int i = 0; i < 3100; i++) { // distinct outside sources, all to the (unknown) guest MAC
            f[6] = 0x02;
            f[10] = (byte) (i >> 8);
            f[11] = (byte) i;
            bridge.fromUplink(f, 0, f.length, 0);
            host.runPending();
        }
        assertEquals(3100, guest.size(), "flooded to the guest");
        long[] c = bridge.counters();
        assertEquals(1, c[4], "one flush of the full MAC table");
        // The guest answers the last source: learned, so forwarded to the uplink.
        byte[] r = new byte[60];
        System.arraycopy(f, 6, r, 0, 6);
        System.arraycopy(g, 0, r, 6, 6);
        vif.front().transmit(r, 0, r.length, 0, 0);
        host.runPending();
        assertEquals(1, up.size());
        assertEquals(c[0] + 1, bridge.counters()[0], "forwarded, not flooded");
    }
}
