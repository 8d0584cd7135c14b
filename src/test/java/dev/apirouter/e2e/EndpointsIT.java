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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * vLLM's other endpoints through the gateway (the jar) to the simulator: the Responses API (streamed and not),
 * score, rerank (three paths), tokenize, detokenize, pooling, classify; model aliases; {@code GET /v1/models/{id}};
 * and the official openai SDK's {@code responses.create} and {@code models.retrieve}.
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
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM, "rr").tokenDelayMs(1)
                .maxTokens(4));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  m: {upstreamModel: " + UPSTREAM + ", aliases: [gpt-4o-mini, small], backends: [{url: " + sim.baseUrl() + "}]}\n"
                + "  rr: {aliases: [reranker], backends: [{url: " + sim.baseUrl() + "}]}\n"
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
        if (gateway != null) {
            gateway.close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    static HttpResponse<String> post(String path, String key, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(20));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The model the simulator got in the body of the last request on {@code path}. */
    static String backendModel(String path) throws Exception {
        return JSON.readTree(backendBody(path)).path("model").asText();
    }

    /** The body of the last request the simulator got on {@code path} (not the fleet's scrapes and probes). */
    static String backendBody(String path) {
        List<VllmSimulator.RecordedRequest> requests = sim.requests();
        for (int i = requests.size() - 1; i >= 0; i--) {
            if (requests.get(i).path().equals(path)) {
                return requests.get(i).bodyText();
            }
        }
        throw new AssertionError("the backend got no request on " + path);
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
    void theOpenAiSdkRetrievesModelsAndCreatesResponses() throws Exception {
        Path clients = Path.of("src/test/clients");
        RequiredTools.assume(Files.isDirectory(clients.resolve("node_modules/openai")) && LimitsIT.onPath("node"),
                "node and the openai SDK (npm ci in src/test/clients) are needed");
        Process node = new ProcessBuilder("node", "sdk-endpoints.mjs", gateway.uri("/v1").toString(), ALL, "gpt-4o-mini")
                .directory(clients.toFile()).redirectErrorStream(true).start();
        assertTrue(node.waitFor(60, TimeUnit.SECONDS), "the SDK calls end");
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        JsonNode result = JSON.readTree(out.substring(out.lastIndexOf("\n{") + 1));
        assertTrue(result.path("ok").asBoolean(), out);
        assertEquals("gpt-4o-mini", result.path("retrieved").asText());
        assertEquals(404, result.path("missingStatus").asInt(), out);
        assertEquals("completed", result.path("status").asText());
        assertEquals(5, result.path("text").asText().split(" ").length, out);
        assertEquals(5, result.path("usage").path("output_tokens").asInt(), out);
        assertEquals(result.path("completedText").asText(), result.path("streamedText").asText(), out);
        assertEquals(5, result.path("streamedText").asText().split(" ").length, out);
        assertEquals("response.completed", result.path("events").get(result.path("events").size() - 1).asText());
    }
}
