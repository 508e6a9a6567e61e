package org.xenids.xen.emu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.xenids.io.Printable;

/**
 * What an emulated host looks like: its guests (name, VM image, vifs with MAC, addresses and
 * queue count) and its uplink. Read from YAML:
 * <pre>
 * uplink: {mac: "fe:ff:ff:ff:ff:ff"}
 * domains:
 *   - name: web
 *     image: nginx
 *     domid: 1            # optional; else 1, 2, … in order
 *     vifs:
 *       - {mac: "00:16:3e:00:00:11", ips: ["10.0.0.11"], queues: 2}
 * </pre>
 * Every address not given to a guest is outside the host, behind the uplink.
 */
public record Topology(String uplinkMac, List<Guest> guests) {

    /** Largest queue count a vif may ask for (netback offers at most dom0's vCPUs). */
    public static final int MAX_QUEUES = 8;

    public record Guest(int domid, String name, String image, List<Vif> vifs) {
        public Guest {
            vifs = List.copyOf(vifs);
        }
    }

    public record Vif(String mac, List<String> ips, int queues) {
        public Vif {
            ips = List.copyOf(ips);
        }
    }

    public Topology {
        guests = List.copyOf(guests);
        Set<Integer> ids = new HashSet<>();
        Set<String> macs = new HashSet<>();
        Set<String> ips = new HashSet<>();
        for (Guest g : guests) {
            label("guest name", g.name());
            label("guest " + g.name() + ": VM image", g.image());
            if (g.domid() < 1 || g.domid() >= 0x7FF0 || !ids.add(g.domid())) {
                throw new IllegalArgumentException("guest " + g.name() + ": domid " + g.domid()
                        + " is taken or outside 1..32751");
            }
            for (Vif v : g.vifs()) {
                if (!macs.add(normalMac(v.mac()))) {
                    throw new IllegalArgumentException("guest " + g.name() + ": MAC " + v.mac() + " used twice");
                }
                if (v.queues() < 1 || v.queues() > MAX_QUEUES) {
                    throw new IllegalArgumentException("guest " + g.name() + ": queues " + v.queues()
                            + " outside 1.." + MAX_QUEUES);
                }
                for (String ip : v.ips()) {
                    if (!ips.add(canonicalIp(ip))) {
                        throw new IllegalArgumentException("guest " + g.name() + ": address " + ip + " used twice");
                    }
                }
            }
        }
    }

    /**
     * A guest or image name: it keys models, whose files hold names of 1-255 UTF-8 bytes, and
     * appears in one-line errors and listings, so no control characters.
     */
    private static void label(String what, String v) {
        int bytes = v == null ? 0 : v.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes < 1 || bytes > 255 || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException(what + " '" + (v == null ? "" : shown(v))
                    + "' must be 1-255 bytes of UTF-8 without control characters");
        }
    }

    /**
     * Largest topology file read: a host's dom0 runs out of event channels near 2,000 vifs, whose
     * entries take a few hundred KB; the YAML parser needs far more memory than the file's size.
     */
    static final int MAX_FILE = 1 << 20;

    /** Reads a topology file; errors name the file and the entry. */
    public static Topology read(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException("topology " + file + ": is a directory, not a topology file");
        }
        byte[] yaml;
        // Read up to the bound, not by the size the file claims: a pipe has none.
        try (java.io.InputStream in = Files.newInputStream(file)) {
            yaml = in.readNBytes(MAX_FILE + 1);
        }
        if (yaml.length > MAX_FILE) {
            throw new IOException("topology " + file + ": over " + MAX_FILE + " bytes, more than a topology file may have");
        }
        return read(yaml, "topology " + file);
    }

    /** Reads a topology from the bytes of a file; errors begin with {@code name}. */
    static Topology read(byte[] yaml, String name) throws IOException {
        JsonNode root;
        YAMLFactory yf = new YAMLFactory();
        try {
            refuseAliases(yf, yaml, name);
            root = new ObjectMapper(yf).readTree(yaml);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(name + ": not YAML (" + yamlProblem(e) + ")", e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(name + ": " + e.getMessage(), e);
        }
    }

    /**
     * An alias ({@code *name}) reaches the tree as the plain string "name", so a topology using
     * one would fail further on with an error about the wrong thing: it is refused here, naming it.
     */
    private static void refuseAliases(YAMLFactory yf, byte[] yaml, String name) throws IOException {
        try (com.fasterxml.jackson.dataformat.yaml.YAMLParser p = yf.createParser(yaml)) {
            while (p.nextToken() != null) {
                if (p.isCurrentAlias()) {
                    throw new IOException(name + ": YAML aliases are not supported (*" + Printable.cut(p.getText(), 64)
                            + ", line " + p.currentLocation().getLineNr() + "): write the value out");
                }
            }
        }
    }

    /**
     * The parser's problem and where, on one line. SnakeYAML's own message spans lines and quotes
     * the file's text around both the problem and its context, with a caret under each.
     */
    private static String yamlProblem(com.fasterxml.jackson.core.JsonProcessingException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.CharConversionException c) {
                // "Invalid UTF-8 start byte 0x84 (at char #1, byte #-1)": a byte no UTF-8 text has there.
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)invalid UTF-8 (\\w+ )?byte (0x\\p{XDigit}+)"
                        + "(?: \\(at char #(\\d+))?").matcher(String.valueOf(c.getMessage()));
                return m.find() ? "not UTF-8 text: byte " + m.group(2) + (m.group(3) == null ? ""
                        : " at character " + m.group(3)) : "not UTF-8 text";
            }
        }
        String problem = e.getOriginalMessage();
        String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblem() != null) {
            problem = m.getProblem();
            at = m.getProblemMark() == null ? "" : " at line " + (m.getProblemMark().getLine() + 1) + ", column "
                    + (m.getProblemMark().getColumn() + 1);
        }
        // A wrapped exception's message begins with its class name ("java.io.EOFException: ..."): not the user's concern.
        String p = String.valueOf(problem).replaceAll("\\s*\\R\\s*", " ")
                .replaceAll("\\b(?:[a-z]\\w*\\.)+[A-Z]\\w*(?:Exception|Error):\\s*", "").strip();
        return (p.length() <= 200 ? p : p.substring(0, 200) + "…") + at;
    }

    static Topology parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the top level must be a mapping with 'domains'");
        }
        known(root, "top level", "uplink", "domains");
        String uplink = root.path("uplink").path("mac").asText("fe:ff:ff:ff:ff:ff");
        normalMac(uplink);
        JsonNode ds = root.path("domains");
        if (!ds.isArray() || ds.isEmpty()) {
            throw new IllegalArgumentException("'domains' must be a non-empty list");
        }
        List<Guest> guests = new ArrayList<>();
        int next = 1;
        for (JsonNode d : ds) {
            String name = text(d, "name", "domain " + (guests.size() + 1));
            label("guest name", name); // before it appears in other errors
            known(d, "domain " + name, "name", "image", "domid", "vifs");
            int domid = integer(d, "domid", next, "domain " + name);
            next = Math.max(next, domid) + 1;
            String image = d.path("image").asText(name);
            List<Vif> vifs = new ArrayList<>();
            JsonNode vs = d.path("vifs");
            if (!vs.isArray() || vs.isEmpty()) {
                throw new IllegalArgumentException("domain " + name + ": 'vifs' must be a non-empty list");
            }
            for (JsonNode v : vs) {
                known(v, "domain " + name + " vif", "mac", "ips", "queues");
                List<String> ips = new ArrayList<>();
                if (v.has("ips") && !v.get("ips").isArray()) {
                    throw new IllegalArgumentException("domain " + name + " vif: 'ips' must be a list of addresses");
                }
                for (JsonNode ip : v.path("ips")) {
                    canonicalIp(ip.asText());
                    ips.add(ip.asText());
                }
                String mac = text(v, "mac", "domain " + name + " vif");
                normalMac(mac);
                vifs.add(new Vif(mac, ips, integer(v, "queues", 1, "domain " + name + " vif")));
            }
            guests.add(new Guest(domid, name, image, vifs));
        }
        return new Topology(uplink, guests);
    }

    private static void known(JsonNode n, String where, String... keys) {
        Set<String> ok = Set.of(keys);
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ok.contains(k)) {
                throw new IllegalArgumentException(where + ": unknown key '" + shown(k) + "' (known: " + String.join(", ", keys) + ")");
            }
        }
    }

    /**
     * An optional whole number that fits an int; a fraction, a string or 2^32 + 2 is refused rather
     * than read as 0 or wrapped to 2.
     */
    private static int integer(JsonNode n, String key, int absent, String where) {
        JsonNode v = n.get(key);
        if (v == null) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException(where + ": '" + key + "' must be a whole number below 2^31, not "
                    + shown(v.toString()));
        }
        return v.intValue();
    }

    /** {@code s} as an error quotes it: a name may be a megabyte long, a quoted YAML string may hold line breaks. */
    static String shown(String s) {
        return Printable.cut(s, 64);
    }

    private static String text(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isValueNode() || v.asText().isBlank()) {
            throw new IllegalArgumentException(where + ": '" + key + "' is required");
        }
        return v.asText();
    }

    /** "00:16:3E:00:00:01" → "00:16:3e:00:00:01"; rejects anything else. */
    public static String normalMac(String mac) {
        if (mac == null || !mac.matches("(?i)[0-9a-f]{2}(:[0-9a-f]{2}){5}")) {
            throw new IllegalArgumentException("MAC '" + shown(mac) + "' is not six hex bytes separated by ':'");
        }
        return mac.toLowerCase(java.util.Locale.ROOT);
    }

    /** An IPv4 or IPv6 literal in canonical form; no name look-ups. */
    public static String canonicalIp(String ip) {
        if (ip == null || !ip.matches("[0-9a-fA-F:.]+") || !(ip.contains(".") || ip.contains(":"))) {
            throw new IllegalArgumentException("'" + shown(ip) + "' is not an IP address literal");
        }
        try {
            return InetAddress.getByName(ip).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + shown(ip) + "' is not an IP address literal");
        }
    }

    /** The guest owning {@code ip}, or null (outside). */
    public Guest guestOf(String ip) {
        String c = canonicalIp(ip);
        for (Guest g : guests) {
            for (Vif v : g.vifs()) {
                for (String a : v.ips()) {
                    if (canonicalIp(a).equals(c)) {
                        return g;
                    }
                }
            }
        }
        return null;
    }

    /**
     * The next record, or false at the end or at damage: the guests are those the capture shows
     * before it, and the replay that follows meets the same damage and reports it.
     */
    private static boolean nextWhole(org.xenids.pcap.CaptureReader r) throws IOException {
        try {
            return r.next();
        } catch (org.xenids.pcap.CaptureFormatException damaged) {
            return false;
        }
    }

    /**
     * The quick-start topology: every IPv4 source address inside one of {@code cidrs} seen in the
     * captures becomes a guest named after its address, with the MAC of its first frame and one
     * single-queue vif; {@code images} maps a CIDR to the VM image of the guests inside it
     * (default: the guest's name). Guests get domids 1, 2, … in address order.
     */
    public static Topology fromCaptures(List<Path> captures, List<String> cidrs, java.util.Map<String, String> images)
            throws IOException {
        List<long[]> nets = new ArrayList<>();
        for (String c : cidrs) {
            nets.add(cidr(c));
        }
        java.util.TreeMap<Long, String> found = new java.util.TreeMap<>();
        for (Path p : captures) {
            try (org.xenids.pcap.CaptureReader r = org.xenids.pcap.CaptureReader.open(p)) {
                while (nextWhole(r)) {
                    byte[] b = r.array();
                    int o = r.dataOffset();
                    int n = r.capturedLength();
                    if (r.linkType() != org.xenids.pcap.LinkType.ETHERNET || n < 34) {
                        continue;
                    }
                    int l3 = 14;
                    int type = ((b[o + 12] & 0xff) << 8) | (b[o + 13] & 0xff);
                    if (type == 0x8100 && n >= 38) {
                        type = ((b[o + 16] & 0xff) << 8) | (b[o + 17] & 0xff);
                        l3 = 18;
                    }
                    if (type != 0x0800) {
                        continue;
                    }
                    long src = ((b[o + l3 + 12] & 0xffL) << 24) | ((b[o + l3 + 13] & 0xff) << 16)
                            | ((b[o + l3 + 14] & 0xff) << 8) | (b[o + l3 + 15] & 0xff);
                    if (found.containsKey(src) || !inside(nets, src)) {
                        continue;
                    }
                    StringBuilder mac = new StringBuilder();
                    for (int i = 6; i < 12; i++) {
                        mac.append(i > 6 ? ":" : "").append(String.format("%02x", b[o + i] & 0xff));
                    }
                    found.put(src, mac.toString());
                }
            }
        }
        if (found.isEmpty()) {
            throw new IOException("no address of " + String.join(", ", cidrs) + " sends anything in the captures");
        }
        List<Guest> guests = new ArrayList<>();
        Set<String> macs = new HashSet<>();
        macs.add("fe:ff:ff:ff:ff:ff"); // the uplink's (the gateway clients are seen through)
        int domid = 1;
        for (var e : found.entrySet()) {
            long a = e.getKey();
            String ip = (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
            String mac = e.getValue();
            if (!macs.add(mac) || (Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                // Seen through the gateway, or a MAC another guest has: give this one its own.
                mac = String.format("00:16:3e:%02x:%02x:%02x", 0x80 | (domid >>> 16) & 0x7f, (domid >>> 8) & 0xff, domid & 0xff);
                macs.add(mac);
            }
            String image = ip;
            for (var im : images.entrySet()) {
                if (inside(List.of(cidr(im.getKey())), a)) {
                    image = im.getValue();
                }
            }
            guests.add(new Guest(domid++, ip, image, List.of(new Vif(mac, List.of(ip), 1))));
        }
        return new Topology("fe:ff:ff:ff:ff:ff", guests);
    }

    /** "10.0.0.0/24" → {network, mask} (IPv4). */
    public static long[] cidr(String c) {
        String[] p = c.split("/", -1);
        int bits;
        try {
            bits = p.length == 1 ? 32 : Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            bits = -1;
        }
        byte[] a;
        try {
            a = p.length > 2 || bits < 0 || bits > 32 ? null : HostAddresses.addr(p[0]);
        } catch (IllegalArgumentException e) {
            a = null;
        }
        if (a == null || a.length != 4) {
            throw new IllegalArgumentException("'" + c + "' is not an IPv4 CIDR (e.g. 10.0.0.0/24)");
        }
        long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
        long net = ((a[0] & 0xffL) << 24) | ((a[1] & 0xff) << 16) | ((a[2] & 0xff) << 8) | (a[3] & 0xff);
        return new long[] {net & mask, mask};
    }

    private static boolean inside(List<long[]> nets, long a) {
        for (long[] n : nets) {
            if ((a & n[1]) == n[0]) {
                return true;
            }
        }
        return false;
    }
}
