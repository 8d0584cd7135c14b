package dev.apirouter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A real single-member etcd ({@code /usr/bin/etcd}) for tests, on free loopback ports with a temporary data
 * directory. Every wait is bounded. {@link #close()} always kills the process by its PID and deletes the directory;
 * a JVM shutdown hook does the same if a test run dies before closing it.
 *
 * <pre>
 * try (EtcdProcess etcd = EtcdProcess.start()) {
 *     String endpoint = etcd.endpoint();          // http://127.0.0.1:&lt;port&gt;
 *     etcd.put("/api-router/models/m", "{...}");  // etcdctl
 *     etcd.kill();                                // SIGKILL
 *     etcd.restart();                             // same ports, same data
 * }
 * try (EtcdProcess etcd = EtcdProcess.start(EtcdProcess.Security.TLS.withClientCertAuth().withRootPassword("pw"))) {
 *     Map&lt;String, String&gt; env = etcd.clientEnv(); // ETCD_ENDPOINTS (https://), ETCD_CACERT, ETCD_CERT, ...
 * }
 * </pre>
 */
public final class EtcdProcess implements AutoCloseable {
    /**
     * How the etcd is secured: TLS with a server certificate from a throwaway CA ({@link TestCertificates}), client
     * certificates required ({@code --client-cert-auth}), authentication with user {@code root} and a password.
     */
    public record Security(boolean tls, boolean clientCertAuth, String rootPassword) {
        public static final Security NONE = new Security(false, false, null);
        public static final Security TLS = new Security(true, false, null);

        public Security withClientCertAuth() {
            return new Security(true, true, rootPassword);
        }

        public Security withRootPassword(String password) {
            return new Security(tls, clientCertAuth, password);
        }
    }

    /** The etcd binary: {@code ETCD_BIN} or {@code /usr/bin/etcd}. */
    public static final String ETCD = RequiredTools.binary("ETCD_BIN", "/usr/bin/etcd");
    /** The etcdctl binary: {@code ETCDCTL_BIN} or {@code /usr/bin/etcdctl}. */
    public static final String ETCDCTL = RequiredTools.binary("ETCDCTL_BIN", "/usr/bin/etcdctl");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration ETCDCTL_TIMEOUT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Path dataDir;
    private final Path log;
    private final int clientPort;
    private final int peerPort;
    private final int metricsPort; // TLS only: plain-HTTP /health
    private final Security security;
    private TestCertificates certificates;
    private boolean authEnabled;
    private final Thread shutdownHook;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private Process process;
    private boolean closed;

    private EtcdProcess(Path root, int clientPort, int peerPort, int metricsPort, Security security) {
        this.root = root;
        this.dataDir = root.resolve("data");
        this.log = root.resolve("etcd.log");
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.metricsPort = metricsPort;
        this.security = security;
        this.shutdownHook = new Thread(this::destroyAndDelete, "etcd-process-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Whether etcd and etcdctl are there. */
    public static boolean installed() {
        return Files.isExecutable(Path.of(ETCD)) && Files.isExecutable(Path.of(ETCDCTL));
    }

    /**
     * Skips the calling test when etcd or etcdctl is missing, with the reason (fails it under
     * {@code CI_REQUIRE_TOOLS=1}, see {@link RequiredTools}). Call it in the test, not in {@code @BeforeAll}: Surefire
     * reports a class aborted there as zero tests, without the reason.
     */
    public static void assumeInstalled() {
        for (String binary : List.of(ETCD, ETCDCTL)) {
            RequiredTools.assume(Files.isExecutable(Path.of(binary)), "etcd not installed: " + binary + " is missing;"
                    + " install Debian's etcd-server and etcd-client (apt-get install -y etcd-server etcd-client),"
                    + " or set ETCD_BIN / ETCDCTL_BIN");
        }
    }

    /**
     * Starts a fresh etcd on free loopback ports and waits (bounded) until it answers. Without etcd or etcdctl the
     * calling test is skipped (see {@link RequiredTools}).
     */
    public static EtcdProcess start() throws IOException {
        return start(Security.NONE);
    }

    /**
     * Starts a fresh etcd secured as {@code security} (certificates made with openssl in its temporary directory;
     * user {@code root} added and authentication enabled with etcdctl). Skips the test when etcd, etcdctl or openssl
     * is missing (see {@link RequiredTools}).
     */
    public static EtcdProcess start(Security security) throws IOException {
        assumeInstalled();
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            Path root = Files.createTempDirectory("etcd-test-");
            EtcdProcess etcd = new EtcdProcess(root, freePort(), freePort(), security.tls() ? freePort() : 0, security);
            try {
                if (security.tls()) {
                    etcd.certificates = TestCertificates.create(root.resolve("tls"));
                }
                etcd.launch();
                if (security.rootPassword() != null) {
                    etcd.etcdctl("user", "add", "root", "--new-user-password=" + security.rootPassword());
                    etcd.etcdctl("auth", "enable");
                    etcd.authEnabled = true;
                }
                return etcd;
            } catch (IOException e) {
                // a port may have been taken between choosing and binding it: try other ports
                last = e;
                etcd.close();
            }
        }
        throw last;
    }

    /** {@code http://127.0.0.1:<client port>} ({@code https://} with TLS) */
    public String endpoint() {
        return (security.tls() ? "https" : "http") + "://127.0.0.1:" + clientPort;
    }

    /** The CA, server and client certificates of a TLS etcd. */
    public TestCertificates certificates() {
        if (certificates == null) {
            throw new IllegalStateException("this etcd does not use TLS");
        }
        return certificates;
    }

    /**
     * The gateway's (and the operator commands') environment for this etcd: {@code ETCD_ENDPOINTS}, and as it is
     * secured {@code ETCD_CACERT}, {@code ETCD_CERT} and {@code ETCD_KEY}, {@code ETCD_USERNAME} and
     * {@code ETCD_PASSWORD}.
     */
    public Map<String, String> clientEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("ETCD_ENDPOINTS", endpoint());
        if (security.tls()) {
            env.put("ETCD_CACERT", certificates.ca().toString());
        }
        if (security.clientCertAuth()) {
            env.put("ETCD_CERT", certificates.clientCert().toString());
            env.put("ETCD_KEY", certificates.clientKey().toString());
        }
        if (security.rootPassword() != null) {
            env.put("ETCD_USERNAME", "root");
            env.put("ETCD_PASSWORD", security.rootPassword());
        }
        return env;
    }

    public URI endpointUri() {
        return URI.create(endpoint());
    }

    public int clientPort() {
        return clientPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** etcd's own output, for failure messages. */
    public Path logFile() {
        return log;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("etcd is not running");
        }
        return process.pid();
    }

    /** Stops etcd with SIGTERM (SIGKILL if it has not exited within 10 s). */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!waitFor(process, STOP_TIMEOUT)) {
            process.destroyForcibly();
            waitFor(process, STOP_TIMEOUT);
        }
        process = null;
    }

    /** Kills etcd with SIGKILL, as a crash would, and waits (bounded) until it is gone. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        waitFor(process, STOP_TIMEOUT);
        process = null;
    }

    /** Starts etcd again on the same ports with the same data directory (stopping it first if it runs). */
    public synchronized void restart() throws IOException {
        kill();
        launch();
    }

    /** Runs etcdctl against this etcd with the given arguments (bounded) and returns its standard output. */
    public String etcdctl(String... args) {
        List<String> command = new ArrayList<>();
        command.add(ETCDCTL);
        command.add("--endpoints=" + endpoint());
        command.add("--dial-timeout=2s");
        command.add("--command-timeout=5s");
        if (security.tls()) {
            command.add("--cacert=" + certificates.ca());
            command.add("--cert=" + certificates.clientCert());
            command.add("--key=" + certificates.clientKey());
        }
        if (authEnabled) {
            command.add("--user=root:" + security.rootPassword());
        }
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("ETCDCTL_API", "3");
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            // output is small; read it while waiting so the pipe never fills
            byte[][] out = new byte[1][];
            Thread reader = new Thread(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            }, "etcdctl-output");
            reader.setDaemon(true);
            reader.start();
            if (!p.waitFor(ETCDCTL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("etcdctl " + String.join(" ", args) + " did not finish in "
                        + ETCDCTL_TIMEOUT.toSeconds() + " s");
            }
            reader.join(ETCDCTL_TIMEOUT.toMillis());
            String output = out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("etcdctl " + String.join(" ", args) + " failed (" + p.exitValue()
                        + "): " + output.trim());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** {@code etcdctl put key value}; returns the revision after the put. */
    public long put(String key, String value) {
        etcdctl("put", key, value);
        return revision();
    }

    /** {@code etcdctl del key}; returns the revision after the delete. */
    public long delete(String key) {
        etcdctl("del", key);
        return revision();
    }

    /** The value of {@code key}, or null. */
    public String get(String key) {
        JsonNode kvs = json(etcdctl("get", key, "-w", "json")).path("kvs");
        if (!kvs.isArray() || kvs.isEmpty()) {
            return null;
        }
        return new String(java.util.Base64.getDecoder().decode(kvs.get(0).path("value").asText()),
                StandardCharsets.UTF_8);
    }

    /** The keys under {@code prefix}. */
    public List<String> keys(String prefix) {
        List<String> keys = new ArrayList<>();
        for (JsonNode kv : json(etcdctl("get", prefix, "--prefix", "--keys-only", "-w", "json")).path("kvs")) {
            keys.add(new String(java.util.Base64.getDecoder().decode(kv.path("key").asText()), StandardCharsets.UTF_8));
        }
        return keys;
    }

    /** The current revision of the store. */
    public long revision() {
        return json(etcdctl("get", "/__etcd-process-revision__", "-w", "json")).path("header").path("revision")
                .asLong();
    }

    /** {@code etcdctl compact <revision> --physical}: history before it is gone. */
    public void compact(long revision) {
        etcdctl("compact", Long.toString(revision), "--physical");
    }

    /** Kills the process by its PID (if it runs) and deletes the temporary directory. Always safe to call. */
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
        String client = endpoint();
        String peer = "http://127.0.0.1:" + peerPort;
        List<String> command = new ArrayList<>(List.of(ETCD,
                "--name", "default",
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", client,
                "--advertise-client-urls", client,
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "default=" + peer,
                "--initial-cluster-state", "new",
                "--log-level", "warn"));
        if (security.tls()) {
            // /health in plain HTTP on its own port: the client port wants TLS (and maybe a client certificate)
            command.addAll(List.of("--cert-file", certificates.serverCert().toString(),
                    "--key-file", certificates.serverKey().toString(),
                    "--listen-metrics-urls", "http://127.0.0.1:" + metricsPort));
        }
        if (security.clientCertAuth()) {
            command.addAll(List.of("--client-cert-auth", "--trusted-ca-file", certificates.ca().toString()));
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        process = pb.start();
        Process started = process;
        try {
            org.awaitility.Awaitility.await("etcd healthy").atMost(START_TIMEOUT).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(50)).until(() -> {
                        if (!started.isAlive()) {
                            process = null;
                            throw new IOException("etcd exited with " + started.exitValue() + " while starting: "
                                    + logTail());
                        }
                        return healthy();
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            kill();
            throw new IOException("etcd did not become healthy within " + START_TIMEOUT.toSeconds() + " s: "
                    + logTail());
        }
    }

    private boolean healthy() {
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create((security.tls() ? "http://127.0.0.1:" + metricsPort : endpoint())
                                    + "/health")).timeout(Duration.ofSeconds(1)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().contains("\"true\"");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
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
        deleteTree(root);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
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

    /** A port that was free on 127.0.0.1 a moment ago. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalStateException("etcdctl printed no JSON: " + text, e);
        }
    }
}
