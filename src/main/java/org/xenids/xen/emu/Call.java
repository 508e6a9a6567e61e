package org.xenids.xen.emu;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.event.Hypercall;

/** The reused {@link Hypercall} view the host hands to listeners. */
final class Call implements Hypercall {
    long sequence;
    long timestamp;
    int caller;
    int op;
    int cmd;
    int count;
    int structSize;
    MemorySegment args;
    long result;

    @Override public long sequence() { return sequence; }
    @Override public long timestampNanos() { return timestamp; }
    @Override public int callerDomid() { return caller; }
    @Override public int op() { return op; }
    @Override public int cmd() { return cmd; }
    @Override public int count() { return count; }
    @Override public MemorySegment args() { return args; }
    @Override public long result() { return result; }
    @Override public int structSize() { return structSize; }

    @Override
    public String toString() {
        return "hypercall #" + sequence + " d" + caller + " op " + op + " cmd " + cmd + " x" + count
                + " -> " + result;
    }
}
