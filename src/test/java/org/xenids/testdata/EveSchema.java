package org.xenids.testdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;

/** Suricata's own EVE schema ({@code suricata/eve-schema.json} in the shared data). */
public final class EveSchema {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static JsonSchema schema;

    private EveSchema() {}

    private static synchronized JsonSchema schema() {
        if (schema == null) {
            try {
                JsonNode node = MAPPER.readTree(Files.readString(SharedData.file("suricata/eve-schema.json")));
                schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(node);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return schema;
    }

    /** The schema violations of one EVE line (empty when valid). */
    public static Set<ValidationMessage> violations(String line) {
        try {
            return schema().validate(MAPPER.readTree(line));
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + line, e);
        }
    }

    /** Fails naming the first invalid line and why. */
    public static void assertValid(List<String> lines) {
        int n = 0;
        for (String line : lines) {
            n++;
            if (line.isBlank()) {
                throw new AssertionError("EVE line " + n + " is blank");
            }
            Set<ValidationMessage> v = violations(line);
            if (!v.isEmpty()) {
                throw new AssertionError("EVE line " + n + " violates Suricata's schema: " + v + "\n" + line);
            }
        }
    }
}
