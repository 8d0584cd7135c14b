package dev.apirouter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Redis ({@code /usr/bin/redis-server}, Debian's redis-server) for tests, on a free loopback port, without
 * persistence, its directory temporary. Every wait is bounded. {@link #close()} kills it by its PID and deletes the
 * directory; a JVM shutdown hook does the same if a test run dies first.
 *
 * <pre>
 * try (RedisProcess redis = RedisProcess.start()) {        // or start("secret"): --requirepass
 *     String url = redis.url();                            // redis://127.0.0.1:&lt;port&gt; (redis://:secret@...)
 *     redis.cli("PTTL", "some-key");                       // redis-cli
 *     redis.kill();                                        // SIGKILL
 *     redis.restart();                                     // same port, empty
 * }
 * </pre>
 */
public final class RedisProcess implements AutoCloseable {
    /** The binary: {@code REDIS_SERVER_BIN} or {@code /usr/bin/redis-server}. */
    public static final String REDIS_SERVER = RequiredTools.binary("REDIS_SERVER_BIN", "/usr/bin/redis-server");
    /** {@code redis-cli} next to it. */
    public static final String REDIS_CLI = Path.of(REDIS_SERVER).resolveSibling("redis-cli").toString();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Path dir;
    private final int port;
    private final String password;
    private final Thread shutdownHook;
    private Process process;
    private boolean closed;

    private RedisProcess(Path dir, int port, String password) {
        this.dir = dir;
        this.port = port;
        this.password = password;
        this.shutdownHook = new Thread(this::destroyAndDelete, "redis-process-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Skips the calling test when redis-server or redis-cli is missing (fails it under {@code CI_REQUIRE_TOOLS=1},
     * see {@link RequiredTools}). Call it in the test (or a {@code @BeforeEach}), not in {@code @BeforeAll}.
     */
    public static void assumeInstalled() {
        for (String binary : List.of(REDIS_SERVER, REDIS_CLI)) {
            RequiredTools.assume(Files.isExecutable(Path.of(binary)), "redis not installed: " + binary + " is missing;"
                    + " install Debian's redis-server (apt-get install -y redis-server), or set REDIS_SERVER_BIN");
        }
    }

    /** Starts a fresh Redis and waits (bounded) until it answers PING. Skips the test without redis-server. */
    public static RedisProcess start() throws IOException {
        return start(null);
    }

    /** Same, requiring {@code password} ({@code --requirepass}) when it is not null. */
    public static RedisProcess start(String password) throws IOException {
        assumeInstalled();
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            RedisProcess redis = new RedisProcess(Files.createTempDirectory("redis-test-"), GatewayProcess.freePort(),
                    password);
            try {
                redis.launch();
                return redis;
            } catch (IOException e) {
                // the port may have been taken between choosing and binding it: try another
                last = e;
                redis.close();
            }
        }
        throw last;
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>}, with {@code :password@} when it has one. */
    public String url() {
        return "redis://" + (password == null ? "" : ":" + password + "@") + "127.0.0.1:" + port;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Kills Redis with SIGKILL, as a crash would, and waits (bounded) until it is gone. */
    public synchronized void kill() {
        if (process != null) {
            process.destroyForcibly();
            waitFor(process, STOP_TIMEOUT);
            process = null;
        }
    }

    /** Stops Redis with SIGTERM (SIGKILL if it has not exited within 10 s). */
    public synchronized void stop() {
        if (process != null) {
            process.destroy();
            if (!waitFor(process, STOP_TIMEOUT)) {
                process.destroyForcibly();
                waitFor(process, STOP_TIMEOUT);
            }
            process = null;
        }
    }

    /** Starts Redis again on the same port (killing it first if it runs); it comes back empty. */
    public synchronized void restart() throws IOException {
        kill();
        launch();
    }

    /** Runs redis-cli against this Redis (bounded) and returns its output, trimmed. */
    public String cli(String... args) {
        List<String> command = new ArrayList<>(List.of(REDIS_CLI, "-h", "127.0.0.1", "-p", Integer.toString(port)));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (password != null) {
            pb.environment().put("REDISCLI_AUTH", password);
        }
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("redis-cli " + String.join(" ", args) + " did not finish in 10 s");
            }
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new IllegalStateException("redis-cli failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Kills the process by its PID (if it runs) and deletes the directory. Always safe to call. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        destroyAndDelete();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
    }

    // ------------------------------------------------------------------

    private synchronized void launch() throws IOException {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        List<String> command = new ArrayList<>(List.of(REDIS_SERVER, "--save", "", "--appendonly", "no",
                "--bind", "127.0.0.1", "--port", Integer.toString(port), "--dir", dir.toString(),
                "--logfile", dir.resolve("redis.log").toString()));
        if (password != null) {
            command.addAll(List.of("--requirepass", password));
        }
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.out").toFile())).start();
        Process started = process;
        try {
            org.awaitility.Awaitility.await("redis answers PING").atMost(START_TIMEOUT).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(50)).until(() -> {
                        if (!started.isAlive()) {
                            throw new IOException("redis-server exited with " + started.exitValue()
                                    + " while starting: " + logTail());
                        }
                        return "PONG".equals(cli("PING"));
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            kill();
            throw new IOException("redis-server did not answer PING within " + START_TIMEOUT.toSeconds() + " s: "
                    + logTail());
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("redis.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private synchronized void destroyAndDelete() {
        if (process != null) {
            process.destroyForcibly();
            waitFor(process, STOP_TIMEOUT);
            process = null;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }
}
