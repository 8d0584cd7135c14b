package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.RedisProcess;
import dev.apirouter.testing.RequiredTools;
import dev.apirouter.testing.Resources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end, per-key and per-model limits with the jar and a simulated vLLM: each limit refuses with its code and
 * headers, token reservations are settled with the real usage (streams included, whose usage chunk the client never
 * sees), the official openai SDK waits as told and succeeds, and two gateways sharing a real Redis enforce one
 * limit together, keep serving when Redis is killed, and go back to it when it returns.
 */
@Timeout(150)
class LimitsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final String ADMIN = "limits-it-admin";
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String RPM = "sk-limits-rpm", TPM = "sk-limits-tpm", PARALLEL = "sk-limits-parallel",
            QUOTA = "sk-limits-quota", STREAM = "sk-limits-stream", FREE = "sk-limits-free", SHARED = "sk-limits-shared";

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static GatewayProcess gateway;

    static String key(String key, String name, String limits) {
        return "  \"" + ApiKeys.sha256Hex(key) + "\": {name: " + name + ", models: [\"*\"]"
                + (limits.isEmpty() ? "" : ", limits: " + limits) + "}\n";
    }

    static Path policy(String file, String keys) throws Exception {
        Path policy = dir.resolve(file);
        Files.writeString(policy, "models:\n"
                + "  m: {upstreamModel: " + UPSTREAM + ", backends: [{url: " + sim.baseUrl() + "}]}\n"
                + "  capped: {upstreamModel: " + UPSTREAM + ", backends: [{url: " + sim.baseUrl() + "}], limits: {rpm: 2}}\n"
                + "keys:\n" + keys);
        return policy;
    }

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM).tokenDelayMs(1).maxTokens(4));
        Path policy = policy("policy.yaml", key(RPM, "rpm-team", "{rpm: 3}")
                + key(TPM, "tpm-team", "{tpm: 80}")
                + key(PARALLEL, "parallel-team", "{maxParallel: 1}")
                + key(QUOTA, "quota-team", "{tokensPerDay: 40}")
                + key(STREAM, "stream-team", "{tpm: 100000}")
                + key(FREE, "free", ""));
        gateway = GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ADMIN_TOKEN", ADMIN));
        gateway.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        Resources.close(gateway, sim);
    }

    static HttpResponse<String> chat(GatewayProcess g, String key, String model, String extra) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]" + extra + "}";
        return HTTP.send(HttpRequest.newBuilder(g.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    static String code(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).path("error").path("code").asText();
    }

    static String admin(GatewayProcess g, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(g.managementUri(path)).header("Authorization", "Bearer " + ADMIN)
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void requestsPerMinuteRefuseTheFourthWithHeadersAnOpenAiClientUnderstands() throws Exception {
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = chat(gateway, RPM, "m", "");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("3", header(r, "x-ratelimit-limit-requests"));
            assertEquals(Integer.toString(2 - i), header(r, "x-ratelimit-remaining-requests"));
            assertTrue(header(r, "x-ratelimit-reset-requests").matches("\\d+(ms|s)|\\d+m\\d+s"), header(r, "x-ratelimit-reset-requests"));
        }
        HttpResponse<String> refused = chat(gateway, RPM, "m", "");
        assertEquals(429, refused.statusCode());
        assertEquals("rate_limit_exceeded", code(refused));
        assertTrue(between(Long.parseLong(header(refused, "Retry-After")), 1, 121), header(refused, "Retry-After"));
        assertTrue(Long.parseLong(header(refused, "retry-after-ms")) > 0);
        assertEquals("0", header(refused, "x-ratelimit-remaining-requests"));
        assertFalse(refused.body().contains(RPM), "no key material in the message");
        assertTrue(admin(gateway, "/metrics").contains(
                "api_router_rate_limited_total{key=\"rpm-team\",limit=\"rpm\",model=\"m\"} 1.0"));
    }

    private static boolean between(long value, long low, long high) {
        return value >= low && value <= high;
    }

    @Test
    void tokenReservationsAreSettledWithTheRealUsage() throws Exception {
        // each request is estimated at its body / 4 + max_tokens (about 42) and really uses about 26: two fit in 80
        // only because the first one was settled with its real usage
        assertEquals(200, chat(gateway, TPM, "m", ",\"max_tokens\":20").statusCode());
        HttpResponse<String> second = chat(gateway, TPM, "m", ",\"max_tokens\":20");
        assertEquals(200, second.statusCode(), second.body());
        assertEquals("80", header(second, "x-ratelimit-limit-tokens"));
        HttpResponse<String> third = chat(gateway, TPM, "m", ",\"max_tokens\":20");
        assertEquals(429, third.statusCode(), third.body());
        assertTrue(third.body().contains("tokens per minute"), third.body());
        HttpResponse<String> never = chat(gateway, TPM, "m", ",\"max_tokens\":500");
        assertEquals(429, never.statusCode());
        assertEquals(null, header(never, "Retry-After"), "a request larger than the limit will never fit");
    }

    /** A request whose answer takes 4 tokens of {@code tokenDelayMs} each, once the backend has it (each value once). */
    static CompletableFuture<HttpResponse<String>> slowRequest(String key, String tokenDelayMs) {
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                        .header("Authorization", "Bearer " + key).header("x-sim-token-delay-ms", tokenDelayMs)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"max_tokens\":4,"
                                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> sim.requests().stream()
                .anyMatch(r -> tokenDelayMs.equals(r.header("x-sim-token-delay-ms"))));
        return slow;
    }

    @Test
    void parallelRequestsBeyondTheLimitAreRefusedUntilOneEnds() throws Exception {
        CompletableFuture<HttpResponse<String>> slow = slowRequest(PARALLEL, "600");
        HttpResponse<String> refused = chat(gateway, PARALLEL, "m", "");
        assertEquals(429, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("in parallel"));
        assertEquals("1", header(refused, "Retry-After"));
        assertEquals(200, slow.get(20, TimeUnit.SECONDS).statusCode());
        assertEquals(200, chat(gateway, PARALLEL, "m", "").statusCode(), "the slot is free again");
    }

    @Test
    void theOpenAiSdkWaitsAsToldAndSucceeds() throws Exception {
        Path clients = Path.of("src/test/clients");
        RequiredTools.assume(Files.isDirectory(clients.resolve("node_modules/openai")) && onPath("node"),
                "node and the openai SDK (npm ci in src/test/clients) are needed");
        CompletableFuture<HttpResponse<String>> slow = slowRequest(PARALLEL, "1000");
        long limitedBefore = JSON.readTree(admin(gateway, "/v1/status/usage")).path("keys").path("parallel-team")
                .path("limited").asLong();
        Process node = new ProcessBuilder("node", "sdk-retry.mjs", gateway.uri("/v1").toString(), PARALLEL, "m", "8")
                .directory(clients.toFile()).redirectErrorStream(true).start();
        assertTrue(node.waitFor(30, TimeUnit.SECONDS), "the SDK call ends");
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        JsonNode result = JSON.readTree(out.substring(out.lastIndexOf('{')));
        assertTrue(result.path("ok").asBoolean(), out);
        assertEquals(200, slow.get(20, TimeUnit.SECONDS).statusCode());
        long limitedAfter = JSON.readTree(admin(gateway, "/v1/status/usage")).path("keys").path("parallel-team")
                .path("limited").asLong();
        assertTrue(limitedAfter > limitedBefore, "the SDK was refused first, then retried: " + out);
        assertTrue(result.path("ms").asLong() >= 900, "it waited the retry-after-ms it was given: " + out);
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void theDailyQuotaRunsOutWithInsufficientQuota() throws Exception {
        HttpResponse<String> last = null;
        for (int i = 0; i < 5; i++) {
            last = chat(gateway, QUOTA, "m", ",\"max_tokens\":4");
            if (last.statusCode() != 200) {
                break;
            }
        }
        assertEquals(429, last.statusCode(), last.body());
        assertEquals("insufficient_quota", code(last));
        long retryAfter = Long.parseLong(header(last, "Retry-After"));
        assertTrue(retryAfter > 0 && retryAfter <= 86_400, "until 00:00 UTC: " + retryAfter);
    }

    @Test
    void aLimitedStreamCountsItsTokensWithoutShowingTheUsageChunk() throws Exception {
        HttpResponse<String> r = chat(gateway, STREAM, "m", ",\"stream\":true,\"max_tokens\":4");
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("[DONE]"), r.body());
        assertFalse(r.body().contains("\"usage\""), "the client did not ask for usage: " + r.body());
        assertFalse(r.body().contains("\"choices\":[]"), r.body());
        List<VllmSimulator.RecordedRequest> chats = sim.requests().stream()
                .filter(q -> q.path().equals("/v1/chat/completions")).toList();
        assertTrue(chats.get(chats.size() - 1).bodyText().contains("\"include_usage\":true"), "the backend was asked for usage");
        JsonNode usage = JSON.readTree(admin(gateway, "/v1/status/usage")).path("keys").path("stream-team");
        assertEquals(4, usage.path("outputTokens").asLong(), usage.toString());
        HttpResponse<String> asked = chat(gateway, STREAM, "m",
                ",\"stream\":true,\"max_tokens\":4,\"stream_options\":{\"include_usage\":true}");
        assertTrue(asked.body().contains("\"usage\""), "a client that asks for usage gets it");
    }

    @Test
    void aModelWideLimitAppliesToEveryKeyAndUnlimitedKeysGetNoHeaders() throws Exception {
        HttpResponse<String> free = chat(gateway, FREE, "m", "");
        assertEquals(200, free.statusCode());
        assertEquals(null, header(free, "x-ratelimit-limit-requests"));
        assertEquals(200, chat(gateway, FREE, "capped", "").statusCode());
        assertEquals(200, chat(gateway, STREAM, "capped", "").statusCode());
        HttpResponse<String> third = chat(gateway, FREE, "capped", "");
        assertEquals(429, third.statusCode());
        assertTrue(third.body().contains("the model 'capped'"), third.body());
    }

    static List<String> counterWarnings(GatewayProcess g) {
        return g.output().lines().filter(l -> l.contains("WARN") && l.contains("Limit counters")).toList();
    }

    @Test
    void gatewaysSharingRedisEnforceOneLimitAndKeepServingWithoutIt() throws Exception {
        RedisProcess.assumeInstalled();
        try (RedisProcess redis = RedisProcess.start()) {
            Path policy = policy("shared.yaml", key(SHARED, "shared-team", "{rpm: 4}"));
            var env = GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(), "ROUTER_ADMIN_TOKEN", ADMIN,
                    "ROUTER_REDIS_URL", redis.url(), "ROUTER_REDIS_TIMEOUT_MS", "1000");
            try (GatewayProcess a = GatewayProcess.start(env); GatewayProcess b = GatewayProcess.start(env)) {
                a.awaitReady(Duration.ofSeconds(30));
                b.awaitReady(Duration.ofSeconds(30));
                int admitted = 0;
                for (int i = 0; i < 10; i++) {
                    if (chat(i % 2 == 0 ? a : b, SHARED, "m", "").statusCode() == 200) {
                        admitted++;
                    }
                }
                assertEquals(4, admitted, "one limit for both replicas");
                assertTrue(admin(a, "/v1/status/readyz").contains("\"degraded\":false"));

                long warningsBefore = counterWarnings(a).size();
                redis.kill();
                HttpResponse<String> during = chat(a, SHARED, "m", "");
                assertEquals(200, during.statusCode(), "serving goes on with in-process counters: " + during.body());
                await().atMost(Duration.ofSeconds(10)).until(() -> admin(a, "/v1/status/readyz").contains("\"degraded\":true"));
                for (int i = 0; i < 5; i++) {
                    chat(a, SHARED, "m", "");
                }
                List<String> warnings = counterWarnings(a);
                assertEquals(1, warnings.size() - warningsBefore, "one WARN line, not one per request: " + warnings);
                assertFalse(a.output().contains(redis.url().replace("redis://", "")) && redis.url().contains("@"));

                redis.restart();
                await().atMost(Duration.ofSeconds(15)).until(() -> admin(a, "/v1/status/readyz").contains("\"degraded\":false"));
            }
        }
    }
}
