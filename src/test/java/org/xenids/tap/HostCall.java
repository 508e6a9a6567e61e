package org.xenids.tap;

import java.lang.foreign.MemorySegment;
import org.xenids.xen.event.Hypercall;

/** A live host's hypercall made up by a test: the record's accessors are the interface's. */
record HostCall(long sequence, long timestampNanos, int callerDomid, int op, int cmd, int count, MemorySegment args,
                long result, int structSize) implements Hypercall {}
