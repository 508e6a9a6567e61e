package org.xenids.vmi.linux;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.xenids.vmi.arch.VirtualMemory;
import org.xenids.vmi.memory.MemoryFault;
import org.xenids.vmi.memory.PhysicalMemory;

/**
 * A tiny, well-formed guest kernel built in a byte array with the real kernel's layouts (from
 * its BTF): init_task plus {@code n} tasks on the task list, in init's children list, and in an
 * one-node pid xarray. Tests then corrupt it (cycles, holes, non-canonical pointers…).
 * Physical p is virtual {@link #BASE} + p; everything else faults.
 */
final class SyntheticKernel {
    static final long BASE = 0xffff888000000000L;
    static final int SIZE = 1 << 20;
    static final long SCHED = 0xffffffff82415590L;
    static final int TASK_STRIDE = 0x4000;
    static final long NS = BASE + 0x100;
    static final long NODE = BASE + 0x800;
    static final long CRED = BASE + 0xF0000;

    final byte[] mem = new byte[SIZE];
    /** Pretend to be a running guest; after {@code healAfterReads} reads, memory becomes {@code healed}. */
    boolean live;
    int healAfterReads = -1;
    byte[] healed;
    int reads;
    final ByteBuffer b = ByteBuffer.wrap(mem).order(ByteOrder.LITTLE_ENDIAN);
    final Layout l;
    final KernelTypes types;
    final int n;

    SyntheticKernel(KernelTypes types, int n) {
        if (n < 1 || n > 60) {
            throw new IllegalArgumentException("1..60 tasks");
        }
        this.types = types;
        this.l = Layout.of(types);
        this.n = n;
        put32(CRED + l.credUid(), 1000);
        put64(NS + l.nsIdrHead(), NODE | 2);
        mem[(int) (NODE - BASE + l.xaShift())] = 0;
        for (int i = 0; i <= n; i++) {
            long t = task(i);
            put32(t + l.pid(), i);
            put32(t + l.tgid(), i);
            byte[] c = (i == 0 ? "swapper/0" : "task-" + i).getBytes(StandardCharsets.ISO_8859_1);
            b.put((int) (t + l.comm() - BASE), c);
            put32(t + l.flags(), i == 0 ? TaskWalks.PF_KTHREAD : 0);
            put64(t + l.mm(), i == 0 ? 0 : BASE + 0xE0000);
            put64(t + l.realParent(), task(0));
            put64(t + l.cred(), CRED);
            put64(t + l.schedClass(), SCHED);
            put64(t + l.startTime(), 1_000_000L * i);
            // tasks list: 0 → 1 → … → n → 0
            long self = t + l.tasks();
            put64(self, task((i + 1) % (n + 1)) + l.tasks());
            put64(self + 8, task((i + n) % (n + 1)) + l.tasks());
            // children of init: 1..n through sibling; every other task has an empty children list
            put64(t + l.children(), t + l.children());
            put64(t + l.children() + 8, t + l.children());
            if (i > 0) {
                long sib = t + l.sibling();
                put64(sib, i == n ? task(0) + l.children() : task(i + 1) + l.sibling());
                put64(sib + 8, i == 1 ? task(0) + l.children() : task(i - 1) + l.sibling());
                long pid = pidStruct(i);
                put32(pid + l.pidNr(), i);
                put64(pid + l.pidTasks0(), t + l.pidLinks0());
                put64(t + l.pidLinks0() + 8, pid + l.pidTasks0());
                put64(t + l.threadPid(), pid);
                put64(NODE + l.xaSlots() + 8L * i, pid);
            }
        }
        put64(task(0) + l.children(), task(1) + l.sibling());
        put64(task(0) + l.children() + 8, task(n) + l.sibling());
    }

    static long task(int i) { return BASE + 0x10000 + (long) i * TASK_STRIDE; }

    static long pidStruct(int i) { return BASE + 0x8000 + i * 0x100L; }

    void put64(long va, long v) { b.putLong((int) (va - BASE), v); }

    void put32(long va, int v) { b.putInt((int) (va - BASE), v); }

    long get64(long va) { return b.getLong((int) (va - BASE)); }

    Symbols symbols() {
        Map<String, Long> m = Map.of("init_task", task(0), "init_pid_ns", NS, "fair_sched_class", SCHED);
        return new Symbols() {
            @Override public OptionalLong address(String name) {
                Long a = m.get(name);
                return a == null ? OptionalLong.empty() : OptionalLong.of(a);
            }
            @Override public String source() { return "synthetic symbols"; }
        };
    }

    PhysicalMemory physical() {
        List<PhysicalMemory.Range> ranges = List.of(new PhysicalMemory.Range(0, SIZE));
        return new PhysicalMemory() {
            @Override public List<Range> ranges() { return ranges; }
            @Override public void read(long paddr, MemorySegment dst) {
                if (paddr < 0 || paddr > SIZE - dst.byteSize()) {
                    throw new MemoryFault(paddr, String.format("physical 0x%x outside the synthetic RAM", paddr));
                }
                if (healAfterReads >= 0 && ++reads == healAfterReads) {
                    System.arraycopy(healed, 0, mem, 0, SIZE);
                }
                MemorySegment.copy(MemorySegment.ofArray(mem), paddr, dst, 0, dst.byteSize());
            }
            @Override public boolean live() { return live; }
            @Override public String describe() { return "synthetic kernel memory"; }
        };
    }

    VirtualMemory virtual() {
        PhysicalMemory pm = physical();
        return new VirtualMemory() {
            @Override public long translate(long vaddr) {
                VirtualMemory.requireCanonical48(vaddr);
                long off = vaddr - BASE;
                if (off < 0 || off >= SIZE) {
                    throw new MemoryFault(vaddr, String.format("virtual address 0x%016x is not mapped", vaddr));
                }
                return off;
            }
            @Override public void read(long vaddr, MemorySegment dst) {
                translate(vaddr);
                translate(vaddr + dst.byteSize() - 1);
                pm.read(vaddr - BASE, dst);
            }
            @Override public long dtb() { return 0; }
        };
    }

    LinuxGuest guest() {
        return LinuxGuest.open(physical(), virtual(), symbols(), types);
    }
}
