package org.xenids.xen.abi;

import java.lang.foreign.MemorySegment;

/** Event-channel op structs of {@code xen/event_channel.h} (ports are u32, domids u16). */
public final class Evtchn {
    private Evtchn() {}

    /** {@code evtchn_alloc_unbound}: dom and remote_dom IN, port OUT. */
    public static final class AllocUnbound {
        private AllocUnbound() {}
        public static final int SIZE = 8, DOM = 0, REMOTE_DOM = 2, PORT = 4;
        public static final StructLayout LAYOUT = StructLayout.of("evtchn_alloc_unbound", SIZE,
                "dom", DOM, 2, "remote_dom", REMOTE_DOM, 2, "port", PORT, 4);
        public static int dom(MemorySegment s, long at) { return Le.u16(s, at + DOM); }
        public static int remoteDom(MemorySegment s, long at) { return Le.u16(s, at + REMOTE_DOM); }
        public static int port(MemorySegment s, long at) { return Le.u32(s, at + PORT); }
        public static void set(MemorySegment s, long at, int dom, int remoteDom) {
            Le.u16(s, at + DOM, dom);
            Le.u16(s, at + REMOTE_DOM, remoteDom);
            Le.u32(s, at + PORT, 0);
        }
        static void port(MemorySegment s, long at, int port) { Le.u32(s, at + PORT, port); }
    }

    /** {@code evtchn_bind_interdomain}: remote_dom and remote_port IN, local_port OUT. */
    public static final class BindInterdomain {
        private BindInterdomain() {}
        public static final int SIZE = 12, REMOTE_DOM = 0, REMOTE_PORT = 4, LOCAL_PORT = 8;
        public static final StructLayout LAYOUT = StructLayout.of("evtchn_bind_interdomain", SIZE,
                "remote_dom", REMOTE_DOM, 2, "remote_port", REMOTE_PORT, 4, "local_port", LOCAL_PORT, 4);
        public static int remoteDom(MemorySegment s, long at) { return Le.u16(s, at + REMOTE_DOM); }
        public static int remotePort(MemorySegment s, long at) { return Le.u32(s, at + REMOTE_PORT); }
        public static int localPort(MemorySegment s, long at) { return Le.u32(s, at + LOCAL_PORT); }
        public static void set(MemorySegment s, long at, int remoteDom, int remotePort) {
            Le.u16(s, at + REMOTE_DOM, remoteDom);
            Le.u16(s, at + 2, 0);
            Le.u32(s, at + REMOTE_PORT, remotePort);
            Le.u32(s, at + LOCAL_PORT, 0);
        }
        static void localPort(MemorySegment s, long at, int port) { Le.u32(s, at + LOCAL_PORT, port); }
    }

    /** {@code evtchn_send}, {@code evtchn_close}, {@code evtchn_unmask}: one u32 port each. */
    public static final class PortOp {
        private PortOp() {}
        public static final int SIZE = 4, PORT = 0;
        public static final StructLayout SEND = StructLayout.of("evtchn_send", SIZE, "port", PORT, 4);
        public static final StructLayout CLOSE = StructLayout.of("evtchn_close", SIZE, "port", PORT, 4);
        public static final StructLayout UNMASK = StructLayout.of("evtchn_unmask", SIZE, "port", PORT, 4);
        public static int port(MemorySegment s, long at) { return Le.u32(s, at + PORT); }
        public static void set(MemorySegment s, long at, int port) { Le.u32(s, at + PORT, port); }
    }
}
