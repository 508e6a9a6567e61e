package org.xenids.eval;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.xenids.io.OutputFile;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.xenids.io.BoundedLineReader;

/**
 * The flow-score file {@code xenids detect --scores FILE.csv} writes and {@code xenids eval}
 * reads: one row per scored flow direction. {@code src} is the flow's initiator and {@code dst}
 * the responder, as in the dataset labels; {@code flow_start} (epoch seconds) tells apart flows
 * that reuse a 5-tuple; {@code score} is distance / threshold (above 1 alerted).
 */
public final class ScoresCsv implements AutoCloseable {
    public static final String HEADER =
            "community_id,proto,src_ip,src_port,dst_ip,dst_port,flow_start,direction,vm_image,model,score";

    /** One scored flow direction; {@code communityId} may be null. */
    public record Row(String communityId, String proto, String srcIp, int srcPort, String dstIp, int dstPort,
                      double flowStart, String direction, String vmImage, String model, double score) {
        public Row {
            if (proto == null || srcIp == null || dstIp == null || Double.isNaN(score)) {
                throw new IllegalArgumentException("a score row needs proto, addresses and a score");
            }
        }
    }

    private final BufferedWriter out;
    private long rows;

    private ScoresCsv(BufferedWriter out) throws IOException {
        this.out = out;
        out.write(HEADER);
        out.write('\n');
    }

    public static ScoresCsv create(Path file) throws IOException {
        return new ScoresCsv(new BufferedWriter(new java.io.OutputStreamWriter(OutputFile.open(file), StandardCharsets.UTF_8)));
    }

    public void write(Row r) {
        try {
            out.write(Csv.field(r.communityId()) + ',' + Csv.field(r.proto()) + ',' + Csv.field(r.srcIp()) + ','
                    + r.srcPort() + ',' + Csv.field(r.dstIp()) + ',' + r.dstPort() + ','
                    + String.format(Locale.ROOT, "%.6f", r.flowStart()) + ',' + Csv.field(r.direction()) + ','
                    + Csv.field(r.vmImage()) + ',' + Csv.field(r.model()) + ',' + r.score() + '\n');
            rows++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write score row: " + e.getMessage(), e);
        }
    }

    public long rows() {
        return rows;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** Reads a score file; a malformed row fails naming the file and line. */
    public static List<Row> read(Path file) throws IOException {
        List<Row> out = new ArrayList<>();
        try (BoundedLineReader r = Csv.lines(file, "scores file")) {
            String head = r.readLine();
            if (head == null) {
                throw new IOException("scores file " + file + ": empty (no header)");
            }
            List<String> h = Csv.split(head.strip(), "scores file " + file + " line 1");
            int[] c = Csv.columns(h, "scores file " + file, "community_id", "proto", "src_ip", "src_port",
                    "dst_ip", "dst_port", "flow_start", "direction", "vm_image", "model", "score");
            int n = 1;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String where = "scores file " + file + " line " + n;
                List<String> f = Csv.split(line, where);
                if (f.size() != h.size()) {
                    throw new IOException(where + ": " + f.size() + " fields, header has " + h.size());
                }
                out.add(new Row(f.get(c[0]).isEmpty() ? null : f.get(c[0]), f.get(c[1]).toLowerCase(Locale.ROOT),
                        f.get(c[2]), Csv.port(f.get(c[3]), where), f.get(c[4]), Csv.port(f.get(c[5]), where),
                        f.get(c[6]).isEmpty() ? Double.NaN : Csv.number(f.get(c[6]), where, "flow_start"),
                        f.get(c[7]), f.get(c[8]), f.get(c[9]), Csv.number(f.get(c[10]), where, "score")));
            }
        }
        return out;
    }
}
