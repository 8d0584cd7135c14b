package dev.apirouter.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.policy.NoPolicyStore;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bundled demo policy (a demo key allowed every model) is served only with {@code ROUTER_DEMO=1}. Without a
 * store and without it, the gateway runs (liveness 200) but serves nothing: {@code 503 no_policy}, readyz 503
 * naming the reason, and one log line saying what to set.
 */
@Timeout(value = 180)
class DemoPolicyIT {
    static final String DEMO_KEY = "sk-apirouter-demo";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void withoutAStoreNorRouterDemoNothingIsServedAndTheLogAndReadyzSayWhy() throws Exception {
        try (GatewayProcess gw = GatewayProcess.start(noStore(null))) {
            assertTrue(gw.awaitStatus("/v1/status/healthz", 200, Duration.ofSeconds(30)) > 0,
                    "liveness 200; output:\n" + gw.output());
            HttpResponse<String> readyz = readyzOnceRoutesRun(gw);
            assertEquals(503, readyz.statusCode(), readyz.body());
            JsonNode store = check(readyz.body(), "policy-store");
            assertEquals("DOWN", store.path("status").asText(), readyz.body());
            assertEquals("none", store.path("data").path("store").asText(), readyz.body());
            assertEquals(NoPolicyStore.REASON, store.path("data").path("reason").asText(), readyz.body());

            HttpResponse<String> chat = chat(gw, DEMO_KEY);
            assertEquals(503, chat.statusCode(), chat.body());
            assertEquals("application/json", chat.headers().firstValue("Content-Type").orElse("").split(";")[0]);
            JsonNode error = PolicyDocuments.JSON.readTree(chat.body()).path("error");
            assertEquals("no_policy", error.path("code").asText(), chat.body());
            assertTrue(error.path("message").isTextual() && error.path("type").isTextual(), chat.body());
            assertTrue(error.has("param") && error.path("param").isNull(), chat.body());
            assertEquals(503, get(gw, "/v1/models", DEMO_KEY).statusCode(), "the demo key is not live");

            String output = gw.output();
            long said = output.lines().filter(l -> l.contains(NoPolicyStore.REASON)).count();
            assertEquals(1, said, "the reason in one log line, once:\n" + output);
            assertTrue(output.lines().anyMatch(l -> l.contains("WARN") && l.contains("No policy store configured")),
                    output);
        }
    }

    @Test
    void withRouterDemoTheDemoKeyWorks() throws Exception {
        try (GatewayProcess gw = GatewayProcess.start(noStore("1"))) {
            gw.awaitReady(Duration.ofSeconds(60));
            HttpResponse<String> models = get(gw, "/v1/models", DEMO_KEY);
            assertEquals(200, models.statusCode(), models.body());
            JsonNode data = PolicyDocuments.JSON.readTree(models.body()).path("data");
            assertTrue(data.toString().contains("\"llama-3.1-8b\""), models.body());
            assertEquals(401, get(gw, "/v1/models", "sk-not-the-demo-key").statusCode());
            assertFalse(gw.output().contains("No policy store configured"), gw.output());
            assertTrue(gw.output().contains("bundled demo policy"), gw.output());
        }
    }

    /** No policy file, no etcd, and {@code ROUTER_DEMO} as given (null: unset). */
    private static Map<String, String> noStore(String demo) {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("ETCD_ENDPOINTS", null);
        env.put("ROUTER_POLICY_FILE", null);
        env.put("ROUTER_DEMO", demo);
        return env;
    }

    /** readyz once the routes run (until then it is down for that reason alone). */
    private static HttpResponse<String> readyzOnceRoutesRun(GatewayProcess gw) throws Exception {
        String routesUp = "\"name\":\"routes-reload\",\"status\":\"UP\"";
        try {
            return await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50))
                    .until(() -> get(gw, "/v1/status/readyz", null), r -> r.body().contains(routesUp));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return get(gw, "/v1/status/readyz", null); // the caller's assertions say what is wrong
        }
    }

    private static JsonNode check(String readyz, String name) throws Exception {
        for (JsonNode check : PolicyDocuments.JSON.readTree(readyz).path("checks")) {
            if (name.equals(check.path("name").asText())) {
                return check;
            }
        }
        throw new AssertionError("no check " + name + " in " + readyz);
    }

    private static HttpResponse<String> chat(GatewayProcess gw, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gw.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"llama-3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(GatewayProcess gw, String path, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(gw.uri(path)).timeout(Duration.ofSeconds(5));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
