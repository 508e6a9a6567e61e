package org.xenids.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.xenids.testdata.PacketBuilder;

/**
 * Vectors: the tuple of the Community ID spec's README (1:LQU9qZlK+B5F3KDmev6m5PMibrg=), and the
 * others as Wireshark 4.0's communityid dissector computes them (frames built for the purpose,
 * {@code tshark --enable-protocol communityid -o communityid.seed:S -e communityid}).
 */
class CommunityIdTest {

    static long[] a(String s) {
        byte[] b = PacketBuilder.addr(s);
        if (b.length == 4) return new long[] {0, 0xFFFF00000000L | (ByteBuffer.wrap(b).getInt() & 0xFFFFFFFFL)};
        ByteBuffer bb = ByteBuffer.wrap(b);
        return new long[] {bb.getLong(), bb.getLong()};
    }

    static String id(CommunityId c, int proto, String src, int sp, String dst, int dp) {
        long[] s = a(src), d = a(dst);
        return c.hash(proto, s[0], s[1], d[0], d[1], sp, dp);
    }

    @Test
    void matchesTheSpecExampleAndWiresharkWithSeedZero() {
        CommunityId c = new CommunityId(0);
        assertEquals("1:LQU9qZlK+B5F3KDmev6m5PMibrg=", id(c, 6, "128.232.110.120", 34855, "66.35.250.204", 80));
        assertEquals("1:LQU9qZlK+B5F3KDmev6m5PMibrg=", id(c, 6, "66.35.250.204", 80, "128.232.110.120", 34855));
        assertEquals("1:d/FP5EW3wiY1vCndhwleRRKHowQ=", id(c, 17, "192.168.1.52", 54585, "8.8.8.8", 53));
        assertEquals("1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", id(c, 132, "192.168.170.8", 7, "192.168.170.56", 80));
        assertEquals("1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", id(c, 1, "192.168.0.89", 8, "192.168.0.1", 0));
        assertEquals("1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", id(c, 1, "192.168.0.1", 0, "192.168.0.89", 0), "echo reply pairs with its request");
        assertEquals("1:ZouhgnVac3AK62b9tKlLG4N+dVQ=", id(c, 1, "192.168.0.1", 3, "192.168.0.89", 3), "unreachable is one-way");
        assertEquals("1:+KlEHDT0vJgzs/eNmzHq0aSpRYw=", id(c, 47, "10.0.0.1", 0, "10.0.0.2", 0));
        assertEquals("1:qks/3QWYq4Gr1VUovje77qHKG3c=", id(c, 6, "2001:db8::1", 4000, "2001:db8::2", 443));
        assertEquals("1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", id(c, 58, "fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 0));
        assertEquals("1:GpbEQrKqfWtsfsFiqg8fufoZe5Y=", id(c, 58, "3ffe:507:0:1:200:86ff:fe05:80da", 128, "3ffe:507:0:1:260:97ff:fe07:69ea", 0));
        assertEquals("1:gTqu7VsUsAmnYtRcECfFr8lTno8=", id(c, 58, "3ffe:507:0:1:260:97ff:fe07:69ea", 1, "3ffe:507:0:1:200:86ff:fe05:80da", 4));
        assertEquals("1:+SLDQ+xwzq8AJzoEl6k7WhPvhLY=", id(c, 6, "10.0.0.5", 80, "10.0.0.5", 1234), "same address: ordered by port");
    }

    @Test
    void seedChangesTheHashAsInWireshark() {
        CommunityId c = new CommunityId(1);
        assertEquals("1:3V71V58M3Ksw/yuFALMcW0LAHvc=", id(c, 6, "128.232.110.120", 34855, "66.35.250.204", 80));
        assertEquals("1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", id(c, 17, "192.168.1.52", 54585, "8.8.8.8", 53));
        assertEquals("1:03g6IloqVBdcZlPyX8r0hgoE7kA=", id(c, 1, "192.168.0.89", 8, "192.168.0.1", 0));
        assertEquals("1:/PCNmAu+4POSHfR5zl9kCT6ue6Q=", id(c, 1, "192.168.0.1", 3, "192.168.0.89", 3));
        assertEquals("1:BuvF116GIMVorQSVAHuZSothg0Q=", id(c, 47, "10.0.0.1", 0, "10.0.0.2", 0));
        assertEquals("1:gx+d72wl6PJ/+JC4+QDhLw7BF0c=", id(c, 6, "2001:db8::1", 4000, "2001:db8::2", 443));
        assertEquals("1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=", id(c, 58, "fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 0));
        assertEquals("1:raX4Iq1lSad0NYDvo2IhMui6YZM=", id(c, 6, "10.0.0.5", 80, "10.0.0.5", 1234));
    }

    @Test
    void seedOutsideSixteenBitsIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new CommunityId(65536));
    }
}
