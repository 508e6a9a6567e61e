package org.xenids.vmi.memory;

/** A read that touched an address the memory source does not hold (or a page not present). */
public class MemoryFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;

    public MemoryFault(long address, String message) {
        super(message);
        this.address = address;
    }

    /** The first faulting address (physical or virtual, as the message says). */
    public long address() { return address; }
}
