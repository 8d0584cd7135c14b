package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
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
 * End to end: backends that need a key (vLLM's {@code --api-key}), one given to the gateway in an environment
 * variable, one in a file that rotates; the gateway running at DEBUG level, whose whole output, policy status,
 * readiness and metrics must never show either secret.
 */
@Timeout(90)
class BackendAuthIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String CLIENT_KEY = "sk-test-client-of-the-gateway";
    static final String ADMIN_TOKEN = "admin-token-of-backend-auth-it";
    static final String KEY_A = "sk-vllm-a-from-env-3f9c1e";
    static final String KEY_B = "sk-vllm-b-from-file-8d2a7b";
    static final String KEY_B_ROTATED = "sk-vllm-b-rotated-51e0c4";
    static final String WRONG_KEY = "sk-vllm-not-the-right-one-77aa";
    static final List<String> SECRETS = List.of(KEY_A, KEY_B, KEY_B_ROTATED, WRONG_KEY);
    static final String UNSET_VARIABLE = "VLLM_KEY_NEVER_SET";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static VllmSimulator simA;
    static VllmSimulator simB;
    static Path secretFile;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        simA = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM).tokenDelayMs(1).apiKey(KEY_A));
        simB = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM).tokenDelayMs(1).apiKey(KEY_B));
        secretFile = dir.resolve("vllm-b.key");
        Files.writeString(secretFile, KEY_B + "\n"); // as `kubectl create secret --from-file` of an echoed key
        String a = "{url: " + simA.baseUrl() + ", auth: {secretEnv: VLLM_KEY_A}}";
        String b = "{url: " + simB.baseUrl() + ", auth: {secretFile: '" + secretFile + "'}}";
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  pair: {upstreamModel: " + UPSTREAM + ", backends: [" + a + ", " + b + "]}\n"
                + "  only-b: {upstreamModel: " + UPSTREAM + ", backends: [" + b + "]}\n"
                + "  wrong-key: {upstreamModel: " + UPSTREAM + ", backends: [{url: " + simA.baseUrl()
                + ", auth: {secretEnv: VLLM_KEY_WRONG}}]}\n"
                + "  no-key: {upstreamModel: " + UPSTREAM + ", backends: [{url: " + simA.baseUrl() + "}]}\n"
                + "  broken: {upstreamModel: " + UPSTREAM + ", backends: [{url: " + simA.baseUrl()
                + ", auth: {secretEnv: " + UNSET_VARIABLE + "}}]}\n"
                + "keys:\n"
                + "  \"" + ApiKeys.sha256Hex(CLIENT_KEY) + "\": {name: it, models: [\"*\"]}\n");
        gateway = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ADMIN_TOKEN", ADMIN_TOKEN,
                "ROUTER_BACKEND_SECRET_REFRESH_MS", "200",
                "LOG_LEVEL", "DEBUG",
                "VLLM_KEY_A", KEY_A,
                "VLLM_KEY_WRONG", WRONG_KEY,
                UNSET_VARIABLE, null));
        gateway.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (gateway != null) {
                gateway.close();
                String output = gateway.output();
                for (String secret : SECRETS) {
                    assertFalse(output.contains(secret), "the gateway's output must never contain a backend secret");
                }
                assertFalse(output.contains(CLIENT_KEY), "nor the client's key");
            }
        } finally {
            if (simA != null) {
                simA.close();
            }
            if (simB != null) {
                simB.close();
            }
        }
    }

    static HttpResponse<String> chat(String model) throws Exception {
        return chat(model, "hi");
    }

    static HttpResponse<String> chat(String model, String content) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + CLIENT_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":2}"))
                .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** A status endpoint on the management port (metrics, the full readyz, the admin ones). */
    static HttpResponse<String> get(String path, String bearer) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.managementUri(path)).timeout(Duration.ofSeconds(10));
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static long chats(VllmSimulator sim) {
        return sim.requests().stream().filter(r -> r.path().equals("/v1/chat/completions")).count();
    }

    /** As the kubelet updates a mounted Secret: the new content appears at once (written aside, renamed over). */
    static void replaceSecretFile(String content) throws Exception {
        Path next = dir.resolve("vllm-b.key.next");
        Files.writeString(next, content);
        Files.move(next, secretFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Every request the simulator saw on /v1 carried exactly its own key, whatever the client sent. */
    static void onlyItsOwnKey(VllmSimulator sim, String... keys) {
        List<String> allowed = java.util.Arrays.stream(keys).map(k -> "Bearer " + k).toList();
        for (VllmSimulator.RecordedRequest r : sim.requests()) {
            if (r.path().startsWith("/v1")) {
                assertTrue(allowed.contains(r.header("Authorization")), "a backend got another credential");
                assertEquals(1, r.headers().get("Authorization").size());
            }
        }
    }

    @Test
    void eachBackendGetsItsOwnKeyAndNeverTheClients() throws Exception {
        simA.reset();
        simB.reset();
        for (int i = 0; i < 60 && (chats(simA) == 0 || chats(simB) == 0); i++) {
            HttpResponse<String> r = chat("pair", "hi " + i); // different prompts: prefix affinity spreads them
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("chat.completion", JSON.readTree(r.body()).path("object").asText());
        }
        assertTrue(chats(simA) > 0 && chats(simB) > 0, "both backends of 'pair' were reached");
        onlyItsOwnKey(simA, KEY_A);
        onlyItsOwnKey(simB, KEY_B, KEY_B_ROTATED);
    }

    @Test
    void aWrongKeyGetsTheBackendsOwn401PassedThrough() throws Exception {
        HttpResponse<String> wrong = chat("wrong-key");
        assertEquals(401, wrong.statusCode());
        assertEquals("{\"error\":\"Unauthorized\"}", wrong.body(), "vLLM's answer, unchanged");
        HttpResponse<String> none = chat("no-key");
        assertEquals(401, none.statusCode(), "a backend without auth gets no credential: not the client's either");
        assertEquals("{\"error\":\"Unauthorized\"}", none.body());
    }

    @Test
    void aRotatedSecretFileIsPickedUpWithoutARestart() throws Exception {
        assertEquals(200, chat("only-b").statusCode());
        simB.setApiKey(KEY_B_ROTATED); // vLLM restarted with the new key, before the Secret's file changes
        try {
            HttpResponse<String> before = chat("only-b");
            assertEquals(401, before.statusCode(), before.body());
            replaceSecretFile(KEY_B_ROTATED + "\n");
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                    assertEquals(200, chat("only-b").statusCode(), "the new secret is used within the refresh interval"));
            assertNotNull(gateway.awaitLine(l -> l.contains("the secret in " + secretFile + " changed"),
                    Duration.ofSeconds(5)), "the rotation is logged (without the secret)");
        } finally {
            replaceSecretFile(KEY_B + "\n");
            simB.setApiKey(KEY_B);
            try { // best effort, for the next tests: a failure here must not hide the test's own
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                        .until(() -> chat("only-b").statusCode() == 200);
            } catch (org.awaitility.core.ConditionTimeoutException ignored) {
                // the next test reports it
            }
        }
    }

    @Test
    void aSecretThatCannotBeReadRejectsItsModelVisibly() throws Exception {
        String reason = "backends[0].auth: secretEnv " + UNSET_VARIABLE + " is not set in the gateway's environment";
        HttpResponse<String> r = chat("broken");
        assertEquals(404, r.statusCode(), r.body());
        assertEquals("model_not_found", JSON.readTree(r.body()).path("error").path("code").asText());
        HttpResponse<String> ready = get("/v1/status/readyz", null);
        assertEquals(200, ready.statusCode(), "the other models serve");
        assertTrue(ready.body().contains(reason), ready.body());
        assertNotNull(gateway.awaitLine(l -> l.contains("models/broken: " + reason), Duration.ofSeconds(5)),
                "the rejection is logged");
    }

    @Test
    void statusShowsWhereSecretsComeFromNeverTheSecrets() throws Exception {
        assertEquals(401, get("/v1/status/policy", null).statusCode());
        HttpResponse<String> status = get("/v1/status/policy", ADMIN_TOKEN);
        assertEquals(200, status.statusCode(), status.body());
        JsonNode pair = JSON.readTree(status.body()).path("models").path("pair").path("backends");
        assertEquals("VLLM_KEY_A", pair.path(0).path("auth").path("secretEnv").asText(), status.body());
        assertEquals(secretFile.toString(), pair.path(1).path("auth").path("secretFile").asText(), status.body());
        assertTrue(JSON.readTree(status.body()).path("models").path("no-key").path("backends").path(0)
                .path("auth").isMissingNode(), status.body());
        HttpResponse<String> metrics = get("/metrics", null);
        assertEquals(200, metrics.statusCode());
        for (String body : List.of(status.body(), get("/v1/status/readyz", null).body(), metrics.body())) {
            for (String secret : SECRETS) {
                assertFalse(body.contains(secret), "a status endpoint shows a backend secret");
            }
        }
    }
}
