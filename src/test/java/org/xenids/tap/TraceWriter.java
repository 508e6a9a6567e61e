package org.xenids.tap;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;
import org.xenids.xen.event.DomainMemory;

/** Writes tap trace records by hand, in the format of docs/tap-trace.md (for hand-made test traces). */
final class TraceWriter {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    long records, calls, seq;

    TraceWriter() {
        ByteBuffer h = ByteBuffer.allocate(Trace.HEADER).order(ByteOrder.LITTLE_ENDIAN);
        h.put(Trace.MAGIC).putShort((short) Trace.VERSION).putShort((short) Trace.HEADER).putInt(0).putLong(0)
                .putInt(DomainMemory.PAGE_SIZE);
        CRC32C c = new CRC32C();
        c.update(h.array(), 0, 28);
        h.putInt((int) c.getValue());
        out.writeBytes(h.array());
    }

    void record(int type, byte[] body) {
        ByteBuffer r = ByteBuffer.allocate(Trace.REC_HEAD + body.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        r.put((byte) type).put((byte) 0).putShort((short) 0).putInt(body.length).put(body);
        CRC32C c = new CRC32C();
        c.update(r.array(), 0, Trace.REC_HEAD + body.length);
        r.putInt((int) c.getValue());
        out.writeBytes(r.array());
        records++;
    }

    /** An event-channel send by domain 0: a call no tap acts on. */
    void call() {
        ByteBuffer b = ByteBuffer.allocate(Trace.CALL_FIXED + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(++seq).putLong(seq * 1000).putShort((short) 0).putShort((short) 32).putShort((short) 4)
                .putShort((short) 4).putInt(1).putInt(0).putLong(0).putInt(7);
        record(Trace.T_CALL, b.array());
        calls++;
    }

    void read(int domid, int phase, long frame, int offset, byte[] bytes) {
        ByteBuffer b = ByteBuffer.allocate(Trace.READ_FIXED + bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) domid).putShort((short) phase).putInt(offset).putLong(frame).put(bytes);
        record(Trace.T_READ, b.array());
    }

    void failed(int domid, int phase, long frame, int offset, int len) {
        ByteBuffer b = ByteBuffer.allocate(Trace.READ_FIXED + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) domid).putShort((short) phase).putInt(offset).putLong(frame).putInt(len);
        record(Trace.T_READ_FAILED, b.array());
    }

    byte[] end() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(records).putLong(calls);
        record(Trace.T_END, b.array());
        return out.toByteArray();
    }
}
