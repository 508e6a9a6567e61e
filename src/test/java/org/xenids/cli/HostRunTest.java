package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.StreamListener;
import org.xenids.testdata.SharedData;
import org.xenids.xen.emu.Topology;

class HostRunTest {
    @Test
    void flowsEndedEarlyBecauseTheTableWasFullAreCountedInTheSummary() throws Exception {
        // The real shellcode capture, five connections and their answers, through a table of two flows.
        List<Path> capture = List.of(SharedData.file("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz"));
        Topology t = Topology.fromCaptures(capture, List.of("10.0.0.0/24"), Map.of());
        StringWriter err = new StringWriter();
        HostRun.Result full = HostRun.run(t, capture, FlowConfig.defaults().withMaxFlows(2), StreamListener.NONE,
                a -> { }, new PrintWriter(err), "test");
        assertTrue(full.evictions() > 0, full.toString());
        StringWriter out = new StringWriter();
        full.print(new PrintWriter(out, true), "detect");
        assertTrue(out.toString().contains(String.format("  %,d flows ended early: the flow table was full",
                full.evictions())), out.toString());

        HostRun.Result roomy = HostRun.run(t, capture, FlowConfig.defaults(), StreamListener.NONE, a -> { },
                new PrintWriter(err), "test");
        assertEquals(0, roomy.evictions());
        out = new StringWriter();
        roomy.print(new PrintWriter(out, true), "detect");
        assertTrue(!out.toString().contains("ended early"), out.toString());
    }
}
