package org.xenids.decode;

import java.nio.charset.StandardCharsets;
import org.xenids.flow.Flow;
import org.xenids.flow.FlowConfig;
import org.xenids.flow.FlowTable;
import org.xenids.flow.Pipeline;
import org.xenids.flow.StreamListener;

/** A pipeline that keeps what its TCP streams deliver toward servers, as text: what a receiver took. */
final class StreamText {
    final StringBuilder toServer = new StringBuilder();
    final Pipeline pipeline = new Pipeline(new Decoder(), new FlowTable(FlowConfig.defaults(), new StreamListener() {
        @Override
        public void payload(Flow f, boolean server, byte[] buf, int off, int len, long at) {
            if (server) {
                toServer.append(new String(buf, off, len, StandardCharsets.ISO_8859_1));
            }
        }
    }));

    /** Feeds one IP packet ({@code etherType} 0x0800 or 0x86DD) in an Ethernet frame. */
    void ip(int etherType, byte[] packet) {
        byte[] f = org.xenids.testdata.PacketBuilder.ethernet(etherType, packet);
        pipeline.frame(f, 0, f.length, 1, Decoder.LINKTYPE_ETHERNET);
    }
}
