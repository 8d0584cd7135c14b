package dev.apirouter.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The gateway as a user runs it: {@code java -jar target/api-router.jar} in its own process, with the given
 * environment, on a free loopback port and a free loopback management port of its own (so that gateways running
 * side by side never meet on the default 9090). Collects every output line with the time it appeared.
 */
public final class GatewayProcess implements AutoCloseable {
    public record Line(long nanosSinceStart, String text) {
    }

    private final Process process;
    private final long startNanos;
    private final int port;
    private final int managementPort;
    private final Path workDir;
    private final List<Line> lines = new ArrayList<>();
    private final Thread reader;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private GatewayProcess(Process process, long startNanos, int port, int managementPort, Path workDir) {
        this.process = process;
        this.startNanos = startNanos;
        this.port = port;
        this.managementPort = managementPort;
        this.workDir = workDir;
        this.reader = new Thread(this::readOutput, "gateway-output-" + port);
        reader.setDaemon(true);
        reader.start();
    }

    public static Path jar() {
        String jar = System.getProperty("apirouter.jar", "target/api-router.jar");
        Path path = Path.of(jar).toAbsolutePath();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException("No gateway jar at " + path + "; run 'mvn package' first");
        }
        return path;
    }

    /**
     * Starts the gateway on free ports with {@code env} added to this process's environment; a null value removes
     * the variable (so that it is really unset, whatever the test's own environment holds).
     *
     * @param jvmOptions the JVM's options (e.g. a heap size); none: {@code -Xmx512m}
     */
    public static GatewayProcess start(Map<String, String> env, String... jvmOptions) {
        try {
            int port = env.containsKey("ROUTER_HTTP_PORT") ? Integer.parseInt(env.get("ROUTER_HTTP_PORT")) : freePort();
            int managementPort = env.containsKey("ROUTER_MANAGEMENT_PORT")
                    ? Integer.parseInt(env.get("ROUTER_MANAGEMENT_PORT")) : freePort();
            Path workDir = Files.createTempDirectory("api-router-e2e");
            List<String> command = new ArrayList<>(List.of(javaBinary()));
            command.addAll(jvmOptions.length == 0 ? List.of("-Xmx512m") : List.of(jvmOptions));
            command.addAll(List.of("-jar", jar().toString()));
            ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
            Map<String, String> environment = builder.environment();
            environment.put("ROUTER_HTTP_HOST", "127.0.0.1");
            environment.put("ROUTER_HTTP_PORT", Integer.toString(port));
            environment.put("ROUTER_MANAGEMENT_HOST", "127.0.0.1");
            environment.put("ROUTER_MANAGEMENT_PORT", Integer.toString(managementPort));
            env.forEach((k, v) -> {
                if (v == null) {
                    environment.remove(k);
                } else {
                    environment.put(k, v);
                }
            });
            long start = System.nanoTime();
            return new GatewayProcess(builder.start(), start, port, managementPort, workDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (lines) {
                    lines.add(new Line(System.nanoTime() - startNanos, line));
                    lines.notifyAll();
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }

    public int port() {
        return port;
    }

    /** {@link System#nanoTime()} just before the process was started. */
    public long startNanos() {
        return startNanos;
    }

    public long pid() {
        return process.pid();
    }


    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    public int managementPort() {
        return managementPort;
    }

    /** {@code path} on the management port: metrics, the full readyz, the admin endpoints. */
    public URI managementUri(String path) {
        return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    public List<Line> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    public String output() {
        StringBuilder out = new StringBuilder();
        for (Line l : lines()) {
            out.append(l.text()).append('\n');
        }
        return out.toString();
    }

    /** Waits (bounded) for an output line matching {@code match}; returns it or null. */
    public Line awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            while (true) {
                for (Line l : lines) {
                    if (match.test(l.text())) {
                        return l;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.timedWait(lines, left);
            }
        }
    }

    /** Polls {@code path} until it answers {@code status}; returns the time since start, or -1 on timeout. */
    public long awaitStatus(String path, int status, Duration timeout) throws InterruptedException {
        java.util.concurrent.atomic.AtomicLong answered = new java.util.concurrent.atomic.AtomicLong(-1);
        try {
            org.awaitility.Awaitility.await(path).atMost(timeout).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(25)).until(() -> {
                        if (!process.isAlive()) {
                            return true; // it will never answer: -1
                        }
                        try {
                            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri(path))
                                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == status) {
                                answered.set(System.nanoTime() - startNanos);
                                return true;
                            }
                        } catch (IOException e) {
                            // not listening yet
                        }
                        return false;
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return -1;
        }
        return answered.get();
    }

    public void awaitReady(Duration timeout) throws InterruptedException {
        if (awaitStatus("/v1/status/readyz", 200, timeout) < 0) {
            throw new AssertionError("gateway not ready within " + timeout + "; output:\n" + output());
        }
    }

    /**
     * Sends SIGTERM and waits (bounded); returns how long the process took to exit, or null if it did not. Through
     * the process handle: {@code Process.destroy()} would also close our end of its output, losing the shutdown's
     * log lines (and making the gateway's last writes fail).
     */
    public Duration terminate(Duration timeout) throws InterruptedException {
        long t0 = System.nanoTime();
        process.toHandle().destroy();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return Duration.ofNanos(System.nanoTime() - t0);
        }
        return null;
    }

    /** Sends SIGTERM and returns at once (see {@link #terminate}). */
    public void terminateAsync() {
        process.toHandle().destroy();
    }

    /** Waits (bounded) for the process to exit; true if it did. */
    public boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int exitValue() {
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.toHandle().destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
        reader.join(2000);
        deleteRecursively(workDir); // the gateway's working directory (its data dir unless a test set one)
    }

    private static void deleteRecursively(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            // best effort: a temporary directory
        }
    }

    public static Map<String, String> env(String... keyValues) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        return env;
    }
}
