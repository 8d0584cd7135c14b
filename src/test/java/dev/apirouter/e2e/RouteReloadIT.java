package dev.apirouter.e2e;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Route hot reload end to end: the jar's main with {@code ROUTER_ROUTES_DIR} laid out as a Kubernetes ConfigMap
 * volume ({@code openai-api.yaml -> ..data/openai-api.yaml}, {@code ..data -> ..<version>}, updated by swapping
 * {@code ..data}), plain files added beside it, and a vLLM simulator as the backend.
 */
@Timeout(60)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RouteReloadIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY = "sk-test-route-reload";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    /**
     * How long a reload may take to show. The gateway reloads a file within about 0.5 s (bench/route-reload.sh;
     * RouteReloaderTest holds it to 2 s); the margin is for machines busy with other work.
     */
    static final Duration RELOADED = Duration.ofSeconds(5);
    static final String STEPS = "      steps:\n"
            + "        - process: { ref: auth-validate }\n"
            + "        - process: { ref: policy-enrich }\n"
            + "        - process: { ref: rate-limit }\n"
            + "        - process: { ref: backend-dispatch }\n";

    @TempDir
    static Path dir;
    static Path routes;
    static String original;
    static VllmSimulator sim;
    static GatewayProcess gateway;
    static int configMapVersion;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(2)
                .maxRecordedRequests(100_000));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  chat:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: 'http://127.0.0.1:" + sim.port() + "'}]\n"
                + "keys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: reload, models: [\"*\"]}\n");
        routes = Files.createDirectory(dir.resolve("routes"));
        original = Files.readString(Path.of("routes", "openai-api.yaml"));
        publish(original);
        gateway = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ROUTES_DIR", routes.toString()));
        gateway.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
            System.out.println(gateway.output()); // kept in target/failsafe-reports (redirectTestOutputToFile)
            assertFalse(gateway.output().contains(KEY), "the gateway's output must never contain an API key");
        }
        if (sim != null) {
            sim.close();
        }
    }

    /** Publishes a new version of openai-api.yaml the way kubelet updates a ConfigMap volume. */
    static void publish(String openaiApi) throws Exception {
        Path version = Files.createDirectory(routes.resolve("..2026_01_01_v" + (++configMapVersion)));
        Files.writeString(version.resolve("openai-api.yaml"), openaiApi);
        Path data = routes.resolve("..data");
        Path previous = Files.isSymbolicLink(data) ? routes.resolve(Files.readSymbolicLink(data)) : null;
        Path tmp = routes.resolve("..data_tmp");
        Files.createSymbolicLink(tmp, version.getFileName());
        Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE);
        Path visible = routes.resolve("openai-api.yaml");
        if (!Files.isSymbolicLink(visible)) {
            Files.createSymbolicLink(visible, Path.of("..data", "openai-api.yaml"));
        }
        if (previous != null) {
            try (var files = Files.list(previous)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(previous);
        }
    }

    /** Writes a plain file beside the ConfigMap's (atomically, as editors and `kubectl cp` leave it). */
    static void writeFile(String name, String content) throws Exception {
        Path tmp = routes.resolve("." + name + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, routes.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The yaml block that follows {@code <!-- example: name -->} in docs/routes.md. */
    static String readmeExample(String name) throws Exception {
        String readme = Files.readString(Path.of("docs/routes.md"));
        Matcher m = Pattern.compile("<!-- example: " + Pattern.quote(name) + " -->\\s*```yaml\\n(.*?)```", Pattern.DOTALL)
                .matcher(readme);
        assertTrue(m.find(), "docs/routes.md has no example " + name);
        return m.group(1);
    }

    static HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    static String chat(boolean stream, int maxTokens) {
        return "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":" + maxTokens
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Sends until the backend's view of a request matches (bounded); returns the milliseconds it took, or -1. */
    static long awaitUpstream(Predicate<VllmSimulator.RecordedRequest> match) throws Exception {
        return millisUntil(() -> {
            int before = sim.requests().size();
            assertEquals(200, send(post("/v1/chat/completions", chat(false, 2))).statusCode());
            return match.test(apiRequestSince(before));
        });
    }

    /** The first request the backend got from the {@code before}-th on, other than the fleet's scrapes and probes. */
    static VllmSimulator.RecordedRequest apiRequestSince(int before) {
        List<VllmSimulator.RecordedRequest> all = sim.requests();
        return all.subList(before, all.size()).stream()
                .filter(q -> !List.of("/metrics", "/health", "/version").contains(q.path())).findFirst()
                .orElseThrow(() -> new AssertionError("the backend got no request"));
    }

    static long await(String path, Predicate<HttpResponse<String>> match) throws Exception {
        return millisUntil(() -> match.test(HTTP.send(HttpRequest.newBuilder(gateway.uri(path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString())));
    }

    /** Checks until the condition holds (bounded by RELOADED); returns the milliseconds it took, or -1. */
    static long millisUntil(java.util.concurrent.Callable<Boolean> condition) {
        long t0 = System.nanoTime();
        try {
            Awaitility.await().atMost(RELOADED).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                    .until(condition);
        } catch (ConditionTimeoutException e) {
            return -1;
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** The routes-reload check in full (its errors and generations): the management port's readyz. */
    static JsonNode routesReloadCheck() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.managementUri("/v1/status/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        for (JsonNode check : JSON.readTree(r.body()).get("checks")) {
            if (check.get("name").asText().equals("routes-reload")) {
                assertEquals("UP", check.get("status").asText());
                return check.get("data");
            }
        }
        throw new AssertionError("no routes-reload check: " + r.body());
    }

    @Test
    @Order(1)
    void readmeExampleAHeaderOnEveryUpstreamRequestArrivesThroughAConfigMapSwap() throws Exception {
        String steps = readmeExample("upstream-header");
        String changed = original.replace(STEPS, steps);
        assertEquals(15, (original.length() - original.replace(STEPS, "").length()) / STEPS.length(),
                "the fifteen routes of the four steps get the step (those of the Responses API also pin ids)");
        publish(changed);
        long ms = awaitUpstream(r -> "acme".equals(r.header("X-Tenant")));
        assertTrue(ms >= 0, "the ..data swap was not picked up within " + RELOADED);
        for (String path : List.of("/v1/completions", "/v1/embeddings")) {
            int before = sim.requests().size();
            String body = path.endsWith("embeddings") ? "{\"model\":\"chat\",\"input\":\"x\"}"
                    : "{\"model\":\"chat\",\"prompt\":\"x\",\"max_tokens\":2}";
            assertEquals(200, send(post(path, body)).statusCode());
            assertEquals("acme", apiRequestSince(before).header("X-Tenant"), path);
        }
        JsonNode file = routesReloadCheck().get("files").get("openai-api.yaml");
        assertEquals("loaded", file.get("state").asText());
        assertEquals(2, file.get("generation").asInt());
    }

    @Test
    @Order(2)
    void readmeExampleANewScoreEndpointGoesThroughTheSameSteps() throws Exception {
        writeFile("score.yaml", readmeExample("score"));
        String body = "{\"model\":\"chat\",\"text_1\":\"capital of France\",\"text_2\":[\"Paris\",\"Berlin\"]}";
        assertTrue(await("/score", r -> r.statusCode() != 404 || !r.body().contains("not_found")) >= 0);
        int before = sim.requests().size();
        HttpResponse<String> r = send(post("/score", body));
        VllmSimulator.RecordedRequest seen = apiRequestSince(before);
        assertEquals("/score", seen.path(), "backend-dispatch keeps the path");
        assertEquals(body.replace("\"chat\"", "\"" + UPSTREAM + "\""), seen.bodyText(), "policy-enrich rewrote the model");
        assertEquals(null, seen.header("Authorization"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(2, JSON.readTree(r.body()).get("data").size(), "the simulator's answer passes through: " + r.body());
        HttpResponse<String> noKey = HTTP.send(HttpRequest.newBuilder(gateway.uri("/score"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, noKey.statusCode(), "auth-validate runs first");
        assertTrue(noKey.body().contains("\"code\":\"invalid_api_key\""), noKey.body());
        HttpResponse<String> unknownModel = send(post("/score", body.replace("\"chat\"", "\"nope\"")));
        assertEquals(404, unknownModel.statusCode());
        assertTrue(unknownModel.body().contains("\"code\":\"model_not_found\""), unknownModel.body());
        HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(gateway.uri("/score")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
    }

    /** One client's outcome: non-2xx responses and broken streams, as text. */
    record Outcome(int ok, int streams, List<String> failures) {
    }

    @Test
    @Order(3)
    @Timeout(90)
    void noRequestFailsAndNoStreamBreaksWhileRoutesReloadUnderLoad() throws Exception {
        int reloads = 5;
        AtomicBoolean running = new AtomicBoolean(true);
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger streamsDone = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(9); // 8 clients and the long stream
        List<Future<?>> futures = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        for (int t = 0; t < 8; t++) {
            boolean stream = t % 2 == 0;
            futures.add(clients.submit(() -> {
                for (int i = 0; i < 2000 && running.get() && System.nanoTime() < end; i++) {
                    try {
                        if (stream) {
                            String failure = stream(chat(true, 12), "20");
                            if (failure != null) {
                                failures.add(failure);
                            } else {
                                streamsDone.incrementAndGet();
                            }
                        } else {
                            HttpResponse<String> r = send(post("/v1/chat/completions", chat(false, 3)));
                            if (r.statusCode() / 100 != 2) {
                                failures.add(r.statusCode() + " " + r.body());
                            } else {
                                ok.incrementAndGet();
                            }
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
                return null;
            }));
        }
        // a long stream that spans several reloads: it finishes on the version that started it
        Future<String> longStream = clients.submit(() -> stream(chat(true, 40), "100"));
        try {
            Awaitility.await("the long stream has started").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(20)).until(() -> sim.requests().stream()
                            .anyMatch(r -> r.bodyText().contains("\"max_tokens\":40")));
            for (int v = 1; v <= reloads; v++) {
                String step = "        - setHeader:\n            name: X-Routes-Version\n            constant: \"" + v + "\"\n";
                publish(original.replace(STEPS, STEPS.replace("        - process: { ref: backend-dispatch }\n",
                        step + "        - process: { ref: backend-dispatch }\n")));
                String version = Integer.toString(v);
                assertTrue(awaitUpstream(r -> version.equals(r.header("X-Routes-Version"))) >= 0,
                        "version " + v + " not serving within " + RELOADED);
                int okAt = ok.get();
                Awaitility.await("the load runs on version " + v).atMost(Duration.ofSeconds(10))
                        .pollInterval(Duration.ofMillis(20)).until(() -> ok.get() >= okAt + 5);
            }
            assertEquals(null, longStream.get(20, TimeUnit.SECONDS), "the long stream ends with [DONE]");
        } finally {
            running.set(false);
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
        assertEquals(List.of(), failures, "requests failed or streams broke during the reloads");
        assertTrue(ok.get() > 50 && streamsDone.get() > 20, "ok " + ok.get() + ", streams " + streamsDone.get());
        List<VllmSimulator.RecordedRequest> seen = sim.requests();
        assertTrue(seen.stream().anyMatch(r -> r.header("X-Routes-Version") == null
                        && r.bodyText().contains("\"max_tokens\":40")),
                "the long stream was started before the first reload");
        JsonNode data = routesReloadCheck();
        assertEquals(0, data.get("failures").asInt(), data.toString());
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                assertEquals(0, routesReloadCheck().get("retiringRoutes").asInt(), "old generations are removed once idle"));
    }

    /** Sends a streamed chat completion; returns null when it ends with data: [DONE], else what went wrong. */
    static String stream(String body, String tokenDelayMs) {
        try {
            HttpResponse<InputStream> r = HTTP.send(post("/v1/chat/completions", body)
                    .header("x-sim-token-delay-ms", tokenDelayMs).build(), HttpResponse.BodyHandlers.ofInputStream());
            String last = null;
            int events = 0;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        last = line;
                        events++;
                    }
                }
            }
            if (r.statusCode() != 200) {
                return "stream status " + r.statusCode();
            }
            return "data: [DONE]".equals(last) ? null : "broken stream after " + events + " events: " + last;
        } catch (Exception e) {
            return "stream failed: " + e;
        }
    }

    @Test
    @Order(4)
    void aBadFileChangesNothingAndFixingItReloadsIt() throws Exception {
        String good = "- route:\n"
                + "    id: extra\n"
                + "    from:\n"
                + "      uri: platform-http:/v1/extra\n"
                + "      parameters:\n"
                + "        httpMethodRestrict: GET\n"
                + "      steps:\n"
                + "        - setBody:\n"
                + "            constant: good\n";
        writeFile("extra.yaml", good);
        assertTrue(await("/v1/extra", r -> r.body().equals("good")) >= 0);
        String bodyStep = "        - setBody:\n            constant: good\n";
        Map<String, String[]> bad = new LinkedHashMap<>();
        // file content, then what the ERROR line and readyz must say: position, cause
        bad.put("syntax error", new String[] {good.replace("    from:\n", "    from: [\n"), "rejected, line 5, column 17: ",
                "while parsing a flow sequence"});
        bad.put("unknown component", new String[] {good.replace(bodyStep,
                bodyStep + "        - to: nosuchcomponent:x\n"), "rejected, line 10: ",
                "No endpoint could be found for: nosuchcomponent://x"});
        bad.put("missing bean", new String[] {good.replace(bodyStep,
                bodyStep + "        - process:\n            ref: noSuchProcessor\n"), "rejected, line 10: ",
                "No bean could be found in the registry for: noSuchProcessor"});
        bad.put("duplicate route id", new String[] {good.replace("id: extra", "id: chat-completions")
                .replace("/v1/extra", "/v1/extra2"), "rejected, line 1: ", "duplicate route id 'chat-completions'"});
        bad.put("path clash", new String[] {good.replace("/v1/extra", "/v1/chat/completions")
                .replace("GET", "POST"), "rejected, line 1: ", "path clash"});
        int errorsBefore = countErrors();
        int failures = routesReloadCheck().get("failures").asInt();
        for (Map.Entry<String, String[]> e : bad.entrySet()) {
            String kind = e.getKey();
            writeFile("extra.yaml", e.getValue()[0]);
            failures++;
            int expected = failures;
            Awaitility.await(kind).atMost(RELOADED).pollInterval(Duration.ofMillis(20))
                    .until(() -> routesReloadCheck().get("failures").asInt() >= expected);
            JsonNode file = routesReloadCheck().get("files").get("extra.yaml");
            assertEquals("failed", file.get("state").asText(), kind);
            assertEquals(expected, routesReloadCheck().get("failures").asInt(), kind);
            assertTrue(file.get("error").asText().contains(e.getValue()[2]), kind + ": " + file);
            assertEquals("good", send(HttpRequest.newBuilder(gateway.uri("/v1/extra")).GET()).body(),
                    kind + ": the previous version keeps serving");
            assertEquals(200, send(post("/v1/chat/completions", chat(false, 2))).statusCode(), kind);
            GatewayProcess.Line error = gateway.awaitLine(l -> l.contains("ERROR") && l.contains(e.getValue()[2])
                    && l.contains("Route file extra.yaml rejected"), Duration.ofSeconds(2));
            assertNotNull(error, kind + ": no ERROR line");
            assertTrue(error.text().contains(e.getValue()[1]), kind + ": " + error.text());
            assertEquals(errorsBefore + 1, countErrors(), kind + ": exactly one ERROR line");
            errorsBefore++;
        }
        writeFile("extra.yaml", good.replace("constant: good", "constant: fixed"));
        assertTrue(await("/v1/extra", r -> r.body().equals("fixed")) >= 0, "fixing the file reloads it");
        assertEquals(errorsBefore, countErrors());
    }

    static int countErrors() {
        return (int) gateway.lines().stream().filter(l -> l.text().contains(" ERROR ")).count();
    }

    @Test
    @Order(5)
    void removingAFileTakesItsRoutesAway() throws Exception {
        Files.delete(routes.resolve("score.yaml"));
        assertTrue(await("/score", r -> r.statusCode() == 404) >= 0);
        HttpResponse<String> r = send(post("/score", "{\"model\":\"chat\",\"text_1\":\"q\",\"text_2\":[]}"));
        assertEquals(404, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("application/json"));
        assertTrue(r.body().contains("\"code\":\"not_found\""), r.body());
        assertFalse(routesReloadCheck().get("files").has("score.yaml"));
        assertEquals(200, send(post("/v1/chat/completions", chat(false, 2))).statusCode(), "the other files stay");
    }
}
