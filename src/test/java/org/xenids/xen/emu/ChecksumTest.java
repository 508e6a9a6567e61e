package org.xenids.xen.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.xenids.pcap.CaptureReader;
import org.xenids.testdata.SharedData;

/** The skb checksum state the emulated host gives a frame by where it came from, on real frames. */
class ChecksumTest {

    @Test
    void uplinkTcpWithAGoodChecksumIsValidatedByTheNicAndTheSameFrameCorruptedIsNot() throws IOException {
        int tcpOrUdp = 0, validated = 0, other = 0;
        try (CaptureReader r = CaptureReader.open(SharedData.plain("traffic/dev/test/scenarios/attack_shellcode_tcp.pcap.xz"))) {
            while (r.next()) {
                int len = r.capturedLength();
                byte[] f = java.util.Arrays.copyOfRange(r.array(), r.dataOffset(), r.dataOffset() + len);
                int local = Checksum.ofLocal(f, 0, len, false, false);
                int nic = Checksum.ofNic(f, 0, len, false);
                if (local == Checksum.PARTIAL) {
                    tcpOrUdp++;
                    if (nic == Checksum.UNNECESSARY) {
                        validated++;
                        f[len - 1] ^= 0x5a; // the last byte is the TCP/UDP segment's (no Ethernet padding here)
                        assertEquals(Checksum.NONE, Checksum.ofNic(f, 0, len, false), "corrupted frame still validated");
                    }
                } else {
                    other++;
                    assertEquals(Checksum.NONE, nic);
                }
                // a GRO'd super-frame is PARTIAL whatever its bytes; the control socket's segments NONE
                assertEquals(Checksum.PARTIAL, Checksum.ofNic(f, 0, len, true));
                assertEquals(Checksum.NONE, Checksum.ofLocal(f, 0, len, false, true));
            }
        }
        assertTrue(tcpOrUdp > 0 && validated == tcpOrUdp, "TCP/UDP frames " + tcpOrUdp + ", validated " + validated
                + ", other " + other);
    }

    @Test
    void responseFlagsFollowNetbacksRule() {
        assertEquals(org.xenids.xen.abi.Xen.NETRXF_csum_blank | org.xenids.xen.abi.Xen.NETRXF_data_validated,
                Checksum.rxFlags(Checksum.PARTIAL));
        assertEquals(org.xenids.xen.abi.Xen.NETRXF_data_validated, Checksum.rxFlags(Checksum.UNNECESSARY));
        assertEquals(0, Checksum.rxFlags(Checksum.COMPLETE));
        assertEquals(0, Checksum.rxFlags(Checksum.NONE));
        assertEquals(Checksum.PARTIAL, Checksum.ofTxFlags(org.xenids.xen.abi.Xen.NETTXF_csum_blank, false));
        assertEquals(Checksum.UNNECESSARY, Checksum.ofTxFlags(org.xenids.xen.abi.Xen.NETTXF_data_validated, false));
        assertEquals(Checksum.NONE, Checksum.ofTxFlags(0, false));
        assertEquals(Checksum.PARTIAL, Checksum.ofTxFlags(0, true));
    }
}
