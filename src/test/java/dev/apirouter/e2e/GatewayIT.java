package dev.apirouter.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end: the jar's main in its own process, a policy file, and vLLM simulators on loopback as backends.
 */
@Timeout(60)
class GatewayIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY_ALL = "sk-test-all-models";
    static final String KEY_CHAT = "sk-test-chat-only";
    static final String KEY_DISABLED = "sk-test-disabled";
    static final String KEY_EXPIRED = "sk-test-expired";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static GatewayProcess gateway;
    static Path policyFile;
    static int closedPort;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(5));
        closedPort = GatewayProcess.freePort();
        policyFile = dir.resolve("policy.yaml");
        Files.writeString(policyFile, policy(""));
        gateway = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policyFile.toString(),
                "ROUTER_POLICY_POLL_MS", "100",
                "ROUTER_MAX_BODY_BYTES", "65536"));
        gateway.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
            String output = gateway.output();
            for (String key : List.of(KEY_ALL, KEY_CHAT, KEY_DISABLED, KEY_EXPIRED)) {
                assertFalse(output.contains(key), "the gateway's output must never contain an API key");
            }
        }
        if (sim != null) {
            sim.close();
        }
    }

    static String policy(String extraModel) {
        String simUrl = "http://127.0.0.1:" + sim.port();
        String dead = "http://127.0.0.1:" + closedPort;
        return "models:\n"
                + "  chat:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: " + simUrl + "}]\n"
                + "  direct:\n    backends: [{url: " + simUrl + "}]\n"
                + "  failover:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: " + dead + "}, {url: " + simUrl + "}]\n"
                + "  dead:\n    backends: [{url: " + dead + "}, {url: 'http://127.0.0.1:" + (closedPort) + "/'}]\n"
                + "  slow:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: " + simUrl + "}]\n"
                + "    timeouts: {firstByteMs: 500}\n"
                + "  idle:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: " + simUrl + "}]\n"
                + "    timeouts: {idleMs: 500}\n"
                + "  patient:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: " + simUrl + "}]\n"
                + "    timeouts: {firstByteMs: 1500, idleMs: 300}\n"
                + extraModel
                + "keys:\n"
                + "  \"" + ApiKeys.sha256Hex(KEY_ALL) + "\": {name: all, models: [\"*\"]}\n"
                + "  \"" + ApiKeys.sha256Hex(KEY_CHAT) + "\": {name: chat-only, models: [chat]}\n"
                + "  \"" + ApiKeys.sha256Hex(KEY_DISABLED) + "\": {name: off, models: [\"*\"], disabled: true}\n"
                + "  \"" + ApiKeys.sha256Hex(KEY_EXPIRED) + "\": {name: old, models: [\"*\"], expiresAt: '2020-01-01T00:00:00Z'}\n";
    }

    static HttpRequest.Builder post(String path, String key, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String model, boolean stream) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}],\"max_tokens\":5"
                + (stream ? ",\"stream\":true" : "") + ",\"temperature\": 0.5}";
    }

    @Test
    void chatCompletionIsProxiedWithTheModelRewrittenAndTheKeyKeptBack() throws Exception {
        int before = sim.requests().size();
        HttpResponse<String> r = send(post("/v1/chat/completions", KEY_ALL, chat("chat", false))
                .header("X-Request-Id", "req-123").header("x-api-key", KEY_ALL));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals(UPSTREAM, body.get("model").asText());
        assertEquals("req-123", r.headers().firstValue("X-Request-Id").orElseThrow());

        VllmSimulator.RecordedRequest seen = sim.requestsSince(before).get(0);
        assertEquals("/v1/chat/completions", seen.path());
        assertEquals(null, seen.header("Authorization"));
        assertEquals(null, seen.header("x-api-key"));
        assertEquals("req-123", seen.header("X-Request-Id"));
        assertEquals(chat("chat", false).replace("\"chat\"", "\"" + UPSTREAM + "\""), seen.bodyText(),
                "the body is forwarded byte for byte but for the model");
    }

    @Test
    void aRequestIdIsGeneratedWhenAbsent() throws Exception {
        int before = sim.requests().size();
        HttpResponse<String> r = send(post("/v1/chat/completions", KEY_ALL, chat("chat", false)));
        String id = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertFalse(id.isBlank());
        assertEquals(id, sim.requestsSince(before).get(0).header("X-Request-Id"));
    }

    @Test
    void withoutUpstreamModelTheBodyIsUnchanged() throws Exception {
        int before = sim.requests().size();
        String body = "{\"model\":\"direct\",\"prompt\":\"x\",\"max_tokens\":2}";
        HttpResponse<String> r = send(post("/v1/completions", KEY_ALL, body));
        assertEquals(404, r.statusCode(), "the simulator only serves " + UPSTREAM + ": its own error passes through");
        assertEquals(body, sim.requestsSince(before).get(0).bodyText());
        assertTrue(r.body().contains("does not exist"), r.body());
    }

    @Test
    void streamedChunksArriveAsTheBackendProducesThem() throws Exception {
        HttpRequest request = post("/v1/chat/completions", KEY_ALL,
                "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"stream\":true}")
                .header("x-sim-token-delay-ms", "150").build();
        HttpResponse<InputStream> r = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        List<Long> arrivals = new ArrayList<>();
        List<String> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    arrivals.add(System.nanoTime());
                    events.add(line);
                }
            }
        }
        assertEquals("data: [DONE]", events.get(events.size() - 1));
        assertTrue(events.size() >= 7, events.toString());
        for (int i = 2; i < arrivals.size() - 1; i++) {
            long gapMs = (arrivals.get(i) - arrivals.get(i - 1)) / 1_000_000;
            assertTrue(gapMs >= 75, "chunk " + i + " arrived " + gapMs + " ms after the previous one: buffered?");
        }
    }

    @Test
    void completionsAndEmbeddingsWork() throws Exception {
        HttpResponse<String> c = send(post("/v1/completions", KEY_ALL, "{\"model\":\"chat\",\"prompt\":\"Hello\",\"max_tokens\":3}"));
        assertEquals(200, c.statusCode(), c.body());
        assertEquals("text_completion", JSON.readTree(c.body()).get("object").asText());
        HttpResponse<String> e = send(post("/v1/embeddings", KEY_ALL, "{\"model\":\"chat\",\"input\":[\"a\",\"b\"]}"));
        assertEquals(200, e.statusCode(), e.body());
        assertEquals(2, JSON.readTree(e.body()).get("data").size());
    }

    @Test
    void modelsAreListedPerKey() throws Exception {
        HttpResponse<String> all = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/models"))
                .header("Authorization", "Bearer " + KEY_ALL).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, all.statusCode());
        JsonNode list = JSON.readTree(all.body());
        assertEquals("list", list.get("object").asText());
        assertTrue(list.get("data").size() >= 6);
        HttpResponse<String> chatOnly = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/models"))
                .header("x-api-key", KEY_CHAT).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("{\"object\":\"list\",\"data\":[{\"id\":\"chat\",\"object\":\"model\",\"owned_by\":\"api-router\"}]}",
                chatOnly.body());
    }

    @Test
    void everyGatewayErrorHasTheContractShape() throws Exception {
        assertError(send(post("/v1/chat/completions", KEY_ALL, "not json")), 400, "invalid_request");
        assertError(send(post("/v1/chat/completions", KEY_ALL, "")), 400, "invalid_request");
        assertError(send(post("/v1/chat/completions", KEY_ALL, "{\"messages\":[]}")), 400, "invalid_request");
        assertError(send(post("/v1/chat/completions", KEY_ALL, "{\"model\":42}")), 400, "invalid_request");
        assertError(send(post("/v1/chat/completions", null, chat("chat", false))), 401, "invalid_api_key");
        assertError(send(post("/v1/chat/completions", "sk-unknown", chat("chat", false))), 401, "invalid_api_key");
        assertError(send(post("/v1/chat/completions", KEY_DISABLED, chat("chat", false))), 401, "invalid_api_key");
        assertError(send(post("/v1/chat/completions", KEY_EXPIRED, chat("chat", false))), 401, "invalid_api_key");
        assertError(send(post("/v1/chat/completions", KEY_CHAT, chat("direct", false))), 403, "model_not_allowed");
        assertError(send(post("/v1/chat/completions", KEY_ALL, chat("nope", false))), 404, "model_not_found");
        assertError(send(post("/v1/chat/completions", KEY_ALL, "{\"model\":\"chat\",\"x\":\"" + "a".repeat(70_000) + "\"}")),
                413, "request_too_large");
        assertError(send(post("/v1/chat/completions", KEY_ALL, chat("dead", false))), 502, "upstream_unavailable");
        assertError(HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).build(),
                HttpResponse.BodyHandlers.ofString()), 405, "method_not_allowed");
        assertError(HTTP.send(HttpRequest.newBuilder(gateway.uri("/v2/nothing")).build(),
                HttpResponse.BodyHandlers.ofString()), 404, "not_found");
    }

    static void assertError(HttpResponse<String> r, int status, String code) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("application/json"));
        assertTrue(r.headers().firstValue("X-Request-Id").isPresent(), "X-Request-Id on errors too");
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertNotNull(error, r.body());
        assertEquals(code, error.get("code").asText());
        assertTrue(error.get("message").isTextual());
        assertTrue(error.get("type").isTextual());
        assertTrue(error.has("param") && error.get("param").isNull());
        for (String key : List.of(KEY_ALL, KEY_CHAT, KEY_DISABLED, KEY_EXPIRED, "sk-unknown")) {
            assertFalse(r.body().contains(key));
        }
    }

    @Test
    void aBackendThatRefusesConnectionsIsSkipped() throws Exception {
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = send(post("/v1/chat/completions", KEY_ALL, chat("failover", false)));
            assertEquals(200, r.statusCode(), r.body());
        }
    }

    @Test
    void aSilentBackendGives504WithinTheFirstByteTimeout() throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = send(post("/v1/chat/completions", KEY_ALL, chat("slow", false))
                .header("x-sim-delay-before-headers-ms", "5000"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertError(r, 504, "upstream_timeout");
        assertTrue(ms < 3000, "504 after " + ms + " ms; the policy says 500 ms");
    }

    @Test
    void theFirstByteTimeoutHoldsWhenTheIdleTimeoutIsShorter() throws Exception {
        HttpResponse<String> late = send(post("/v1/chat/completions", KEY_ALL, chat("patient", false))
                .header("x-sim-delay-before-headers-ms", "700"));
        assertEquals(200, late.statusCode(), "an answer after the idle timeout but within the first-byte timeout: " + late.body());
        long t0 = System.nanoTime();
        HttpResponse<String> never = send(post("/v1/chat/completions", KEY_ALL, chat("patient", false))
                .header("x-sim-delay-before-headers-ms", "5000"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertError(never, 504, "upstream_timeout");
        assertTrue(ms >= 1400 && ms < 4000, "504 after " + ms + " ms; the policy says 1500 ms");
    }

    @Test
    void aBackendThatGoesSilentMidStreamHasItsStreamEnded() throws Exception {
        HttpRequest request = post("/v1/chat/completions", KEY_ALL, chat("idle", true).replace("\"max_tokens\":5", "\"max_tokens\":50"))
                .header("x-sim-stall-after-chunks", "2").build();
        long t0 = System.nanoTime();
        HttpResponse<InputStream> r = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        int events = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    events++;
                    assertFalse(line.contains("[DONE]"));
                }
            }
        } catch (IOException expected) {
            // the gateway closes the connection: the client sees a broken stream, not a clean end
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(events >= 1 && events <= 3, "events: " + events);
        assertTrue(ms < 5000, "stream ended after " + ms + " ms; idle timeout is 500 ms");
    }

    @Test
    void aClientThatDisconnectsCancelsTheUpstreamRequest() throws Exception {
        long cancelledBefore = sim.cancelledStreams();
        String body = chat("chat", true).replace("\"max_tokens\":5", "\"max_tokens\":200");
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY_ALL
                    + "\r\nContent-Type: application/json\r\nx-sim-token-delay-ms: 100\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.contains("data: ")) {
                // skip the head until the first event
            }
            assertNotNull(line, "no event before the connection ended");
        }
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).untilAsserted(() ->
                assertTrue(sim.cancelledStreams() > cancelledBefore, "the backend never saw the cancellation"));
    }

    @Test
    void hopByHopHeadersAreDroppedAndBrokenHeadersRefused() throws Exception {
        int before = sim.requests().size();
        String body = chat("chat", false);
        String response = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY_ALL
                + "\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Custom: kept\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        assertTrue(response.startsWith("HTTP/1.1 200"), response);
        VllmSimulator.RecordedRequest seen = sim.requestsSince(before).get(0);
        assertEquals("kept", seen.header("X-Custom"));
        assertEquals(null, seen.header("X-Hop"));
        assertEquals(null, seen.header("Keep-Alive"));

        String broken = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\nContent-Length: 0\r\n\r\n");
        assertTrue(broken.startsWith("HTTP/1.1 400"), broken);
        assertTrue(broken.contains("\"code\":\"invalid_request\""), broken);
    }

    @Test
    void queryParametersStayInTheQueryAndNeverBecomeHeaders() throws Exception {
        int before = sim.requests().size();
        String body = chat("chat", false);
        String query = "x-injected=evil&traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01&a=1&a=2";
        String response = raw("POST /v1/chat/completions?" + query + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + KEY_ALL + "\r\nX-Real: sent\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                + "\r\n\r\n" + body);
        assertTrue(response.startsWith("HTTP/1.1 200"), response);
        VllmSimulator.RecordedRequest seen = sim.requestsSince(before).get(0);
        assertEquals(query, seen.query(), "the query reaches the backend unchanged");
        assertEquals("sent", seen.header("X-Real"));
        assertEquals(null, seen.header("x-injected"), "a query parameter is not a header");
        assertEquals(null, seen.header("traceparent"), "nor can a client set trace context through the query");
        assertEquals(null, seen.header("a"));
    }

    /** Sends a hand-written request; reads one response (by Content-Length, else to the end of the connection). */
    static String raw(String request) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    return head.toString();
                }
                head.append((char) c);
            }
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : in.readAllBytes();
            return head + new String(body, StandardCharsets.UTF_8);
        }
    }

    @Test
    void aPolicyFileChangeIsPickedUpLive() throws Exception {
        try {
            Files.writeString(policyFile, policy("  added:\n    backends: [{url: 'http://127.0.0.1:" + sim.port() + "'}]\n"));
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/models"))
                        .header("x-api-key", KEY_ALL).build(), HttpResponse.BodyHandlers.ofString());
                assertTrue(r.body().contains("\"added\""), r.body());
            });
        } finally {
            Files.writeString(policyFile, policy(""));
        }
    }

    @Test
    void healthAndReadinessAnswer() throws Exception {
        HttpResponse<String> live = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/status/healthz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, live.statusCode());
        HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/status/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode());
        JsonNode checks = JSON.readTree(ready.body()).get("checks");
        assertEquals("policy-store", checks.get(0).get("name").asText());
        assertEquals("UP", checks.get(0).get("status").asText());
    }
}
