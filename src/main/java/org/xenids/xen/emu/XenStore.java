package org.xenids.xen.emu;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * XenStore as dom0's xenstored keeps it: a tree of string values with watches. A watch on a path
 * fires once when registered and then for every write or removal at or below the path; events are
 * delivered by {@link XenHost#runPending()}, as xenstored sends them asynchronously. No
 * permissions or transactions: the emulated guests are well-behaved toolstack and drivers.
 */
public final class XenStore {

    /** Receives watch events: the path that changed and the token given to {@link #watch}. */
    @FunctionalInterface
    public interface Watcher {
        void changed(String path, String token);
    }

    private static final class Node {
        String value = "";
        final Map<String, Node> children = new LinkedHashMap<>();
    }

    private record Watch(String path, String token, Watcher watcher) {}

    private final XenHost host;
    private final Node root = new Node();
    private final List<Watch> watches = new ArrayList<>();

    XenStore(XenHost host) {
        this.host = host;
    }

    /** The value at {@code path}, or null when there is no such node. */
    public String read(String path) {
        Node n = find(path);
        return n == null ? null : n.value;
    }

    /** Writes {@code value} at {@code path}, creating missing parents with empty values. */
    public void write(String path, String value) {
        Node n = root;
        for (String part : split(path)) {
            n = n.children.computeIfAbsent(part, k -> new Node());
        }
        n.value = value;
        fire(path);
    }

    /** Removes {@code path} and everything below it; false when it did not exist. */
    public boolean rm(String path) {
        List<String> parts = split(path);
        Node parent = root;
        for (int i = 0; i < parts.size() - 1; i++) {
            parent = parent.children.get(parts.get(i));
            if (parent == null) {
                return false;
            }
        }
        if (parent.children.remove(parts.get(parts.size() - 1)) == null) {
            return false;
        }
        fire(path);
        return true;
    }

    /** Child names of {@code path} in creation order (empty when none or missing). */
    public List<String> directory(String path) {
        Node n = find(path);
        return n == null ? List.of() : List.copyOf(n.children.keySet());
    }

    public void watch(String path, String token, Watcher watcher) {
        Watch w = new Watch(normalise(path), token, watcher);
        watches.add(w);
        host.defer(() -> w.watcher().changed(w.path(), w.token()));
    }

    public void unwatch(String path, String token) {
        watches.removeIf(w -> w.path().equals(normalise(path)) && w.token().equals(token));
    }

    /** Every node under {@code path} as {@code /full/path = "value"} lines, as xenstore-ls -f prints. */
    public List<String> dump(String path) {
        List<String> out = new ArrayList<>();
        Node n = find(path);
        if (n != null) {
            dump(normalise(path), n, out);
        }
        return out;
    }

    private static void dump(String path, Node n, List<String> out) {
        for (Map.Entry<String, Node> c : n.children.entrySet()) {
            String p = path + "/" + c.getKey();
            out.add(p + " = \"" + c.getValue().value + "\"");
            dump(p, c.getValue(), out);
        }
    }

    private void fire(String path) {
        String p = normalise(path);
        for (Watch w : watches) {
            if (p.equals(w.path()) || p.startsWith(w.path() + "/")) {
                host.defer(() -> w.watcher().changed(p, w.token()));
            }
        }
    }

    private Node find(String path) {
        Node n = root;
        for (String part : split(path)) {
            n = n.children.get(part);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    private static String normalise(String path) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("xenstore path must be absolute: " + path);
        }
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static List<String> split(String path) {
        List<String> parts = new ArrayList<>();
        for (String s : normalise(path).split("/")) {
            if (!s.isEmpty()) {
                parts.add(s);
            }
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("xenstore path names no node: " + path);
        }
        return parts;
    }
}
