package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void evalPrintsTheTableAndWritesTheCurves() throws Exception {
        Path labels = Files.writeString(dir.resolve("l.csv"),
                "flow_id,proto,src_ip,src_port,dst_ip,dst_port,first_ts,last_ts,packets,bytes,label,attack_type,scenario\n"
                + "0,tcp,1.1.1.1,1000,2.2.2.2,80,1.0,2.0,4,400,benign,,b\n"
                + "1,tcp,1.1.1.1,1001,2.2.2.2,80,1.0,2.0,4,400,attack,x,a\n");
        Path scores = Files.writeString(dir.resolve("s.csv"),
                "community_id,proto,src_ip,src_port,dst_ip,dst_port,flow_start,direction,vm_image,model,score\n"
                + ",tcp,1.1.1.1,1000,2.2.2.2,80,1.0,to_server,web,m,0.5\n"
                + ",tcp,1.1.1.1,1001,2.2.2.2,80,1.0,to_server,web,m,4.0\n");
        String[] r = MainTest.run("eval", "--labels", labels.toString(), "--scores", scores.toString(),
                "--roc-csv", dir.resolve("roc.csv").toString(), "--roc-svg", dir.resolve("roc.svg").toString());
        assertEquals("0", r[0], r[2]);
        // The attack flow outscores the benign one: every measure of the "all attacks" row is perfect.
        String all = r[1].lines().filter(l -> l.startsWith("all attacks")).findFirst().orElseThrow(() -> new AssertionError(r[1]));
        assertEquals(List.of("all", "attacks", "1", "1", "1.0000", "1.0000", "100.0%", "100.0%", "100.0%", "100.0%"),
                List.of(all.trim().split("\\s+")), r[1]);
        assertTrue(Files.size(dir.resolve("roc.svg")) > 1000);
        assertTrue(Files.readString(dir.resolve("roc.csv")).startsWith("curve,threshold"));
    }

    @Test
    void withoutAttackFlowsTheUndefinedFiguresAreShownAsDashesNotNaN() throws Exception {
        Path labels = Files.writeString(dir.resolve("benign.csv"),
                "flow_id,proto,src_ip,src_port,dst_ip,dst_port,first_ts,last_ts,packets,bytes,label,attack_type,scenario\n"
                + "0,tcp,1.1.1.1,1000,2.2.2.2,80,1.0,2.0,4,400,benign,,b\n");
        Path scores = Files.writeString(dir.resolve("s1.csv"),
                "community_id,proto,src_ip,src_port,dst_ip,dst_port,flow_start,direction,vm_image,model,score\n"
                + ",tcp,1.1.1.1,1000,2.2.2.2,80,1.0,to_server,web,m,0.5\n");
        String[] r = MainTest.run("eval", "--labels", labels.toString(), "--scores", scores.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(!r[1].contains("NaN"), r[1]);
        String all = r[1].lines().filter(l -> l.startsWith("all attacks")).findFirst().orElseThrow();
        assertEquals(List.of("all", "attacks", "0", "0", "-", "-", "-", "-", "-", "-"), List.of(all.trim().split("\\s+")));
    }

    @Test
    void missingLabelsFileIsOneLineErrorWithExit1() {
        String[] r = MainTest.run("eval", "--labels", dir.resolve("nope.csv").toString(), "--scores", "x.csv");
        assertEquals("1", r[0]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(r[2].contains("nope.csv"), r[2]);
    }

    @Test
    void evalWithoutAnyDetectorOutputIsAUsageError() {
        String[] r = MainTest.run("eval", "--labels", "l.csv");
        assertEquals("2", r[0]);
    }

    @Test
    void aLabelsFileWithoutLineBreaksIsRefusedAtItsFirstLineNotReadWhole() throws Exception {
        // 256 MiB of zeros (sparse), one line: read whole, 3 GB of them ran the heap out after 15 s.
        Path labels = dir.resolve("zeros.csv");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(labels.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        String[] r = MainTest.run("eval", "--labels", labels.toString(), "--scores", labels.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: labels file " + labels + ": line 1 is longer than 65536 bytes", r[2].strip());
    }

    @Test
    void anEveFileThatIsNotUtf8IsRefusedNamingTheLine() throws Exception {
        Path labels = Files.writeString(dir.resolve("l.csv"),
                "flow_id,proto,src_ip,src_port,dst_ip,dst_port,first_ts,last_ts,label,attack_type\n");
        Path eve = Files.write(dir.resolve("e.json"), new byte[] {'{', '}', '\n', '{', (byte) 0xff, '}', '\n'});
        String[] r = MainTest.run("eval", "--labels", labels.toString(), "--eve", eve.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: EVE file " + eve + ": line 2 is not valid UTF-8", r[2].strip());
    }

    @Test
    void aDirectoryGivenAsLabelsIsNamed() {
        String[] r = MainTest.run("eval", "--labels", dir.toString(), "--scores", "s.csv");
        assertEquals("1", r[0], r[2]);
        assertEquals("xenids: labels file " + dir + " is a directory", r[2].strip());
    }
}
