#!/usr/bin/env bash
# Route hot-reload benchmark (issue 6). Prints a table:
#   - time from writing a route file to its new version serving (a probe route answering its version; polled),
#   - requests that failed and streams that broke while openai-api.yaml is reloaded 20 times under steady load
#     (must be 0).
# Runs target/api-router.jar (built if missing) against the vLLM simulator, both on 127.0.0.1 only. Every loop is
# bounded; the gateway process is started and stopped (by its PID) by the Java driver below.
#
# Usage: bench/route-reload.sh [reloads (20)] [client threads (8)]
set -euo pipefail
cd "$(dirname "$0")/.."
RELOADS="${1:-20}"
CLIENTS="${2:-8}"

if [[ ! -f target/api-router.jar ]]; then
  mvn -B -q package -DskipTests
fi

work="$(mktemp -d -t route-reload-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes"

cat > "$work/RouteReloadBench.java" <<'JAVA'
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import dev.apirouter.sim.VllmSimulator;

public final class RouteReloadBench {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final String KEY = "sk-bench-route-reload";
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String STEPS = "        - to: direct:backend-dispatch\n";
    static final Duration SERVING_TIMEOUT = Duration.ofSeconds(5);
    static int port;

    public static void main(String[] args) throws Exception {
        Path jar = Path.of(args[0]).toAbsolutePath();
        Path work = Path.of(args[1]);
        String original = Files.readString(Path.of(args[2]));
        int reloads = Integer.parseInt(args[3]);
        int clients = Integer.parseInt(args[4]);

        VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM)
                .tokenDelayMs(2).maxRecordedRequests(1000));
        Path policy = work.resolve("policy.yaml");
        Files.writeString(policy, "models:\n  chat:\n    upstreamModel: " + UPSTREAM
                + "\n    backends: [{url: 'http://127.0.0.1:" + sim.port() + "'}]\n"
                + "keys:\n  \"" + sha256(KEY) + "\": {name: bench, models: [\"*\"]}\n");
        Path routes = Files.createDirectories(work.resolve("routes"));
        write(routes, "openai-api.yaml", original);
        write(routes, "probe.yaml", probe(0));
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", jar.toString()).directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("gateway.log").toFile());
        pb.environment().put("ROUTER_HTTP_HOST", "127.0.0.1");
        pb.environment().put("ROUTER_HTTP_PORT", Integer.toString(port));
        pb.environment().put("ROUTER_MANAGEMENT_HOST", "127.0.0.1");
        pb.environment().put("ROUTER_MANAGEMENT_PORT", "0"); // a free one: nothing here reads it
        pb.environment().put("ROUTER_POLICY_FILE", policy.toString());
        pb.environment().put("ROUTER_ROUTES_DIR", routes.toString());
        pb.environment().put("LOG_LEVEL", "WARN");
        Process gateway = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::destroyForcibly));
        int exit = 1;
        try {
            awaitReady(gateway);
            exit = run(routes, original, reloads, clients, sim);
        } finally {
            gateway.destroy(); // SIGTERM to the gateway's PID
            if (!gateway.waitFor(30, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
                gateway.waitFor(5, TimeUnit.SECONDS);
            }
            sim.close();
        }
        System.exit(exit);
    }

    static int run(Path routes, String original, int reloads, int clients, VllmSimulator sim) throws Exception {
        // 1. time from file write to the new route serving, idle gateway
        List<Long> idle = new ArrayList<>();
        for (int v = 1; v <= reloads; v++) {
            long t0 = System.nanoTime();
            write(routes, "probe.yaml", probe(v));
            String expected = "v" + v;
            idle.add(awaitMillis(t0, () -> expected.equals(get("/v1/reload-probe"))));
        }

        // 2. reloads of openai-api.yaml under steady load (half the clients stream)
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger requests = new AtomicInteger();
        AtomicInteger streams = new AtomicInteger();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> futures = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(30L + 3L * reloads).toNanos();
        for (int c = 0; c < clients; c++) {
            boolean stream = c % 2 == 0;
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 100_000 && running.get() && System.nanoTime() < end; i++) {
                    String failure = stream ? stream() : nonStream();
                    (stream ? streams : requests).incrementAndGet();
                    if (failure != null) {
                        failures.add(failure);
                    }
                }
                return null;
            }));
        }
        List<Long> loaded = new ArrayList<>();
        try {
            Thread.sleep(500);
            for (int v = 1; v <= reloads; v++) {
                String version = Integer.toString(v);
                long t0 = System.nanoTime();
                write(routes, "openai-api.yaml", original.replace(STEPS, "        - setHeader:\n"
                        + "            name: X-Routes-Version\n            constant: \"" + v + "\"\n" + STEPS));
                loaded.add(awaitMillis(t0, () -> {
                    List<VllmSimulator.RecordedRequest> seen = sim.requests();
                    return !seen.isEmpty() && version.equals(seen.get(seen.size() - 1).header("X-Routes-Version"));
                }));
                Thread.sleep(300);
            }
        } finally {
            running.set(false);
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdownNow();
        }

        String row = "| %-62s | %-38s |%n";
        System.out.printf(row, "measure", "result");
        System.out.printf(row, "-".repeat(62), "-".repeat(38));
        System.out.printf(row, "file write -> new route serving, idle (" + reloads + " reloads)", stats(idle));
        System.out.printf(row, "file write -> new openai-api.yaml serving, under load", stats(loaded));
        System.out.printf(row, "requests during the " + reloads + " reloads (non-stream / stream)",
                requests.get() + " / " + streams.get());
        long failed = failures.stream().filter(f -> !f.startsWith("broken")).count();
        System.out.printf(row, "failed requests (non-2xx or error)", failed);
        System.out.printf(row, "broken streams (no data: [DONE])", failures.size() - failed);
        failures.stream().limit(5).forEach(f -> System.out.println("  " + f));
        boolean slow = idle.contains(-1L) || loaded.contains(-1L);
        if (slow) {
            System.out.println("  some reloads were not serving within " + SERVING_TIMEOUT.toMillis() + " ms (-1)");
        }
        return failures.isEmpty() && !slow ? 0 : 1;
    }

    static String probe(int version) {
        return "- route:\n    id: reload-probe\n    from:\n      uri: platform-http:/v1/reload-probe\n"
                + "      parameters:\n        httpMethodRestrict: GET\n      steps:\n"
                + "        - setHeader:\n            name: X-Routes-Version\n            constant: \"" + version + "\"\n"
                + "        - setBody:\n            constant: v" + version + "\n";
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /** Milliseconds from t0 until check passes (polled every 2 ms, bounded), or -1. */
    static long awaitMillis(long t0, Check check) throws Exception {
        while (System.nanoTime() - t0 < SERVING_TIMEOUT.toNanos()) {
            if (check.ok()) {
                return (System.nanoTime() - t0) / 1_000_000;
            }
            Thread.sleep(2);
        }
        return -1;
    }

    static String stats(List<Long> millis) {
        List<Long> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        return String.format("min %d, p50 %d, p95 %d, max %d ms", sorted.get(0), sorted.get(sorted.size() / 2),
                sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.95) - 1)),
                sorted.get(sorted.size() - 1));
    }

    static String get(String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200 ? r.body() : null;
    }

    static HttpRequest.Builder chat(boolean stream) {
        String body = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":"
                + (stream ? "10,\"stream\":true}" : "3}");
        return HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .header("x-sim-token-delay-ms", stream ? "20" : "1")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    static String nonStream() {
        try {
            HttpResponse<String> r = HTTP.send(chat(false).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() / 100 == 2 ? null : "HTTP " + r.statusCode() + " " + r.body();
        } catch (Exception e) {
            return "error " + e;
        }
    }

    static String stream() {
        try {
            HttpResponse<InputStream> r = HTTP.send(chat(true).build(), HttpResponse.BodyHandlers.ofInputStream());
            String last = null;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.startsWith("data: ")) {
                        last = line;
                    }
                }
            }
            if (r.statusCode() / 100 != 2) {
                return "HTTP " + r.statusCode() + " (stream)";
            }
            return "data: [DONE]".equals(last) ? null : "broken stream, last event: " + last;
        } catch (Exception e) {
            return "error (stream) " + e;
        }
    }

    static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    static void write(Path dir, String name, String content) throws Exception {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void awaitReady(Process gateway) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && gateway.isAlive()) {
            try {
                if (HTTP.send(HttpRequest.newBuilder(uri("/v1/status/readyz")).timeout(Duration.ofSeconds(1)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the gateway did not get ready; see its log");
    }

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}
JAVA

javac -d "$work/classes" tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java "$work/RouteReloadBench.java"
set +e
java -cp "$work/classes" RouteReloadBench target/api-router.jar "$work" routes/openai-api.yaml "$RELOADS" "$CLIENTS"
status=$?
set -e
if [[ $status -ne 0 && -f "$work/gateway.log" ]]; then
  echo "--- gateway log (last 30 lines)"; tail -30 "$work/gateway.log"
fi
exit $status
