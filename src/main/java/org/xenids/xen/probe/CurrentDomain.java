package org.xenids.xen.probe;

import java.io.IOException;
import org.xenids.xen.rsp.GdbRemote;

/**
 * Which domain made the hypercall the machine is stopped in. Xen keeps {@code current} in the
 * {@code struct cpu_info} at the top of each CPU's hypervisor stack; this build's code loads it
 * as {@code *((rsp | (STACK_SIZE−1)) − 0x37)} and {@code vcpu->domain} at +0x10 (after
 * {@code vcpu_id}, {@code processor}, {@code vcpu_info}); {@code domain_id} is the domain's first
 * u16. The {@code -dbg} package has symbols but no DWARF, so these offsets are checked at the
 * first stop against what the symbols say ({@link #verify}): the stack pointer lies in
 * {@code stack_base[cpu]}'s stack, the vCPU found there is {@code per_cpu(curr_vcpu, cpu)}, and
 * the first caller's domain is {@code hardware_domain} with id 0. A build where they do not hold
 * is refused with the check that failed, never read with wrong offsets.
 */
final class CurrentDomain {
    static final long STACK_MASK = 0x7fff, CURRENT_VCPU = 0x37, VCPU_PROCESSOR = 0x4, VCPU_DOMAIN = 0x10;
    /** NR_CPUS of Debian's build is 256 or more; a processor number past this is not a vCPU's. */
    static final int MAX_CPUS = 4096;

    private final long stackBase, perCpuOffset, currVcpu, hardwareDomain;
    private boolean verified;

    CurrentDomain(XenSymbols syms) throws IOException {
        this.stackBase = syms.address("stack_base");
        this.perCpuOffset = syms.address("__per_cpu_offset");
        this.currVcpu = syms.address("per_cpu__curr_vcpu");
        this.hardwareDomain = syms.address("hardware_domain");
    }

    /** The calling domain's id at a hypercall entry stop with stack pointer {@code rsp}. */
    int domid(GdbRemote gdb, long rsp) throws IOException {
        long vcpu = gdb.readLong((rsp | STACK_MASK) - CURRENT_VCPU);
        long domain = gdb.readLong(vcpu + VCPU_DOMAIN);
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
            throw refuse("current (stack top - 0x" + Long.toHexString(CURRENT_VCPU + 1) + ") = 0x"
                    + Long.toHexString(vcpu) + " has processor " + cpu);
        }
        long stack = gdb.readLong(stackBase + 8L * cpu);
        if (rsp < stack || rsp > stack + STACK_MASK) {
            throw refuse("rsp 0x" + Long.toHexString(rsp) + " is not in stack_base[" + cpu + "] = 0x"
                    + Long.toHexString(stack) + " + 0x" + Long.toHexString(STACK_MASK + 1));
        }
        long curr = gdb.readLong(currVcpu + gdb.readLong(perCpuOffset + 8L * cpu));
        if (curr != vcpu) {
            throw refuse("current from the stack 0x" + Long.toHexString(vcpu) + " is not per_cpu(curr_vcpu, " + cpu
                    + ") = 0x" + Long.toHexString(curr));
        }
        long hw = gdb.readLong(hardwareDomain);
        byte[] id = gdb.readMemory(domain, 2);
        if (domain != hw || id[0] != 0 || id[1] != 0) {
            throw refuse("the first caller's vcpu->domain (+0x" + Long.toHexString(VCPU_DOMAIN) + ") = 0x"
                    + Long.toHexString(domain) + " is not hardware_domain 0x" + Long.toHexString(hw) + " with id 0");
        }
    }

    private static IOException refuse(String what) {
        return new IOException("probe: this hypervisor's layout is not the one the probe reads (" + what + ")");
    }
}
