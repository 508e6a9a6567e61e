package org.xenids.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenids.flow.Flow;
import org.xenids.xen.emu.Topology;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Which addresses are guests of the emulated host, and their VM images: a topology file or the quick start. */
final class GuestOptions {
    @Option(names = "--topology", paramLabel = "FILE", description = "Host topology (YAML: domains with name,"
            + " image, vifs {mac, ips, queues}; uplink {mac}).")
    Path topology;

    @Option(names = "--guests", paramLabel = "CIDR", split = ",", description = "Without a topology: every IPv4"
            + " address inside these ranges that sends in the captures is a guest (named after it, MAC from its"
            + " frames). Repeatable.")
    List<String> guests = new ArrayList<>();

    @Option(names = "--image", paramLabel = "CIDR=NAME",
            description = "VM image of the --guests inside CIDR (default: the guest's own name). Repeatable.")
    Map<String, String> images = new LinkedHashMap<>();

    @Spec(Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    /** The topology; a missing or contradictory choice is a usage error (exit 2). */
    Topology topology(List<Path> captures) throws IOException {
        if ((topology == null) == guests.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give either --topology or --guests");
        }
        if (!images.isEmpty() && guests.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--image names images of --guests");
        }
        // Checked here, before the captures are read for their guests.
        for (String g : guests) {
            cidr("--guests", g);
        }
        for (Map.Entry<String, String> e : images.entrySet()) {
            cidr("--image", e.getKey());
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--image " + e.getKey() + "=: no image name");
            }
        }
        Set<Object> seen = new HashSet<>();
        for (Path c : captures) {
            // By the file itself when it exists: a second name (a link, "./x") is the same frames.
            if (!seen.add(Outputs.identity(c))) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--pcap " + c + " is given twice: its frames would enter the host twice");
            }
        }
        return topology != null ? Topology.read(topology) : Topology.fromCaptures(captures, guests, images);
    }

    private void cidr(String option, String value) {
        try {
            Topology.cidr(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
    }

    /**
     * The VM image a flow is judged by: the guest that serves it, else the guest that is its
     * client (a guest talking to the outside); null when no guest takes part. PAYL models the
     * service a VM image offers, so the server's image comes first.
     */
    static String imageOf(Topology t, Flow f) {
        Topology.Guest g = guestOf(t, f);
        return g == null ? null : g.image();
    }

    /** {domain name, "vifN"} of the guest {@link #imageOf} chose, for alerts. */
    static String[] placeOf(Topology t, Flow f) {
        String server = f.serverAddress();
        Topology.Guest g = t.guestOf(server);
        String addr = server;
        if (g == null) {
            addr = f.clientAddress();
            g = t.guestOf(addr);
        }
        if (g == null) {
            return new String[] {null, null};
        }
        String canon = Topology.canonicalIp(addr);
        for (int i = 0; i < g.vifs().size(); i++) {
            for (String ip : g.vifs().get(i).ips()) {
                if (Topology.canonicalIp(ip).equals(canon)) {
                    return new String[] {g.name(), "vif" + i};
                }
            }
        }
        return new String[] {g.name(), null};
    }

    private static Topology.Guest guestOf(Topology t, Flow f) {
        Topology.Guest g = t.guestOf(f.serverAddress());
        return g != null ? g : t.guestOf(f.clientAddress());
    }
}
