package org.xenids.vmi.linux;

/**
 * One task_struct as read from guest memory. {@code ppid} (real_parent's tgid) and {@code uid}
 * (cred's uid) are -1 when they could not be read or the type source lacks their offsets;
 * {@code startTimeNs} is the kernel's monotonic start time (0 when unknown).
 */
public record Task(long address, int pid, int tgid, int ppid, int uid, String comm,
                   boolean kernelThread, long startTimeNs) {

    /** True for a thread that is not its group's leader. */
    public boolean isThread() { return tgid >= 0 && pid != tgid; }
}
