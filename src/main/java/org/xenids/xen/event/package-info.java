/**
 * What a Xen hypervisor sees, as a stream: the contract between a Xen host (the emulated one of
 * {@code org.xenids.xen.emu}, or later a real Xen traced from outside) and the tap that rebuilds
 * network frames. Nothing here refers to emulator objects; a trace of a real Xen can implement
 * the same interfaces.
 *
 * <h2>The stream</h2>
 * A host calls every registered {@link org.xenids.xen.event.HypercallListener} for every
 * {@code grant_table_op} (20) and {@code event_channel_op} (32) hypercall of every domain:
 * <ol>
 *   <li>{@code allow(call, i)} before element {@code i} of the op array is applied (inline
 *       prevention: refusing makes that element fail as an XSM refusal does, with
 *       {@code GNTST_permission_denied} in its status for grant ops, or the hypercall returning
 *       {@code -XEN_EPERM} for event-channel ops);</li>
 *   <li>{@code completed(call)} once after the hypercall returned, with the OUT fields
 *       (statuses, handles, {@code dev_bus_addr}, allocated ports) filled in.</li>
 * </ol>
 * {@link org.xenids.xen.event.Hypercall} carries the caller's domid, the hypercall number and
 * command, the element count, the op array as the caller's ABI bytes (layouts in
 * {@code org.xenids.xen.abi}), the return value, a host timestamp and a sequence number. The view
 * is reused: it is valid only during the callback, and a listener copies what it keeps.
 *
 * <h2>Memory</h2>
 * {@link org.xenids.xen.event.DomainMemory} reads any domain's memory by (domid, frame number),
 * and lists a domain's grant-table frames (the frames {@code GNTTABOP_setup_table} returns), so a
 * reader sees the real grant entries ({@code grant_entry_v1}: flags, domid, frame) and the ring
 * pages the entries point at. Frame numbers are those the ABI carries: grant entries,
 * {@code gmfn} copy sides and {@code dev_bus_addr >> 12} of a map all name the same frames (the
 * PV model, where guest frame numbers are machine frames).
 *
 * <h2>What is not in the stream</h2>
 * XenStore traffic (a dom0 daemon, not the hypervisor), guests' reads and writes of their own and
 * mapped memory, and the data of an event send (a send has none). A tap finds the network rings
 * from the stream itself: {@code bind_interdomain} pairs a backend port with a frontend's unbound
 * port, {@code map_grant_ref} by the backend maps the frontend's ring pages (read through
 * {@code dev_bus_addr}), requests in those pages name the grant refs that later copies and maps
 * use.
 */
package org.xenids.xen.event;
