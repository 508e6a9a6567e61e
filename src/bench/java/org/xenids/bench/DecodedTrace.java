package org.xenids.bench;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Function;
import org.xenids.tap.Trace;
import org.xenids.xen.event.DomainMemory;
import org.xenids.xen.event.Hypercall;
import org.xenids.xen.event.HypercallListener;

/**
 * A recorded trace decoded once into what a live host hands the tap: the hypercalls (fields and
 * op arrays) and, in order, the bytes each of the tap's reads returned. {@link #replay} then feeds
 * a listener as a live host does ({@code allow} for every element, then {@code completed}) with a
 * memory that answers each read by checking it is the recorded one and copying its bytes, the work
 * a hypervisor's read of a mapped guest frame does. This takes the trace file's parsing out of the
 * tap's figure: on a real host there is no file, only the calls and the guests' memory.
 */
final class DecodedTrace {
    private final int calls;
    private final long[] seq, stamp, result;
    private final int[] caller, op, cmd, count, structSize;
    /** Call {@code i}'s op array: {@code argBytes[argAt[i], argAt[i + 1])}. */
    private final byte[] argBytes;
    private final int[] argAt;
    private final int maxArgs;
    /** Reads the tap had made by the end of call {@code i}. */
    private final int[] readEnd;
    /** Read {@code i}: (domid, frame, offset, len, failed) and its bytes at {@code readAt[i]} in {@code readBytes}. */
    private final int reads;
    private final int[] readDom, readOff, readLen, readAt;
    private final long[] readFrame;
    private final boolean[] readOk;
    private final byte[] readBytes;
    /** Grant-table frame answers, in order. */
    private final long[][] gtFrames;
    private final int[] gtCount;

    private DecodedTrace(Recorder r) {
        calls = r.calls;
        seq = Arrays.copyOf(r.seq, calls);
        stamp = Arrays.copyOf(r.stamp, calls);
        result = Arrays.copyOf(r.result, calls);
        caller = Arrays.copyOf(r.caller, calls);
        op = Arrays.copyOf(r.op, calls);
        cmd = Arrays.copyOf(r.cmd, calls);
        count = Arrays.copyOf(r.count, calls);
        structSize = Arrays.copyOf(r.structSize, calls);
        argBytes = Arrays.copyOf(r.argBytes, r.argLen);
        argAt = new int[calls + 1];
        int most = 0;
        for (int i = 0; i < calls; i++) {
            argAt[i] = r.argAt[i];
            most = Math.max(most, r.argEnd[i] - r.argAt[i]);
            if (i + 1 < calls && r.argEnd[i] != r.argAt[i + 1]) {
                throw new IllegalStateException("op arrays not end to end at call " + i);
            }
        }
        argAt[calls] = calls > 0 ? r.argEnd[calls - 1] : 0;
        maxArgs = most;
        readEnd = Arrays.copyOf(r.readEnd, calls);
        if (calls > 0) {
            readEnd[calls - 1] = r.reads;
        }
        reads = r.reads;
        readDom = Arrays.copyOf(r.readDom, reads);
        readOff = Arrays.copyOf(r.readOff, reads);
        readLen = Arrays.copyOf(r.readLen, reads);
        readAt = Arrays.copyOf(r.readAt, reads);
        readFrame = Arrays.copyOf(r.readFrame, reads);
        readOk = Arrays.copyOf(r.readOk, reads);
        readBytes = Arrays.copyOf(r.bytes, r.byteLen);
        gtFrames = r.gtFrames.toArray(new long[0][]);
        gtCount = r.gtCount.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Decodes {@code trace} by replaying it once into the listener {@code tap} makes, recording what it read. */
    static DecodedTrace of(byte[] trace, Function<DomainMemory, HypercallListener> tap) throws IOException {
        Recorder r = new Recorder();
        Trace.replay(trace, "decode", true, mem -> {
            r.memory = mem;
            HypercallListener l = tap.apply(r);
            return new HypercallListener() {
                @Override
                public boolean allow(Hypercall c, int index) {
                    return l.allow(c, index);
                }

                @Override
                public void completed(Hypercall c) {
                    r.call(c);
                    l.completed(c);
                }
            };
        });
        return new DecodedTrace(r);
    }

    /** Replays every call into the listener {@code tap} makes over this trace's recorded reads. */
    void replay(Function<DomainMemory, HypercallListener> tap) {
        Memory m = new Memory();
        deliver(new Call(), tap.apply(m));
        if (m.next != reads || m.gtNext != gtCount.length) {
            throw new IllegalStateException("replay made " + m.next + " of " + reads + " recorded reads");
        }
    }

    /**
     * The host's side of {@link #replay} alone: every call delivered as there to a listener that
     * reads its fields, and during it the reads the tap made then answered into a scratch page;
     * no tap. What {@link #replay} costs beyond this is the tap's own work.
     */
    long hostOnly() {
        Memory m = new Memory();
        Call c = new Call();
        byte[] page = new byte[DomainMemory.PAGE_SIZE];
        long[] sum = new long[1];
        HypercallListener l = new HypercallListener() {
            @Override
            public boolean allow(Hypercall h, int index) {
                return h.op() >= 0;
            }

            @Override
            public void completed(Hypercall h) {
                sum[0] += h.sequence() + h.timestampNanos() + h.callerDomid() + h.op() + h.cmd() + h.count()
                        + h.structSize() + h.result() + h.args().get(ValueLayout.JAVA_BYTE, 0);
                for (int k = m.next, end = readEnd[c.i]; k < end; k = m.next) {
                    m.read(readDom[k], readFrame[k], readOff[k], page, 0, readLen[k]);
                }
            }
        };
        deliver(c, l);
        return sum[0] + page[0];
    }

    /** Every call, in order, to {@code l} as a live host gives it: {@code allow} for each element, then {@code completed}. */
    private void deliver(Call c, HypercallListener l) {
        for (int i = 0; i < calls; i++) {
            c.load(i);
            for (int e = 0, n = c.count; e < n; e++) {
                l.allow(c, e);
            }
            l.completed(c);
        }
    }

    /**
     * The calls as a live host's reused view: each call's fields and op array are copied in before
     * it is delivered (the host's work: a hypervisor copies the guest's op array in too), so the tap
     * reads them from the view and one reused buffer, as from a host's. The op array is a view of
     * that buffer of the call's length, one view kept per length as the emulated host keeps a few.
     */
    private final class Call implements Hypercall {
        int i, caller, op, cmd, count, structSize;
        long seq, stamp, result;
        MemorySegment args;
        private final byte[] buf = new byte[maxArgs];
        private final MemorySegment bufSeg = MemorySegment.ofArray(buf);
        private final MemorySegment[] views = new MemorySegment[maxArgs + 1];

        void load(int i) {
            this.i = i;
            caller = DecodedTrace.this.caller[i];
            op = DecodedTrace.this.op[i];
            cmd = DecodedTrace.this.cmd[i];
            count = DecodedTrace.this.count[i];
            structSize = DecodedTrace.this.structSize[i];
            seq = DecodedTrace.this.seq[i];
            stamp = DecodedTrace.this.stamp[i];
            result = DecodedTrace.this.result[i];
            int at = argAt[i], len = argAt[i + 1] - at;
            System.arraycopy(argBytes, at, buf, 0, len);
            MemorySegment v = views[len];
            if (v == null) {
                v = views[len] = bufSeg.asSlice(0, len).asReadOnly();
            }
            args = v;
        }

        @Override public long sequence() { return seq; }
        @Override public long timestampNanos() { return stamp; }
        @Override public int callerDomid() { return caller; }
        @Override public int op() { return op; }
        @Override public int cmd() { return cmd; }
        @Override public int count() { return count; }
        @Override public MemorySegment args() { return args; }
        @Override public long result() { return result; }
        @Override public int structSize() { return structSize; }
    }

    /** Answers the recorded reads in order; any other read is a different tap's and fails the run. */
    private final class Memory implements DomainMemory {
        int next, gtNext;

        @Override
        public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
            int k = next++;
            if (k >= reads || readDom[k] != domid || readFrame[k] != frame || readOff[k] != offset || readLen[k] != len) {
                throw new IllegalStateException("read " + k + " is not the recorded one");
            }
            if (!readOk[k]) {
                return false;
            }
            System.arraycopy(readBytes, readAt[k], dst, dstOff, len);
            return true;
        }

        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            int len = (int) dst.byteSize();
            int k = next++;
            if (k >= reads || readDom[k] != domid || readFrame[k] != frame || readOff[k] != offset || readLen[k] != len) {
                throw new IllegalStateException("read " + k + " is not the recorded one");
            }
            if (!readOk[k]) {
                return false;
            }
            MemorySegment.copy(readBytes, readAt[k], dst, ValueLayout.JAVA_BYTE, 0, len);
            return true;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            int k = gtNext++;
            long[] f = gtFrames[k];
            System.arraycopy(f, 0, out, 0, Math.min(out.length, f.length));
            return gtCount[k];
        }
    }

    /** Collects the calls and reads of the decoding replay. */
    private static final class Recorder implements DomainMemory {
        DomainMemory memory;
        int calls, reads, argLen, byteLen;
        long[] seq = new long[1024], stamp = new long[1024], result = new long[1024];
        int[] readEnd = new int[1024];
        int[] caller = new int[1024], op = new int[1024], cmd = new int[1024], count = new int[1024],
                structSize = new int[1024], argAt = new int[1024], argEnd = new int[1024];
        byte[] argBytes = new byte[1 << 16];
        int[] readDom = new int[1024], readOff = new int[1024], readLen = new int[1024], readAt = new int[1024];
        long[] readFrame = new long[1024];
        boolean[] readOk = new boolean[1024];
        byte[] bytes = new byte[1 << 16];
        final java.util.List<long[]> gtFrames = new java.util.ArrayList<>();
        final java.util.List<Integer> gtCount = new java.util.ArrayList<>();

        void call(Hypercall c) {
            if (calls == seq.length) {
                int n = calls * 2;
                seq = Arrays.copyOf(seq, n); stamp = Arrays.copyOf(stamp, n); result = Arrays.copyOf(result, n);
                caller = Arrays.copyOf(caller, n); op = Arrays.copyOf(op, n); cmd = Arrays.copyOf(cmd, n);
                count = Arrays.copyOf(count, n); structSize = Arrays.copyOf(structSize, n);
                argAt = Arrays.copyOf(argAt, n); argEnd = Arrays.copyOf(argEnd, n);
                readEnd = Arrays.copyOf(readEnd, n);
            }
            int i = calls++;
            if (i > 0) {
                readEnd[i - 1] = reads; // what the previous call's handling read
            }
            seq[i] = c.sequence(); stamp[i] = c.timestampNanos(); result[i] = c.result();
            caller[i] = c.callerDomid(); op[i] = c.op(); cmd[i] = c.cmd(); count[i] = c.count();
            structSize[i] = c.structSize();
            byte[] a = c.args().toArray(ValueLayout.JAVA_BYTE);
            argBytes = grow(argBytes, argLen + a.length);
            System.arraycopy(a, 0, argBytes, argLen, a.length);
            argAt[i] = argLen;
            argLen += a.length;
            argEnd[i] = argLen;
        }

        private int read(int domid, long frame, int offset, int len, boolean ok, byte[] src, int srcOff) {
            if (reads == readDom.length) {
                int n = reads * 2;
                readDom = Arrays.copyOf(readDom, n); readOff = Arrays.copyOf(readOff, n);
                readLen = Arrays.copyOf(readLen, n); readAt = Arrays.copyOf(readAt, n);
                readFrame = Arrays.copyOf(readFrame, n); readOk = Arrays.copyOf(readOk, n);
            }
            int k = reads++;
            readDom[k] = domid; readFrame[k] = frame; readOff[k] = offset; readLen[k] = len; readOk[k] = ok;
            readAt[k] = byteLen;
            if (ok) {
                bytes = grow(bytes, byteLen + len);
                System.arraycopy(src, srcOff, bytes, byteLen, len);
                byteLen += len;
            }
            return k;
        }

        private static byte[] grow(byte[] b, int need) {
            return need <= b.length ? b : Arrays.copyOf(b, Math.max(need, b.length * 2));
        }

        @Override
        public boolean read(int domid, long frame, int offset, byte[] dst, int dstOff, int len) {
            boolean ok = memory.read(domid, frame, offset, dst, dstOff, len);
            read(domid, frame, offset, len, ok, dst, dstOff);
            return ok;
        }

        @Override
        public boolean read(int domid, long frame, int offset, MemorySegment dst) {
            boolean ok = memory.read(domid, frame, offset, dst);
            byte[] b = ok ? dst.toArray(ValueLayout.JAVA_BYTE) : null;
            read(domid, frame, offset, (int) dst.byteSize(), ok, b, 0);
            return ok;
        }

        @Override
        public int grantTableFrames(int domid, long[] out) {
            int n = memory.grantTableFrames(domid, out);
            gtFrames.add(Arrays.copyOf(out, Math.max(0, Math.min(out.length, n))));
            gtCount.add(n);
            return n;
        }
    }
}
