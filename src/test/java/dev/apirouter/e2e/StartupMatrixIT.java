package dev.apirouter.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.FaultyServers;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The start-up matrix (issue 4): for each OTLP endpoint case crossed with each store case, the real gateway process
 * must print its first log line within 1 s, answer healthz within 3 s, report readiness truthfully, serve a request
 * when a policy is available, and exit on SIGTERM within the grace plus 3 s. Loopback only: every faulty peer is a
 * listener of this test on 127.0.0.1, and the unresolvable host is in {@code .invalid} (RFC 2606).
 *
 * <p>The etcd cases assert only what must hold whatever the store: while the gateway still uses the file store
 * when {@code ETCD_ENDPOINTS} is set, readiness is 200 and requests are served; once the etcd store reads
 * {@code ETCD_ENDPOINTS}, an unreachable etcd with no last-known-good copy must give readyz 503 and 503 no_policy.
 *
 * <p>Cases run two at a time to keep the matrix short on 2 cores, but only one gateway boots at a time (from its
 * start until its routes run): each one's request and shutdown overlap the next one's boot.
 */
@Timeout(value = 420)
class StartupMatrixIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY = "sk-matrix-test";
    static final long FIRST_LINE_MS = 1000;
    static final long HEALTHZ_MS = 3000;
    static final long GRACE_MS = 2000;
    static final long EXIT_BOUND_MS = GRACE_MS + 3000;
    static final int PARALLEL = 2;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static Path policyFile;
    static FaultyServers.Silent silentCollector;
    static FaultyServers.FullBacklog fullCollector;
    static FaultyServers.Silent silentEtcd;
    static int closedPort;
    static final Map<String, Result> RESULTS = new LinkedHashMap<>();

    record Endpoint(String name, Map<String, String> env, String expectedLog) {
    }

    record Store(String name, Map<String, String> env, boolean etcd) {
    }

    /** {@code readyMs}: when readyz was seen 200 (from process start), -1 if it was not. */
    record Result(String name, long firstLineMs, long healthzMs, int readyz, long readyMs, String store, int served,
                  long exitMs, List<String> failures, String output) {
    }

    @BeforeAll
    static void runMatrix() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(1));
        policyFile = dir.resolve("policy.yaml");
        Files.writeString(policyFile, "models:\n  chat:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: 'http://127.0.0.1:"
                + sim.port() + "'}]\nkeys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: m, models: [\"*\"]}\n");
        silentCollector = new FaultyServers.Silent();
        fullCollector = new FaultyServers.FullBacklog();
        silentEtcd = new FaultyServers.Silent();
        closedPort = FaultyServers.closedPort();

        List<Endpoint> endpoints = new ArrayList<>();
        endpoints.add(new Endpoint("otel unset", env("OTEL_EXPORTER_OTLP_ENDPOINT", null), null));
        endpoints.add(new Endpoint("otel empty", env("OTEL_EXPORTER_OTLP_ENDPOINT", ""), null));
        // the outage's value, literally, when nothing listens on 4318 here; else the same form on a closed port
        String localhost = refused(4318) ? "localhost:4318" : "localhost:" + closedPort;
        endpoints.add(new Endpoint("otel " + localhost + " (nothing listening)", env("OTEL_EXPORTER_OTLP_ENDPOINT", localhost),
                "cannot be reached"));
        endpoints.add(new Endpoint("otel accepts, never answers",
                env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + silentCollector.port()), null));
        endpoints.add(new Endpoint("otel accept queue full",
                env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + fullCollector.port()), "cannot be reached"));
        endpoints.add(new Endpoint("otel no-such-host.invalid:4318",
                env("OTEL_EXPORTER_OTLP_ENDPOINT", "no-such-host.invalid:4318"), "does not resolve"));
        endpoints.add(new Endpoint("otel malformed http://[::1", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"),
                "Tracing off: OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL"));

        List<Store> stores = List.of(
                new Store("file", env("ETCD_ENDPOINTS", null), false),
                new Store("etcd refused", env("ETCD_ENDPOINTS", "http://127.0.0.1:" + closedPort), true),
                new Store("etcd hanging", env("ETCD_ENDPOINTS", "http://127.0.0.1:" + silentEtcd.port()), true));

        List<String> names = new ArrayList<>();
        List<Map<String, String>> envs = new ArrayList<>();
        List<Endpoint> expectations = new ArrayList<>();
        List<Store> storeOf = new ArrayList<>();
        for (Endpoint e : endpoints) {
            for (Store s : stores) {
                Map<String, String> env = new HashMap<>(e.env());
                env.putAll(s.env());
                names.add(e.name() + " × " + s.name());
                envs.add(env);
                expectations.add(e);
                storeOf.add(s);
            }
        }
        // gRPC to a collector that never answers (file store only)
        Map<String, String> grpc = env("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:" + silentCollector.port(),
                "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "ETCD_ENDPOINTS", null);
        names.add("otel grpc, accepts, never answers × file");
        envs.add(grpc);
        expectations.add(new Endpoint("grpc", grpc, null));
        storeOf.add(stores.get(0));

        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        Semaphore startGate = new Semaphore(1);
        List<Future<Result>> futures = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            int c = i;
            futures.add(pool.submit(() -> runCase(names.get(c), envs.get(c), expectations.get(c), storeOf.get(c), startGate)));
        }
        pool.shutdown();
        for (Future<Result> f : futures) {
            Result r = f.get(180, TimeUnit.SECONDS);
            RESULTS.put(r.name(), r);
        }
        printTable();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {silentCollector, fullCollector, silentEtcd, sim}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyCaseStartsServesAndStopsWithinItsBounds() {
        return RESULTS.values().stream().map(r -> DynamicTest.dynamicTest(r.name(), () ->
                assertTrue(r.failures().isEmpty(), r.name() + ": " + String.join("; ", r.failures()) + "\n--- output:\n" + r.output())));
    }

    static Result runCase(String name, Map<String, String> caseEnv, Endpoint endpoint, Store store, Semaphore startGate)
            throws Exception {
        Map<String, String> env = new HashMap<>(caseEnv);
        env.put("ROUTER_POLICY_FILE", policyFile.toString());
        env.put("ROUTER_SHUTDOWN_GRACE_MS", Long.toString(GRACE_MS));
        env.put("ROUTER_ETCD_CONNECT_TIMEOUT_MS", "1000");
        env.put("ROUTER_ETCD_CALL_TIMEOUT_MS", "1500");
        List<String> failures = new ArrayList<>();
        long firstLine = -1;
        long healthz = -1;
        int ready = -1;
        long readyMs = -1;
        String storeKind = "?";
        int served = -1;
        long exitMs = -1;
        GatewayProcess gw;
        // one gateway booting at a time (start to routes running): the bounds are about the gateway, not about two
        // JVMs fighting over 2 cores; the requests and the shutdowns of the cases overlap
        startGate.acquire();
        boolean gateHeld = true;
        try {
            gw = GatewayProcess.start(env);
        } catch (RuntimeException e) {
            startGate.release();
            throw e;
        }
        try {
            GatewayProcess.Line firstSeen = gw.awaitLine(l -> !l.isBlank(), Duration.ofSeconds(5));
            if (firstSeen != null) {
                firstLine = TimeUnit.NANOSECONDS.toMillis(firstSeen.nanosSinceStart());
            }
            GatewayProcess.Line first = gw.lines().isEmpty() ? null : gw.lines().get(0);
            if (first == null) {
                failures.add("no output within 5 s");
            } else {
                if (!first.text().contains("api-router") || !first.text().contains("starting")) {
                    failures.add("first line is not the start line: " + first.text());
                }
                if (firstLine > FIRST_LINE_MS) {
                    failures.add("first log line after " + firstLine + " ms (bound " + FIRST_LINE_MS + ")");
                }
            }
            long h = gw.awaitStatus("/v1/status/healthz", 200, Duration.ofMillis(10_000));
            healthz = h < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(h);
            if (healthz < 0 || healthz > HEALTHZ_MS) {
                failures.add("healthz 200 after " + healthz + " ms (bound " + HEALTHZ_MS + ")");
            }
            // readiness is judged once the routes run (their start-up is Camel's, slow on a loaded machine): from
            // then on readyz says only whether a policy is loaded
            HttpResponse<String> readyz;
            try {
                readyz = await().atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO)
                        .pollInterval(Duration.ofMillis(50)).until(() -> get(gw, "/v1/status/readyz"),
                                r -> r.body().contains("\"name\":\"routes-reload\",\"status\":\"UP\""));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                readyz = get(gw, "/v1/status/readyz"); // judged below
            }
            if (readyz.statusCode() == 200) {
                readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - gw.startNanos());
            }
            startGate.release();
            gateHeld = false;
            ready = readyz.statusCode();
            storeKind = readyz.body().contains("\"store\":\"etcd") ? "etcd" : readyz.body().contains("\"store\":\"file") ? "file"
                    : "?";
            HttpResponse<String> chat = HTTP.send(HttpRequest.newBuilder(gw.uri("/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + KEY)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            served = chat.statusCode();
            // truthful readiness: 200 exactly when requests are served
            if (ready == 200 && served != 200) {
                failures.add("readyz 200 but the request got " + served + ": " + chat.body());
            }
            if (ready != 200 && (served == 200 || (storeKind.equals("etcd") && !chat.body().contains("no_policy")))) {
                failures.add("readyz " + ready + " but the request got " + served + ": " + chat.body());
            }
            if (store.etcd() && storeKind.equals("etcd") && ready != 503) {
                failures.add("etcd unreachable with no last-known-good copy, yet readyz " + ready);
            }
            if (!store.etcd() && ready != 200) {
                failures.add("file store with a valid policy, yet readyz " + ready + ": " + readyz.body());
            }
            String output = gw.output();
            for (String stage : List.of("HTTP server listening", "Policy store started", "Telemetry: tracing")) {
                if (!output.contains(stage)) {
                    failures.add("no stage line '" + stage + "'");
                }
            }
            if (endpoint.expectedLog() != null
                    && gw.awaitLine(l -> l.contains("WARN") && l.contains(endpoint.expectedLog()), Duration.ofSeconds(5)) == null) {
                failures.add("no WARN containing '" + endpoint.expectedLog() + "'");
            }
        } catch (Exception e) {
            failures.add("unexpected: " + e);
        } finally {
            if (gateHeld) {
                startGate.release();
            }
            Duration exit = gw.terminate(Duration.ofMillis(EXIT_BOUND_MS + 5000));
            exitMs = exit == null ? -1 : exit.toMillis();
            if (exit == null || exitMs > EXIT_BOUND_MS) {
                failures.add("SIGTERM exit after " + (exit == null ? "more than " + (EXIT_BOUND_MS + 5000) : exitMs)
                        + " ms (bound " + EXIT_BOUND_MS + ")");
            }
            gw.close();
        }
        if (!gw.output().contains("api-router stopped")) {
            failures.add("clean-up did not run (no 'api-router stopped' line)");
        }
        return new Result(name, firstLine, healthz, ready, readyMs, storeKind, served, exitMs, failures, gw.output());
    }

    static HttpResponse<String> get(GatewayProcess gw, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gw.uri(path)).timeout(Duration.ofSeconds(3)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static boolean refused(int port) {
        try (Socket s = new Socket()) {
            s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    static Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    static void printTable() throws IOException {
        StringBuilder out = new StringBuilder();
        String load = "?";
        try {
            load = Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        out.append("start-up matrix: ").append(RESULTS.size()).append(" cases, ").append(PARALLEL)
                .append(" at a time; times in ms from process start; load average at the end: ").append(load).append('\n');
        out.append(String.format("%-62s %6s %7s %6s %7s %5s %6s %6s %s%n", "case", "first", "healthz", "readyz", "ready@",
                "store", "served", "exit", "result"));
        for (Result r : RESULTS.values()) {
            out.append(String.format("%-62s %6d %7d %6d %7d %5s %6d %6d %s%n", r.name(), r.firstLineMs(), r.healthzMs(),
                    r.readyz(), r.readyMs(), r.store(), r.served(), r.exitMs(), r.failures().isEmpty() ? "ok"
                            : "FAIL: " + String.join("; ", r.failures())));
        }
        System.out.println(out);
        Path report = Path.of(System.getProperty("apirouter.jar", "target/api-router.jar")).toAbsolutePath().getParent()
                .resolve("startup-matrix.txt");
        Files.writeString(report, out.toString());
    }
}
