package dev.apirouter.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar run with arguments, as an operator types them: any argument runs the CLI, never the gateway. A typo or an
 * unknown flag exits 1 within a few seconds with the usage on standard error, and no port is ever opened.
 */
@Timeout(value = 120)
class CliIT {
    /** A JVM start on a loaded 2-core machine, with room to spare; the gateway would still be running. */
    static final Duration EXIT_BOUND = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    record Run(int exit, String out, String err, Duration took, boolean portOpened) {
    }

    @Test
    void aTypoOrAnUnknownFlagIsAUsageErrorAndNeverStartsTheGateway() throws Exception {
        for (List<String> args : List.of(List.of("key", "create"), List.of("--bogus"), List.of("help", "me"))) {
            Run r = run(args);
            String what = String.join(" ", args) + ": ";
            assertEquals(1, r.exit(), what + r.err());
            assertTrue(r.took().compareTo(EXIT_BOUND) < 0, what + "took " + r.took());
            assertTrue(r.err().contains("Usage: api-router"), what + r.err());
            assertTrue(r.out().isEmpty(), what + "standard output: " + r.out());
            assertFalse(r.portOpened(), what + "the HTTP port was opened");
            assertFalse(r.err().contains("starting") || r.err().contains("listening"), what + r.err());
        }
        assertTrue(run(List.of("key", "create")).err().contains("Did you mean: api-router keys?"));
    }

    @Test
    void helpAndVersionGoToStandardOutput() throws Exception {
        Run help = run(List.of("--help"));
        assertEquals(0, help.exit(), help.err());
        assertTrue(help.out().contains("keys create --name NAME --models M1,M2"), help.out());
        assertFalse(help.portOpened());

        Run version = run(List.of("--version"));
        assertEquals(0, version.exit(), version.err());
        assertTrue(version.out().strip().matches("api-router \\d+\\.\\d+\\.\\d+\\S*"),
                "the jar manifest's Implementation-Version: " + version.out());
    }

    @Test
    void keysCreateWithoutAStorePrintsOnlyTheKeyOnStandardOutput() throws Exception {
        Run r = run(List.of("keys", "create", "--name", "team-a", "--models", "llama"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().strip().matches("sk-[A-Za-z0-9_-]{43}"), "KEY=$(...) captures the key alone: " + r.out());
        assertTrue(r.err().contains("add this record under 'keys:'"), r.err());
        assertFalse(r.portOpened());
    }

    /** Runs the jar with {@code args}, no store configured, watching the HTTP port it would use while it runs. */
    private Run run(List<String> args) throws Exception {
        int port = GatewayProcess.freePort();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-jar", GatewayProcess.jar().toString()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        Map<String, String> env = builder.environment();
        for (String storeVariable : List.of("ETCD_ENDPOINTS", "ROUTER_POLICY_FILE", "ROUTER_DEMO")) {
            env.remove(storeVariable);
        }
        env.put("ROUTER_HTTP_HOST", "127.0.0.1");
        env.put("ROUTER_HTTP_PORT", Integer.toString(port));
        long t0 = System.nanoTime();
        Process process = builder.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread outDrain = drain(process.getInputStream(), out);
        Thread errDrain = drain(process.getErrorStream(), err);
        java.util.concurrent.atomic.AtomicBoolean portOpened = new java.util.concurrent.atomic.AtomicBoolean();
        try { // until the command exits, checking every 20 ms whether it opened the gateway's port
            await().atMost(EXIT_BOUND.multipliedBy(2)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                    .until(() -> {
                        if (accepts(port)) {
                            portOpened.set(true);
                        }
                        return !process.isAlive();
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // still running: reported below
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        if (!process.waitFor(1, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(args + " still running after " + took + "; stderr: " + err);
        }
        outDrain.join(5000);
        errDrain.join(5000);
        return new Run(process.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                took, portOpened.get());
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Thread drain(InputStream in, ByteArrayOutputStream buffer) {
        Thread t = new Thread(() -> {
            try (in) {
                in.transferTo(buffer);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, "cli-output");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
