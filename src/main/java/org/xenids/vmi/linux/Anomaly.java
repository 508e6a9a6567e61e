package org.xenids.vmi.linux;

/**
 * Something wrong found while walking guest kernel structures: a cycle, a torn or inconsistent
 * link, a pointer into a hole, a limit reached. {@code view} names the walk ("task-list",
 * "pid-idr", "children-tree", "scan"), {@code address} the guest virtual address involved.
 */
public record Anomaly(String view, String kind, long address, String message) {
    @Override
    public String toString() {
        return view + ": " + kind + " at 0x" + Long.toHexString(address) + ": " + message;
    }
}
