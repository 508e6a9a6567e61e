package org.xenids.xen.event;

import java.lang.foreign.MemorySegment;

/**
 * One hypercall as the hypervisor sees it (see the package comment for the stream contract).
 * A reused view: valid only during the listener callback that received it.
 */
public interface Hypercall {

    /** Position in the host's stream, from 1, without gaps. */
    long sequence();

    /** Host time of the call in nanoseconds (the emulator's clock, or a trace's timestamps). */
    long timestampNanos();

    /** The calling domain (never DOMID_SELF: the hypervisor knows who calls). */
    int callerDomid();

    /** Hypercall number: {@code __HYPERVISOR_grant_table_op} or {@code __HYPERVISOR_event_channel_op}. */
    int op();

    /** {@code GNTTABOP_*} or {@code EVTCHNOP_*}. */
    int cmd();

    /** Number of op structs in {@link #args()} (1 for event-channel ops). */
    int count();

    /**
     * The op array as the caller's bytes, {@code count() * struct size} long, read-only.
     * In {@code allow} it holds what the caller wrote (OUT fields of elements already applied
     * are filled); in {@code completed} every OUT field is filled.
     */
    MemorySegment args();

    /** The hypercall's return value: 0, or {@code -XEN_E*}; 0 until completed. */
    long result();

    /** Size in bytes of one op struct of this command, or 0 when the command is not one xenids decodes. */
    int structSize();
}
