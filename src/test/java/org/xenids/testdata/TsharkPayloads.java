package org.xenids.testdata;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Payload-carrying packets of a shared capture as tshark dissects them, for tests that need real
 * payloads independently of xenids' own decoder. tshark's output is cached beside the decompressed
 * capture (it takes tens of seconds on the dev set). Every TCP packet with a payload, every UDP
 * datagram, and every SYN (to tell client from server) is listed, in capture order.
 */
public final class TsharkPayloads {
    private TsharkPayloads() {}

    /** One packet: time, 5-tuple, tshark's TCP stream index (-1 for UDP), SYN-without-ACK, payload. */
    public record Packet(double ts, String src, int srcPort, String dst, int dstPort, int proto,
                         int stream, boolean syn, byte[] payload) {}

    public static boolean available() {
        try {
            Process p = new ProcessBuilder("tshark", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    public static synchronized List<Packet> packets(String relativeCapture) {
        Path pcap = SharedData.plain(relativeCapture);
        Path tsv = pcap.resolveSibling(pcap.getFileName() + ".tshark-payloads.tsv");
        try {
            if (!Files.isRegularFile(tsv) || Files.getLastModifiedTime(tsv).compareTo(Files.getLastModifiedTime(pcap)) < 0) {
                Path tmp = Files.createTempFile(tsv.getParent(), tsv.getFileName().toString(), ".part");
                Process p = new ProcessBuilder("tshark", "-n", "-r", pcap.toString(),
                        "-Y", "tcp.len > 0 || udp || (tcp.flags.syn == 1 && tcp.flags.ack == 0)",
                        "-T", "fields", "-E", "separator=/t",
                        "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto",
                        "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport",
                        "-e", "tcp.stream", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack",
                        "-e", "tcp.payload", "-e", "udp.payload")
                        .redirectOutput(tmp.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("tshark failed on " + pcap);
                }
                Files.move(tmp, tsv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            List<Packet> out = new ArrayList<>();
            HexFormat hex = HexFormat.of();
            try (BufferedReader r = Files.newBufferedReader(tsv, StandardCharsets.US_ASCII)) {
                for (String line; (line = r.readLine()) != null; ) {
                    String[] f = line.split("\t", -1);
                    if (f.length < 13 || f[1].isEmpty() || f[1].contains(",")) {
                        continue; // not IPv4, or ICMP quoting an IP header: no payload of interest
                    }
                    int proto = Integer.parseInt(f[3]);
                    boolean tcp = proto == 6;
                    int sp = parse(tcp ? f[4] : f[6]);
                    int dp = parse(tcp ? f[5] : f[7]);
                    String pay = tcp ? f[11] : f[12];
                    boolean syn = tcp && isSet(f[9]) && !isSet(f[10]);
                    out.add(new Packet(Double.parseDouble(f[0]), f[1], sp, f[2], dp, proto,
                            tcp ? parse(f[8]) : -1, syn, pay.isEmpty() ? new byte[0] : hex.parseHex(pay.replace(":", ""))));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * A payload to score: a TCP stream direction (the payloads of its packets concatenated in
     * capture order, which on these loss-free loopback captures is the byte stream; up to
     * {@code depth}) or one UDP datagram, with the flow's client and server.
     */
    public record Piece(String client, int clientPort, String server, int serverPort, int proto,
                        boolean toServer, double firstTs, byte[] payload) {}

    /** Client = sender of the SYN (TCP) or, failing that, the endpoint with the higher port. */
    public static List<Piece> pieces(List<Packet> packets, int depth) {
        java.util.Map<String, Packet> synOf = new java.util.HashMap<>();
        java.util.Map<String, java.io.ByteArrayOutputStream> streams = new java.util.LinkedHashMap<>();
        java.util.Map<String, Packet> firstOf = new java.util.HashMap<>();
        List<Piece> out = new ArrayList<>();
        for (Packet p : packets) {
            if (p.proto() == 17) {
                boolean toServer = p.srcPort() > p.dstPort();
                out.add(toServer
                        ? new Piece(p.src(), p.srcPort(), p.dst(), p.dstPort(), 17, true, p.ts(), p.payload())
                        : new Piece(p.dst(), p.dstPort(), p.src(), p.srcPort(), 17, false, p.ts(), p.payload()));
                continue;
            }
            if (p.proto() != 6 || p.stream() < 0) {
                continue;
            }
            String s = Integer.toString(p.stream());
            if (p.syn()) {
                synOf.putIfAbsent(s, p);
            }
            if (p.payload().length == 0) {
                continue;
            }
            Packet syn = synOf.get(s);
            boolean fromClient = syn != null ? p.src().equals(syn.src()) && p.srcPort() == syn.srcPort()
                    : p.srcPort() > p.dstPort();
            String key = s + (fromClient ? ">" : "<");
            firstOf.putIfAbsent(key, syn != null ? syn : p);
            java.io.ByteArrayOutputStream b = streams.computeIfAbsent(key, k -> new java.io.ByteArrayOutputStream());
            int room = depth - b.size();
            if (room > 0) {
                b.write(p.payload(), 0, Math.min(room, p.payload().length));
            }
        }
        streams.forEach((key, b) -> {
            Packet f = firstOf.get(key);
            boolean toServer = key.endsWith(">");
            boolean firstFromClient = f.syn() || f.srcPort() > f.dstPort();
            String client = firstFromClient ? f.src() : f.dst();
            int cport = firstFromClient ? f.srcPort() : f.dstPort();
            String server = firstFromClient ? f.dst() : f.src();
            int sport = firstFromClient ? f.dstPort() : f.srcPort();
            out.add(new Piece(client, cport, server, sport, 6, toServer, f.ts(), b.toByteArray()));
        });
        return out;
    }

    private static boolean isSet(String f) {
        return f.equals("1") || f.equalsIgnoreCase("true");
    }

    private static int parse(String s) {
        return s.isEmpty() ? -1 : Integer.parseInt(s.split(",")[0]);
    }
}
