package org.xenids.xen.event;

/**
 * Told about every grant-table and event-channel hypercall of a host (contract in the package
 * comment). Called on the host's thread; must not make hypercalls itself.
 */
public interface HypercallListener {

    /**
     * Before element {@code index} of {@code call} is applied. Return false to refuse it: the
     * element then fails as an access-control refusal of a real Xen does
     * ({@code GNTST_permission_denied} for a grant op, {@code -XEN_EPERM} for an event-channel op).
     */
    default boolean allow(Hypercall call, int index) {
        return true;
    }

    /** After the hypercall has been applied, with its results filled in. */
    void completed(Hypercall call);
}
