package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.RequiredTools;
import dev.apirouter.testing.Resources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * vLLM's other endpoints through the gateway (the jar) to the simulator: the Responses API (streamed and not; stored
 * responses by id, pinned to the backend that holds them), score, rerank (three paths), tokenize, detokenize,
 * pooling, classify, the Anthropic Messages API (its errors in Anthropic's shape); model aliases;
 * {@code GET /v1/models/{id}}; the official openai SDK's {@code responses.create}, {@code responses.retrieve},
 * {@code responses.delete} and {@code models.retrieve}, and the official Anthropic SDK's {@code messages.create}.
 */
class EndpointsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String ALL = "sk-endpoints-all", CANONICAL = "sk-endpoints-canonical", ALIAS_ONLY = "sk-endpoints-alias",
            METERED = "sk-endpoints-metered";

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    /** A second backend: model {@code two} is served by both simulators, in weighted random order. */
    static VllmSimulator sim2;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM, "rr", "two").tokenDelayMs(1)
                .maxTokens(4));
        sim2 = VllmSimulator.start(new VllmSimulator.Options().servedModelNames("two").tokenDelayMs(1).maxTokens(4));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  m: {upstreamModel: " + UPSTREAM + ", aliases: [gpt-4o-mini, small], backends: [{url: " + sim.baseUrl() + "}]}\n"
                + "  rr: {aliases: [reranker], backends: [{url: " + sim.baseUrl() + "}]}\n"
                + "  two: {routing: {strategy: weighted}, backends: [{url: " + sim.baseUrl() + "}, {url: "
                + sim2.baseUrl() + "}]}\n"
                + "keys:\n"
                + "  \"" + ApiKeys.sha256Hex(ALL) + "\": {name: all, models: [\"*\"]}\n"
                + "  \"" + ApiKeys.sha256Hex(CANONICAL) + "\": {name: canonical, models: [m]}\n"
                + "  \"" + ApiKeys.sha256Hex(ALIAS_ONLY) + "\": {name: alias-only, models: [small]}\n"
                + "  \"" + ApiKeys.sha256Hex(METERED) + "\": {name: metered, models: [\"*\"], limits: {tpm: 100000}}\n");
        gateway = GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString()));
        gateway.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        Resources.close(gateway, sim, sim2);
    }

    static HttpResponse<String> post(String path, String key, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path, String key) throws Exception {
        return send("GET", path, key);
    }

    static HttpResponse<String> send(String method, String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A Messages API call as Anthropic clients make it: the key in x-api-key, an anthropic-version. */
    static HttpResponse<String> message(String key, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/messages")).timeout(Duration.ofSeconds(20))
                .header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .header("anthropic-beta", "test-beta").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Runs {@code script} of src/test/clients with node (skipped when node or the SDK {@code module} is missing: npm
     * ci there) and returns the JSON line it prints last.
     */
    static JsonNode sdk(String module, String script, String... args) throws Exception {
        Path clients = Path.of("src/test/clients");
        RequiredTools.assume(Files.isDirectory(clients.resolve("node_modules").resolve(module)) && LimitsIT.onPath("node"),
                "node and the " + module + " SDK (npm ci in src/test/clients) are needed");
        List<String> command = new ArrayList<>(List.of("node", script));
        command.addAll(List.of(args));
        Process node = new ProcessBuilder(command).directory(clients.toFile()).redirectErrorStream(true).start();
        assertTrue(node.waitFor(60, TimeUnit.SECONDS), "the SDK calls end");
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String line = out.substring(out.lastIndexOf("\n{") + 1);
        assertTrue(line.startsWith("{"), out);
        JsonNode result = JSON.readTree(line);
        assertTrue(result.path("ok").asBoolean(), out);
        return result;
    }

    /** The model the simulator got in the body of the last request on {@code path}. */
    static String backendModel(String path) throws Exception {
        return JSON.readTree(backendBody(path)).path("model").asText();
    }

    /** The body of the last request the simulator got on {@code path} (not the fleet's scrapes and probes). */
    static String backendBody(String path) {
        return lastRequest(sim, path).bodyText();
    }

    static String code(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).path("error").path("code").asText();
    }

    /** One endpoint: its path, the model the client names, its body's other fields, a field its answer has. */
    record Call(String path, String model, String fields, String answerField, String canonical, String backend) {
    }

    @Test
    void everyEndpointPassesThroughWithTheCanonicalOrUpstreamModel() throws Exception {
        List<Call> calls = List.of(
                new Call("/v1/responses", "gpt-4o-mini", "\"input\":\"hello\"", "output", "m", UPSTREAM),
                new Call("/v1/score", "reranker", "\"text_1\":\"lorem\",\"text_2\":[\"lorem ipsum\",\"b\"]", "data", "rr", "rr"),
                new Call("/v1/rerank", "rr", "\"query\":\"lorem\",\"documents\":[\"b\",\"lorem ipsum\"]", "results", "rr", "rr"),
                new Call("/rerank", "reranker", "\"query\":\"lorem\",\"documents\":[\"b\",\"lorem\"]", "results", "rr", "rr"),
                new Call("/v2/rerank", "reranker", "\"query\":\"lorem\",\"documents\":[{\"text\":\"lorem\"}],\"top_n\":1",
                        "results", "rr", "rr"),
                new Call("/tokenize", "small", "\"prompt\":\"lorem ipsum dolor\"", "tokens", "m", UPSTREAM),
                new Call("/detokenize", "m", "\"tokens\":[0,1,2]", "prompt", "m", UPSTREAM),
                new Call("/pooling", "m", "\"input\":\"lorem\"", "data", "m", UPSTREAM),
                new Call("/classify", "gpt-4o-mini", "\"input\":[\"good\",\"bad\"]", "data", "m", UPSTREAM));
        List<String> failures = new ArrayList<>();
        for (Call c : calls) {
            HttpResponse<String> r = post(c.path(), ALL, "{\"model\":\"" + c.model() + "\"," + c.fields() + "}");
            JsonNode body = JSON.readTree(r.body());
            if (r.statusCode() != 200 || !body.has(c.answerField())
                    || !c.canonical().equals(r.headers().firstValue("x-api-router-model").orElse(null))
                    || !c.backend().equals(backendModel(c.path()))) {
                failures.add(c.path() + ": " + r.statusCode() + " " + r.headers().firstValue("x-api-router-model")
                        + " " + r.body());
            }
        }
        assertEquals(List.of(), failures);
        JsonNode rerank = JSON.readTree(post("/v1/rerank", ALL,
                "{\"model\":\"rr\",\"query\":\"lorem\",\"documents\":[\"b\",\"lorem ipsum\"]}").body());
        assertEquals(1, rerank.path("results").get(0).path("index").asInt(), "best first: " + rerank);
        assertEquals("lorem ipsum dolor", JSON.readTree(post("/detokenize", ALL,
                "{\"model\":\"m\",\"tokens\":[0,1,2]}").body()).path("prompt").asText());
    }

    @Test
    void aBodyWithoutAModelIsRefusedAndTheAllowListHolds() throws Exception {
        HttpResponse<String> noModel = post("/tokenize", ALL, "{\"prompt\":\"lorem\"}");
        assertEquals(400, noModel.statusCode(), noModel.body());
        assertEquals("invalid_request", code(noModel));
        assertEquals(200, post("/tokenize", ALIAS_ONLY, "{\"model\":\"small\",\"prompt\":\"a\"}").statusCode());
        HttpResponse<String> byName = post("/tokenize", ALIAS_ONLY, "{\"model\":\"m\",\"prompt\":\"a\"}");
        assertEquals(403, byName.statusCode());
        assertEquals("model_not_allowed", code(byName));
        assertEquals(200, post("/v1/score", CANONICAL, "{\"model\":\"gpt-4o-mini\",\"text_1\":\"a\",\"text_2\":\"b\"}")
                .statusCode(), "the model's own name allows its aliases");
        assertEquals(403, post("/v1/score", CANONICAL, "{\"model\":\"reranker\",\"text_1\":\"a\",\"text_2\":\"b\"}")
                .statusCode());
        assertEquals(401, post("/v1/rerank", "sk-unknown", "{\"model\":\"rr\",\"query\":\"a\",\"documents\":[\"b\"]}")
                .statusCode());
    }

    @Test
    void modelsAreListedAndRetrievedByTheNamesTheKeyMayCall() throws Exception {
        JsonNode list = JSON.readTree(get("/v1/models", CANONICAL).body());
        List<String> ids = new ArrayList<>();
        list.path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertEquals(List.of("gpt-4o-mini", "m", "small"), ids);
        HttpResponse<String> found = get("/v1/models/gpt-4o-mini", CANONICAL);
        assertEquals(200, found.statusCode(), found.body());
        JsonNode model = JSON.readTree(found.body());
        assertEquals("gpt-4o-mini", model.path("id").asText());
        assertEquals("model", model.path("object").asText());
        assertEquals(200, get("/v1/models/rr", ALL).statusCode());
        assertEquals(200, get("/v1/models/small", ALIAS_ONLY).statusCode());
        for (HttpResponse<String> missing : List.of(get("/v1/models/absent", ALL), get("/v1/models/m", ALIAS_ONLY),
                get("/v1/models/rr", CANONICAL))) {
            assertEquals(404, missing.statusCode(), missing.body());
            assertEquals("model_not_found", code(missing));
            assertTrue(missing.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        }
        assertEquals(401, get("/v1/models/m", null).statusCode());
        HttpResponse<String> slashed = get("/v1/models/meta-llama%2FLlama", ALL);
        assertEquals(404, slashed.statusCode(), "an encoded slash stays in the one path segment: " + slashed.body());
    }

    @Test
    void aStreamedResponsesCallArrivesAsTheBackendsEvents() throws Exception {
        HttpResponse<String> r = post("/v1/responses", ALL,
                "{\"model\":\"small\",\"input\":\"hello\",\"stream\":true,\"max_output_tokens\":3}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals("m", r.headers().firstValue("x-api-router-model").orElse(null));
        List<String> types = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("event: ")) {
                types.add(line.substring(7));
            }
        }
        assertEquals("response.created", types.get(0));
        assertEquals(3, types.stream().filter("response.output_text.delta"::equals).count());
        assertEquals("response.completed", types.get(types.size() - 1));
        assertEquals(UPSTREAM, backendModel("/v1/responses"));
        HttpResponse<String> metered = post("/v1/responses", METERED,
                "{\"model\":\"gpt-4o-mini\",\"input\":\"hello\",\"stream\":true}");
        assertEquals(200, metered.statusCode(), metered.body());
        String sent = backendBody("/v1/responses");
        assertEquals("{\"model\":\"" + UPSTREAM + "\",\"input\":\"hello\",\"stream\":true}", sent,
                "a key with token limits: no stream_options added to a Responses body (its stream ends with its usage)");
        HttpResponse<String> chat = post("/v1/chat/completions", METERED, "{\"model\":\"reranker\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, chat.statusCode(), chat.body());
        JsonNode chatSent = JSON.readTree(backendBody("/v1/chat/completions"));
        assertEquals("rr", chatSent.path("model").asText(), "the usage rewrite sends the model's own name, not the alias");
        assertTrue(chatSent.path("stream_options").path("include_usage").asBoolean(), chatSent.toString());
    }

    @Test
    void theOpenAiSdkRetrievesModelsAndCreatesRetrievesAndDeletesResponses() throws Exception {
        JsonNode result = sdk("openai", "sdk-endpoints.mjs", gateway.uri("/v1").toString(), ALL, "gpt-4o-mini");
        String out = result.toString();
        assertEquals("gpt-4o-mini", result.path("retrieved").asText());
        assertEquals(404, result.path("missingStatus").asInt(), out);
        assertEquals("completed", result.path("status").asText());
        assertEquals(5, result.path("text").asText().split(" ").length, out);
        assertEquals(5, result.path("usage").path("output_tokens").asInt(), out);
        assertEquals(result.path("completedText").asText(), result.path("streamedText").asText(), out);
        assertEquals(5, result.path("streamedText").asText().split(" ").length, out);
        assertEquals("response.completed", result.path("events").get(result.path("events").size() - 1).asText());
        assertEquals(result.path("id").asText(), result.path("retrievedId").asText(), out);
        assertEquals(result.path("text").asText(), result.path("retrievedText").asText(), out);
        assertTrue(result.path("deleted").asBoolean(), out);
        assertEquals(404, result.path("afterDeleteStatus").asInt(), out);
    }

    @Test
    void theAnthropicSdkCreatesMessagesStreamedAndNotAndSeesABadKeyAsAnAuthenticationError() throws Exception {
        String base = gateway.uri("/").toString();
        JsonNode result = sdk("@anthropic-ai/sdk", "sdk-messages.mjs", base.substring(0, base.length() - 1), ALL,
                "gpt-4o-mini");
        String out = result.toString();
        assertEquals("message", result.path("type").asText(), out);
        assertEquals("assistant", result.path("role").asText(), out);
        assertEquals(5, result.path("text").asText().split(" ").length, out);
        assertEquals("max_tokens", result.path("stopReason").asText(), out);
        assertEquals(5, result.path("usage").path("output_tokens").asInt(), out);
        assertEquals(result.path("text").asText(), result.path("streamedText").asText(), out);
        List<String> events = new ArrayList<>();
        result.path("events").forEach(e -> events.add(e.asText()));
        assertEquals("message_start", events.get(0), out);
        assertEquals(5, events.stream().filter("content_block_delta"::equals).count(), out);
        assertEquals(List.of("content_block_stop", "message_delta", "message_stop"),
                events.subList(events.size() - 3, events.size()), out);
        assertEquals(5, result.path("streamedUsage").path("output_tokens").asInt(), out);
        assertEquals(3, result.path("finalText").asText().split(" ").length, out);
        assertEquals(result.path("usage").path("input_tokens").asInt(), result.path("counted").asInt(), out);
        assertEquals("AuthenticationError", result.path("badKey").asText(), out);
        assertEquals(401, result.path("badKeyStatus").asInt(), out);
        assertEquals("authentication_error", result.path("badKeyType").asText(), out);
    }

    @Test
    void aMessagesCallPassesTheAnthropicHeadersButNotTheKeyAndTheGatewaysErrorsHaveAnthropicsShape() throws Exception {
        HttpResponse<String> r = message(ALL, "{\"model\":\"small\",\"max_tokens\":2,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals("m", r.headers().firstValue("x-api-router-model").orElse(null));
        assertTrue(r.body().startsWith("event: message_start\n"), r.body());
        assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), r.body());
        VllmSimulator.RecordedRequest sent = lastRequest(sim, "/v1/messages");
        assertEquals(List.of("2023-06-01"), sent.headers().get("anthropic-version"));
        assertEquals(List.of("test-beta"), sent.headers().get("anthropic-beta"));
        assertEquals(null, sent.headers().get("x-api-key"), "the client's key never reaches a backend");
        assertEquals(null, sent.headers().get("authorization"));
        assertEquals(UPSTREAM, JSON.readTree(sent.bodyText()).path("model").asText());
        record Refusal(HttpResponse<String> response, int status, String type) {
        }
        for (Refusal refusal : List.of(
                new Refusal(message("sk-unknown", "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}"), 401,
                        "authentication_error"),
                new Refusal(message(ALIAS_ONLY, "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}"), 403,
                        "permission_error"),
                new Refusal(message(ALL, "{\"model\":\"absent\",\"max_tokens\":1,\"messages\":[]}"), 404,
                        "not_found_error"),
                new Refusal(message(ALL, "{\"max_tokens\":1}"), 400, "invalid_request_error"),
                new Refusal(message(ALL, "not json"), 400, "invalid_request_error"))) {
            HttpResponse<String> response = refusal.response();
            assertEquals(refusal.status(), response.statusCode(), response.body());
            JsonNode body = JSON.readTree(response.body());
            assertEquals("error", body.path("type").asText(), response.body());
            assertEquals(refusal.type(), body.path("error").path("type").asText(), response.body());
            assertTrue(body.path("error").path("message").asText().length() > 0, response.body());
            assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        }
        HttpResponse<String> backendError = message(ALL, "{\"model\":\"m\",\"messages\":[]}");
        assertEquals(400, backendError.statusCode(), "the backend's own answer is passed on: " + backendError.body());
        HttpResponse<String> counted = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/messages/count_tokens"))
                .header("x-api-key", ALL).POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"small\","
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, counted.statusCode(), counted.body());
        assertTrue(JSON.readTree(counted.body()).path("input_tokens").asInt() > 0, counted.body());
    }

    @Test
    void aStoredResponseIsReachedThroughItsIdOnTheBackendThatHoldsItWithTheKeysModels() throws Exception {
        // model two: two backends in random order; without pinning about half of these lookups would miss
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            HttpResponse<String> created = post("/v1/responses", ALL,
                    "{\"model\":\"two\",\"input\":\"hello " + i + "\",\"stream\":" + (i % 2 == 0) + "}");
            assertEquals(200, created.statusCode(), created.body());
            String body = created.body();
            int at = body.indexOf("\"id\":\"resp_") + 6;
            ids.add(body.substring(at, body.indexOf('"', at)));
        }
        assertTrue(sim.requests().stream().anyMatch(q -> q.path().equals("/v1/responses"))
                && sim2.requests().stream().anyMatch(q -> q.path().equals("/v1/responses")), "both backends created some");
        for (String id : ids) {
            HttpResponse<String> got = get("/v1/responses/" + id, ALL);
            assertEquals(200, got.statusCode(), id + ": " + got.body());
            assertEquals(id, JSON.readTree(got.body()).path("id").asText(), "the id the client knows, pinned again");
        }
        String id = ids.get(0);
        HttpResponse<String> cancel = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/responses/" + id + "/cancel"))
                .header("Authorization", "Bearer " + ALL).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, cancel.statusCode(), "vLLM's answer for a finished response: " + cancel.body());
        assertEquals(404, get("/v1/responses/" + id, CANONICAL).statusCode(), "the key may not use model two");
        assertEquals(401, get("/v1/responses/" + id, null).statusCode());
        HttpResponse<String> deleted = send("DELETE", "/v1/responses/" + id, ALL);
        assertEquals(200, deleted.statusCode(), deleted.body());
        assertEquals(id, JSON.readTree(deleted.body()).path("id").asText());
        HttpResponse<String> gone = get("/v1/responses/" + id, ALL);
        assertEquals(404, gone.statusCode(), gone.body());
        for (String unknown : List.of("resp_notours", "resp_1.bQ.00000000", "..%2F..%2Fv1%2Fmodels.bQ.00000000")) {
            HttpResponse<String> missing = get("/v1/responses/" + unknown, ALL);
            assertEquals(404, missing.statusCode(), unknown + ": " + missing.body());
            assertEquals("not_found", code(missing), missing.body());
        }
        HttpResponse<String> followUp = post("/v1/responses", ALL, "{\"model\":\"two\",\"previous_response_id\":\""
                + ids.get(1) + "\",\"input\":\"and then?\"}");
        assertEquals(200, followUp.statusCode(), followUp.body());
    }

    /** The last request {@code backend} got on {@code path}. */
    static VllmSimulator.RecordedRequest lastRequest(VllmSimulator backend, String path) {
        List<VllmSimulator.RecordedRequest> requests = backend.requests();
        for (int i = requests.size() - 1; i >= 0; i--) {
            if (requests.get(i).path().equals(path)) {
                return requests.get(i);
            }
        }
        throw new AssertionError("the backend got no request on " + path);
    }
}
