package org.xenids.flow;

/**
 * One direction's urgent byte as its Linux receiver tracks it ({@code tp->urg_seq} while
 * {@code tp->urg_data} is set): one at a time, a newer pointer replacing the one pending.
 *
 * <p>Linux reads the urgent pointer as BSD does ({@code tcp_stdurg} off by default): the urgent
 * byte is the one before the pointer, at {@code seq + pointer − 1} (at {@code seq} for a pointer
 * of 0), and it may lie in a later segment (the pointer reaches up to 65,535 bytes ahead). A
 * pointer to a byte already received, or not past the pending one, is ignored
 * ({@code tcp_check_urg}). The byte is then skipped by {@code tcp_recvmsg} when the application
 * reads up to it, unless the socket has SO_OOBINLINE.
 *
 * <p>Which urgent bytes an application misses depends on when it reads: one that reads as data
 * comes misses every one; one that reads later finds in line an earlier urgent byte whose mark a
 * newer pointer replaced before the read (checked on Linux 6.18 over loopback: urgent bytes X, Y,
 * Z sent 50 ms apart are all skipped; sent 1 ms apart to a reader that waits 200 ms, only Z is).
 * The tap cannot see when a guest's application reads, so this is the first case: each byte is
 * pending from its pointer until it arrives, and a newer pointer replaces only a byte not yet
 * arrived, as in either case.
 */
final class UrgentMark {
    private boolean pending;
    private int seq;
    /** Urgent bytes met in the stream. */
    long bytes;

    void reset() {
        pending = false;
        bytes = 0;
    }

    /** A segment at {@code segSeq} with URG set and {@code pointer}, the stream's next byte at {@code rcvNxt}. */
    void pointer(int segSeq, int pointer, int rcvNxt) {
        int at = segSeq + (pointer != 0 ? pointer - 1 : 0);
        if (at - rcvNxt < 0 || pending && at - seq <= 0) {
            return; // already received, or not newer than the pending one
        }
        pending = true;
        seq = at;
    }

    /** Where the pending urgent byte lies in the {@code len} bytes from {@code from}, or −1. */
    int within(int from, int len) {
        if (!pending) {
            return -1;
        }
        int i = seq - from;
        return i >= 0 && i < len ? i : -1;
    }

    /** The pending byte arrived. */
    void met() {
        pending = false;
        bytes++;
    }

    /**
     * The stream moved on to {@code next} without delivering what lies before it (a gap, past the
     * depth): a byte pending there is gone (left pending, it would seem ahead again 2 GiB later).
     */
    void passed(int next) {
        if (pending && seq - next < 0) {
            pending = false;
        }
    }
}
