package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ./xenids launcher's JDK search, run as a user would run it. */
class LauncherTest {

    @Test
    void withoutJdk25ItSaysSoInOneLineAndHowToGetOne(@TempDir Path empty) throws Exception {
        // java 17 is first on PATH on this kind of machine; JAVA_HOME points nowhere; no JVM dirs.
        ProcessBuilder pb = new ProcessBuilder("bash", "xenids", "--version");
        pb.environment().put("JAVA_HOME", empty.resolve("nowhere").toString());
        pb.environment().put("XENIDS_JVM_DIRS", empty.toString());
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(2, p.exitValue(), out);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith("xenids: no JDK 25 or newer found"), out);
        assertTrue(out.contains("JAVA_HOME"), out);
    }

    @Test
    void launcherIsExecutableAndCiRunsTheReadmesTestCommand() throws Exception {
        assertTrue(Files.isExecutable(Path.of("xenids")));
        String ci = Files.readString(Path.of(".ci/run"));
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(ci.contains("./xenids test"), ci);
        assertTrue(readme.contains("./xenids test"), "README must give the test command");
        assertTrue(readme.contains("./xenids demo"), "README must give the demo command");
    }
}
