package org.xenids.xen.probe;

import java.io.IOException;
import org.xenids.xen.rsp.GdbRemote;

/**
 * Which domain made the hypercall the machine is stopped in. Xen keeps {@code current} in the
 * {@code struct cpu_info} at the top of each CPU's hypervisor stack, and {@code domain_id} is the
 * domain's first u16. The {@code -dbg} package has symbols but no DWARF, so the offsets are read
 * from the hypervisor's own code: {@code do_grant_table_op} loads {@code current->domain} as
 * {@code mov %rsp,%rax; or $(STACK_SIZE−1),%rax; mov −d1(%rax),%rax; mov d2(%rax),%rax}
 * (4.17: 0x7fff, 0x37, 0x10, the defaults when the sequence is not found). They are then checked
 * at the first stop against what the symbols say ({@link #verify}): the stack pointer lies in
 * {@code stack_base[cpu]}'s stack, the vCPU found there is {@code per_cpu(curr_vcpu, cpu)}, and
 * the first caller's domain is {@code hardware_domain} with id 0. A build where they do not hold
 * is refused with the check that failed, never read with wrong offsets.
 */
final class CurrentDomain {
    static final long STACK_MASK = 0x7fff, CURRENT_VCPU = 0x37, VCPU_PROCESSOR = 0x4, VCPU_DOMAIN = 0x10;
    /** Bytes of do_grant_table_op searched for the sequence. */
    static final int SCAN = 4096;

    /** Offsets in use, and whether they were read from the code. */
    final long stackMask, currentVcpu, vcpuDomain;
    final boolean fromCode;
    /** NR_CPUS of Debian's build is 256 or more; a processor number past this is not a vCPU's. */
    static final int MAX_CPUS = 4096;

    private final long stackBase, perCpuOffset, currVcpu, hardwareDomain;
    private boolean verified;

    CurrentDomain(XenSymbols syms) throws IOException {
        this.stackBase = syms.address("stack_base");
        this.perCpuOffset = syms.address("__per_cpu_offset");
        this.currVcpu = syms.address("per_cpu__curr_vcpu");
        this.hardwareDomain = syms.address("hardware_domain");
        long[] d = fromCode(syms.code(syms.address("do_grant_table_op"), SCAN));
        this.fromCode = d != null;
        this.stackMask = d != null ? d[0] : STACK_MASK;
        this.currentVcpu = d != null ? d[1] : CURRENT_VCPU;
        this.vcpuDomain = d != null ? d[2] : VCPU_DOMAIN;
    }

    /**
     * {STACK_SIZE−1, current's distance below it, vcpu->domain} from the first
     * {@code 48 89 e0 / 48 0d imm32 / 48 8b 40 d1 / 48 8b 40 d2} in {@code code}, or null.
     */
    static long[] fromCode(byte[] code) {
        for (int i = 0; i + 17 <= code.length; i++) {
            if ((code[i] & 0xff) == 0x48 && (code[i + 1] & 0xff) == 0x89 && (code[i + 2] & 0xff) == 0xe0
                    && (code[i + 3] & 0xff) == 0x48 && (code[i + 4] & 0xff) == 0x0d
                    && (code[i + 9] & 0xff) == 0x48 && (code[i + 10] & 0xff) == 0x8b && (code[i + 11] & 0xff) == 0x40
                    && (code[i + 13] & 0xff) == 0x48 && (code[i + 14] & 0xff) == 0x8b && (code[i + 15] & 0xff) == 0x40) {
                long mask = (code[i + 5] & 0xffL) | (code[i + 6] & 0xffL) << 8 | (code[i + 7] & 0xffL) << 16
                        | (code[i + 8] & 0xffL) << 24;
                int d1 = code[i + 12], d2 = code[i + 16];
                if (mask > 0xfff && (mask & (mask + 1)) == 0 && d1 < 0 && d2 >= 0) {
                    return new long[] {mask, -d1, d2};
                }
            }
        }
        return null;
    }

    /** The calling domain's id at a hypercall entry stop with stack pointer {@code rsp}. */
    int domid(GdbRemote gdb, long rsp) throws IOException {
        long vcpu = gdb.readLong((rsp | stackMask) - currentVcpu);
        long domain = gdb.readLong(vcpu + vcpuDomain);
        if (!verified) {
            verify(gdb, rsp, vcpu, domain);
            verified = true;
        }
        byte[] id = gdb.readMemory(domain, 2);
        return (id[0] & 0xff) | (id[1] & 0xff) << 8;
    }

    private void verify(GdbRemote gdb, long rsp, long vcpu, long domain) throws IOException {
        int cpu = (int) (gdb.readLong(vcpu + VCPU_PROCESSOR) & 0xffffffffL);
        if (cpu < 0 || cpu >= MAX_CPUS) {
            throw refuse("current (stack top - 0x" + Long.toHexString(currentVcpu + 1) + ") = 0x"
                    + Long.toHexString(vcpu) + " has processor " + cpu);
        }
        long stack = gdb.readLong(stackBase + 8L * cpu);
        if (rsp < stack || rsp > stack + stackMask) {
            throw refuse("rsp 0x" + Long.toHexString(rsp) + " is not in stack_base[" + cpu + "] = 0x"
                    + Long.toHexString(stack) + " + 0x" + Long.toHexString(stackMask + 1));
        }
        long curr = gdb.readLong(currVcpu + gdb.readLong(perCpuOffset + 8L * cpu));
        if (curr != vcpu) {
            throw refuse("current from the stack 0x" + Long.toHexString(vcpu) + " is not per_cpu(curr_vcpu, " + cpu
                    + ") = 0x" + Long.toHexString(curr));
        }
        long hw = gdb.readLong(hardwareDomain);
        byte[] id = gdb.readMemory(domain, 2);
        if (domain != hw || id[0] != 0 || id[1] != 0) {
            throw refuse("the first caller's vcpu->domain (+0x" + Long.toHexString(vcpuDomain) + ") = 0x"
                    + Long.toHexString(domain) + " is not hardware_domain 0x" + Long.toHexString(hw) + " with id 0");
        }
    }

    private static IOException refuse(String what) {
        return new IOException("probe: this hypervisor's layout is not the one the probe reads (" + what + ")");
    }
}
