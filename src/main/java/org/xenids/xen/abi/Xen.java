package org.xenids.xen.abi;

/**
 * Constants of Xen's public headers (4.17), named exactly as in C so the layout test can ask gcc
 * for each one by name: hypercall numbers, op commands, flags, status codes and states.
 * Every {@code public static final} field here is listed by {@link XenAbi#constants()}.
 */
public final class Xen {
    private Xen() {}

    // xen.h: hypercall numbers (current interface; the pre-3.2 compat numbers are not used).
    public static final int __HYPERVISOR_grant_table_op = 20;
    public static final int __HYPERVISOR_event_channel_op = 32;
    public static final int DOMID_FIRST_RESERVED = 0x7FF0;
    public static final int DOMID_SELF = 0x7FF0;
    public static final int DOMID_IO = 0x7FF1;
    public static final int DOMID_XEN = 0x7FF2;
    public static final int DOMID_INVALID = 0x7FF4;

    // errno.h: hypercalls return 0 or −XEN_E*.
    public static final int XEN_EPERM = 1;
    public static final int XEN_ESRCH = 3;
    public static final int XEN_EFAULT = 14;
    public static final int XEN_EINVAL = 22;
    public static final int XEN_ENOSPC = 28;
    public static final int XEN_ENOSYS = 38;

    // grant_table.h
    public static final int GNTTABOP_map_grant_ref = 0;
    public static final int GNTTABOP_unmap_grant_ref = 1;
    public static final int GNTTABOP_setup_table = 2;
    public static final int GNTTABOP_dump_table = 3;
    public static final int GNTTABOP_transfer = 4;
    public static final int GNTTABOP_copy = 5;
    public static final int GNTTABOP_query_size = 6;
    public static final int GNTTABOP_unmap_and_replace = 7;
    public static final int GNTTABOP_set_version = 8;
    public static final int GNTTABOP_get_status_frames = 9;
    public static final int GNTTABOP_get_version = 10;
    public static final int GNTTABOP_swap_grant_ref = 11;
    public static final int GNTTABOP_cache_flush = 12;

    public static final int GNTTAB_NR_RESERVED_ENTRIES = 8;
    public static final int GNTTAB_RESERVED_CONSOLE = 0;
    public static final int GNTTAB_RESERVED_XENSTORE = 1;

    public static final int GTF_invalid = 0;
    public static final int GTF_permit_access = 1;
    public static final int GTF_accept_transfer = 2;
    public static final int GTF_transitive = 3;
    public static final int GTF_type_mask = 3;
    public static final int GTF_readonly = 1 << 2;
    /** Set by Xen while the grant is mapped or copied from (any access). */
    public static final int GTF_reading = 1 << 3;
    /** Set by Xen while the grant is mapped writable or copied into. */
    public static final int GTF_writing = 1 << 4;
    public static final int GTF_PWT = 1 << 5;
    public static final int GTF_PCD = 1 << 6;
    public static final int GTF_PAT = 1 << 7;
    public static final int GTF_sub_page = 1 << 8;
    public static final int GTF_transfer_committed = 1 << 2;
    public static final int GTF_transfer_completed = 1 << 3;

    public static final int GNTMAP_device_map = 1 << 0;
    public static final int GNTMAP_host_map = 1 << 1;
    public static final int GNTMAP_readonly = 1 << 2;
    public static final int GNTMAP_application_map = 1 << 3;
    public static final int GNTMAP_contains_pte = 1 << 4;

    public static final int GNTCOPY_source_gref = 1 << 0;
    public static final int GNTCOPY_dest_gref = 1 << 1;

    public static final int GNTST_okay = 0;
    public static final int GNTST_general_error = -1;
    public static final int GNTST_bad_domain = -2;
    public static final int GNTST_bad_gntref = -3;
    public static final int GNTST_bad_handle = -4;
    public static final int GNTST_bad_virt_addr = -5;
    public static final int GNTST_bad_dev_addr = -6;
    public static final int GNTST_no_device_space = -7;
    public static final int GNTST_permission_denied = -8;
    public static final int GNTST_bad_page = -9;
    public static final int GNTST_bad_copy_arg = -10;
    public static final int GNTST_address_too_big = -11;
    public static final int GNTST_eagain = -12;
    public static final int GNTST_no_space = -13;

    // event_channel.h
    public static final int EVTCHNOP_bind_interdomain = 0;
    public static final int EVTCHNOP_bind_virq = 1;
    public static final int EVTCHNOP_bind_pirq = 2;
    public static final int EVTCHNOP_close = 3;
    public static final int EVTCHNOP_send = 4;
    public static final int EVTCHNOP_status = 5;
    public static final int EVTCHNOP_alloc_unbound = 6;
    public static final int EVTCHNOP_bind_ipi = 7;
    public static final int EVTCHNOP_bind_vcpu = 8;
    public static final int EVTCHNOP_unmask = 9;
    public static final int EVTCHNOP_reset = 10;

    // io/netif.h
    public static final int NETTXF_csum_blank = 1 << 0;
    public static final int NETTXF_data_validated = 1 << 1;
    public static final int NETTXF_more_data = 1 << 2;
    public static final int NETTXF_extra_info = 1 << 3;
    public static final int NETRXF_data_validated = 1 << 0;
    public static final int NETRXF_csum_blank = 1 << 1;
    public static final int NETRXF_more_data = 1 << 2;
    public static final int NETRXF_extra_info = 1 << 3;
    public static final int NETRXF_gso_prefix = 1 << 4;
    public static final int XEN_NETIF_EXTRA_TYPE_NONE = 0;
    public static final int XEN_NETIF_EXTRA_TYPE_GSO = 1;
    public static final int XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
    public static final int XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
    public static final int XEN_NETIF_EXTRA_TYPE_HASH = 4;
    public static final int XEN_NETIF_EXTRA_TYPE_MAX = 5;
    public static final int XEN_NETIF_EXTRA_FLAG_MORE = 1 << 0;
    public static final int XEN_NETIF_GSO_TYPE_NONE = 0;
    public static final int XEN_NETIF_GSO_TYPE_TCPV4 = 1;
    public static final int XEN_NETIF_GSO_TYPE_TCPV6 = 2;
    public static final int XEN_NETIF_NR_SLOTS_MIN = 18;
    public static final int XEN_NETIF_MAX_TX_SIZE = 0xFFFF;
    public static final int NETIF_RSP_DROPPED = -2;
    public static final int NETIF_RSP_ERROR = -1;
    public static final int NETIF_RSP_OKAY = 0;
    public static final int NETIF_RSP_NULL = 1;
    /** {@code __CONST_RING_SIZE(netif_tx, 4096)} (Linux's NET_TX_RING_SIZE). */
    public static final int NET_TX_RING_SIZE = 256;
    /** {@code __CONST_RING_SIZE(netif_rx, 4096)} (Linux's NET_RX_RING_SIZE). */
    public static final int NET_RX_RING_SIZE = 256;

    // io/xenbus.h
    public static final int XenbusStateUnknown = 0;
    public static final int XenbusStateInitialising = 1;
    public static final int XenbusStateInitWait = 2;
    public static final int XenbusStateInitialised = 3;
    public static final int XenbusStateConnected = 4;
    public static final int XenbusStateClosing = 5;
    public static final int XenbusStateClosed = 6;
    public static final int XenbusStateReconfiguring = 7;
    public static final int XenbusStateReconfigured = 8;
}
