package dev.apirouter.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end, fleet-aware routing with the jar and simulated vLLM backends: 429/503 answers retried on the next
 * backend, a model whose backends are all down or busy falling back to another one, outlier ejection and half-open
 * re-admission, each backend's scraped load in the status, and two gateway processes that send the same session to
 * the same backend without talking to each other.
 */
@Timeout(120)
class FleetRoutingIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY = "sk-fleet-it-all-models";
    static final String BIG_ONLY_KEY = "sk-fleet-it-big-only";
    static final String ADMIN = "fleet-it-admin-token";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static final Map<String, VllmSimulator> sims = new HashMap<>();
    static final List<VllmSimulator> fleet = new ArrayList<>();
    static int deadPort;
    static GatewayProcess gateway;
    static GatewayProcess second;

    static VllmSimulator sim(String name) throws Exception {
        VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(UPSTREAM, "small-upstream")
                .tokenDelayMs(1).maxTokens(2));
        sims.put(name, sim);
        return sim;
    }

    static String backends(VllmSimulator... list) {
        StringBuilder b = new StringBuilder("[");
        for (VllmSimulator s : list) {
            b.append(b.length() > 1 ? ", " : "").append("{url: ").append(s.baseUrl()).append("}");
        }
        return b.append("]").toString();
    }

    @BeforeAll
    static void start() throws Exception {
        sim("a");
        sim("busy503").setSimHeader("x-sim-status", "503");
        sim("busy429").setSimHeader("x-sim-status", "429");
        sim("small");
        sim("flaky");
        sim("steady");
        for (int i = 0; i < 4; i++) {
            fleet.add(sim("fleet" + i));
        }
        deadPort = GatewayProcess.freePort();
        String m = "{upstreamModel: " + UPSTREAM + ", ";
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  retrying: " + m + "routing: {strategy: weighted, retries: {attempts: 3, backoffMs: 5}}, backends: "
                + backends(sims.get("busy503"), sims.get("busy429"), sims.get("a")) + "}\n"
                + "  busy-alone: " + m + "backends: " + backends(sims.get("busy429")) + "}\n"
                + "  big: " + m + "backends: [{url: 'http://127.0.0.1:" + deadPort + "'}], fallbacks: [missing, small]}\n"
                + "  overloaded: " + m + "backends: " + backends(sims.get("busy503")) + ", fallbacks: [small]}\n"
                + "  small: {upstreamModel: small-upstream, backends: " + backends(sims.get("small")) + "}\n"
                + "  ejecting: " + m + "routing: {strategy: least-load}, backends: "
                + backends(sims.get("flaky"), sims.get("steady")) + "}\n"
                + "  fleet: " + m + "backends: " + backends(fleet.toArray(VllmSimulator[]::new)) + "}\n"
                + "keys:\n"
                + "  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: all, models: [\"*\"]}\n"
                + "  \"" + ApiKeys.sha256Hex(BIG_ONLY_KEY) + "\": {name: big-only, models: [big]}\n");
        Map<String, String> env = GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ADMIN_TOKEN", ADMIN,
                "ROUTER_BACKEND_METRICS_INTERVAL_MS", "200",
                "ROUTER_OUTLIER_EJECT_AFTER", "2",
                "ROUTER_OUTLIER_BASE_EJECTION_MS", "1500");
        gateway = GatewayProcess.start(env);
        second = GatewayProcess.start(env);
        gateway.awaitReady(Duration.ofSeconds(30));
        second.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        for (GatewayProcess g : new GatewayProcess[] {gateway, second}) {
            if (g != null) {
                g.close();
            }
        }
        for (VllmSimulator s : sims.values()) {
            s.close();
        }
    }

    static HttpResponse<String> chat(GatewayProcess g, String key, String model, Map<String, String> headers,
                                     String messages) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(g.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":" + messages + "}"));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> chat(String model) throws Exception {
        return chat(gateway, KEY, model, Map.of(), "[{\"role\":\"user\",\"content\":\"hi\"}]");
    }

    static long chatRequests(VllmSimulator sim) {
        return sim.requests().stream().filter(r -> r.path().equals("/v1/chat/completions")).count();
    }

    static String management(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.managementUri(path)).header("Authorization", "Bearer " + ADMIN)
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    static JsonNode backendStatus(String model, VllmSimulator sim) throws Exception {
        for (JsonNode b : JSON.readTree(management("/v1/status/policy")).path("models").path(model).path("backends")) {
            if (b.path("url").asText().equals(sim.baseUrl())) {
                return b;
            }
        }
        throw new AssertionError("no backend " + sim.baseUrl() + " in model " + model);
    }

    @Test
    void backendsAnswering429Or503AreRetriedOnTheNextOne() throws Exception {
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> r = chat("retrying");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("retrying", r.headers().firstValue("x-api-router-model").orElse(null));
        }
        assertTrue(chatRequests(sims.get("busy503")) + chatRequests(sims.get("busy429")) > 0, "the busy ones were tried");
        assertTrue(management("/metrics").lines().anyMatch(l -> l.startsWith("api_router_routing_decisions_total{")
                && l.contains("model=\"retrying\"") && l.contains("reason=\"retry\"")));
    }

    @Test
    void aBusyAnswerWithNoOtherBackendIsPassedOnAsItIs() throws Exception {
        HttpResponse<String> r = chat("busy-alone");
        assertEquals(429, r.statusCode(), r.body());
    }

    @Test
    void aModelWhoseBackendsAreAllDownFallsBackToAnotherModel() throws Exception {
        long before = chatRequests(sims.get("small"));
        HttpResponse<String> r = chat("big");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("small", r.headers().firstValue("x-api-router-model").orElse(null));
        assertEquals(before + 1, chatRequests(sims.get("small")));
        VllmSimulator.RecordedRequest sent = sims.get("small").requests().get(sims.get("small").requests().size() - 1);
        assertTrue(sent.bodyText().contains("\"model\":\"small-upstream\""), "the fallback's own upstream model");

        HttpResponse<String> busy = chat("overloaded");
        assertEquals(200, busy.statusCode(), "every backend busy (503) counts as unavailable too: " + busy.body());
        assertEquals("small", busy.headers().firstValue("x-api-router-model").orElse(null));

        HttpResponse<String> refused = chat(gateway, BIG_ONLY_KEY, "big", Map.of(),
                "[{\"role\":\"user\",\"content\":\"hi\"}]");
        assertEquals(502, refused.statusCode(), "a key not allowed the fallback does not get it");
        assertEquals("upstream_unavailable", JSON.readTree(refused.body()).path("error").path("code").asText());
        assertEquals(before + 2, chatRequests(sims.get("small")));
    }

    @Test
    void aFailingBackendIsEjectedThenReadmittedOnceItServesAgain() throws Exception {
        VllmSimulator flaky = sims.get("flaky");
        flaky.setSimHeader("x-sim-status", "500");
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            chat("ejecting");
            return backendStatus("ejecting", flaky).path("load").path("state").asText().equals("ejected");
        });
        long sent = chatRequests(flaky);
        for (int i = 0; i < 10; i++) {
            assertEquals(200, chat("ejecting").statusCode(), "the steady backend serves while the other is out");
        }
        assertEquals(sent, chatRequests(flaky), "an ejected backend gets nothing");
        assertTrue(management("/v1/status/readyz").contains("\"ejected\":[\"" + flaky.baseUrl() + "\"]"));
        flaky.clearSimHeaders();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            chat("ejecting");
            return backendStatus("ejecting", flaky).path("load").path("state").asText().equals("serving");
        });
        assertTrue(chatRequests(flaky) > sent, "the half-open trial reached it");
        assertTrue(management("/metrics").lines().anyMatch(l -> l.startsWith("api_router_backend_ejections_total{")
                && l.contains(flaky.baseUrl()) && !l.endsWith(" 0.0")));
    }

    @Test
    void eachBackendsScrapedLoadIsShown() throws Exception {
        VllmSimulator sim = fleet.get(0);
        await().atMost(Duration.ofSeconds(10)).until(() -> backendStatus("fleet", sim).path("load").has("running"));
        JsonNode load = backendStatus("fleet", sim).path("load");
        assertEquals("serving", load.path("state").asText());
        assertTrue(load.path("scrapedAgoMs").asLong() < 5000, load.toString());
        assertTrue(management("/metrics").contains("api_router_backend_requests_waiting{backend=\"" + sim.baseUrl() + "\"}"));
    }

    @Test
    void twoGatewaysSendTheSameSessionToTheSameBackend() throws Exception {
        int sessions = 60;
        for (int i = 0; i < sessions; i++) {
            for (GatewayProcess g : new GatewayProcess[] {gateway, second}) {
                HttpResponse<String> r = chat(g, KEY, "fleet", Map.of("x-session-id", "session-" + i,
                        "x-test-gateway", g == gateway ? "first" : "second"), "[{\"role\":\"user\",\"content\":\"hi\"}]");
                assertEquals(200, r.statusCode(), r.body());
            }
        }
        Map<String, String> first = new HashMap<>();
        Map<String, String> other = new HashMap<>();
        for (VllmSimulator sim : fleet) {
            for (VllmSimulator.RecordedRequest r : sim.requests()) {
                String session = r.header("x-session-id");
                if (session != null) {
                    ("first".equals(r.header("x-test-gateway")) ? first : other).put(session, sim.baseUrl());
                }
            }
        }
        int same = 0;
        for (int i = 0; i < sessions; i++) {
            if (first.get("session-" + i) != null && first.get("session-" + i).equals(other.get("session-" + i))) {
                same++;
            }
        }
        assertTrue(same >= sessions * 0.95, same + " of " + sessions + " sessions on the same backend");
        assertTrue(first.values().stream().distinct().count() >= 3, "sessions spread over the fleet: " + first.values());
    }

    @Test
    void everyTurnOfAConversationWithoutSessionIdStaysOnOneBackend() throws Exception {
        for (int c = 0; c < 8; c++) {
            String system = "{\"role\":\"system\",\"content\":\"You are assistant number " + c + ".\"}";
            String user = "{\"role\":\"user\",\"content\":\"Question " + c + "\"}";
            String history = system + "," + user;
            List<String> backends = new ArrayList<>();
            for (int turn = 0; turn < 3; turn++) {
                Map<String, Long> before = new HashMap<>();
                fleet.forEach(s -> before.put(s.baseUrl(), chatRequests(s)));
                assertEquals(200, chat(gateway, KEY, "fleet", Map.of(), "[" + history + "]").statusCode());
                fleet.stream().filter(s -> chatRequests(s) > before.get(s.baseUrl())).forEach(s -> backends.add(s.baseUrl()));
                history += ",{\"role\":\"assistant\",\"content\":\"answer " + turn + "\"},{\"role\":\"user\",\"content\":\"more " + turn + "\"}";
            }
            assertEquals(3, backends.size());
            assertEquals(1, backends.stream().distinct().count(), "conversation " + c + ": " + backends);
        }
    }
}
