package dev.apirouter.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What operators see: readiness, backend health, metrics, the policy status endpoint (the last two, and the full
 * readiness, on the management port).
 */
@Timeout(90)
class OperatorsIT {
    static final String KEY = "sk-operators-it";
    static final String ADMIN = "admin-token-it";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;

    static String policy(int portA, int portB) {
        return "models:\n  m:\n    upstreamModel: " + VllmSimulator.DEFAULT_MODEL + "\n    backends:\n"
                + "      - url: http://127.0.0.1:" + portA + "\n      - url: http://127.0.0.1:" + portB + "\n"
                + "keys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: ops, models: [\"*\"]}\n";
    }

    static HttpResponse<String> get(GatewayProcess gateway, String path, String auth) throws Exception {
        return get(gateway.uri(path), auth);
    }

    static HttpResponse<String> get(URI uri, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> chat(GatewayProcess gateway, boolean stream) throws Exception {
        return send(gateway, "{\"model\":\"m\",\"messages\":[],\"max_tokens\":2" + (stream ? ",\"stream\":true" : "") + "}");
    }

    static HttpResponse<String> send(GatewayProcess gateway, String chatBody) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chatBody)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void await(String what, java.util.concurrent.Callable<Boolean> condition, Duration timeout) throws Exception {
        try {
            org.awaitility.Awaitility.await(what).atMost(timeout).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(100)).until(condition);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("timed out waiting for " + what, e);
        }
    }

    static double metric(String scrape, Predicate<String> line) {
        return scrape.lines().filter(l -> !l.startsWith("#")).filter(line)
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void readinessHealthMetricsAndStatusTellTheTruth() throws Exception {
        Path policyFile = dir.resolve("policy.yaml");
        try (VllmSimulator a = VllmSimulator.start(new VllmSimulator.Options().port(0).tokenDelayMs(2));
             VllmSimulator b = VllmSimulator.start(new VllmSimulator.Options().port(0).tokenDelayMs(2));
             GatewayProcess gateway = GatewayProcess.start(GatewayProcess.env(
                     "ROUTER_POLICY_FILE", policyFile.toString(), "ROUTER_POLICY_POLL_MS", "100",
                     "ROUTER_BACKEND_PROBE_INTERVAL_MS", "200", "ROUTER_BACKEND_UNHEALTHY_AFTER", "2",
                     "ROUTER_BACKEND_HEALTHY_AFTER", "2", "ROUTER_ADMIN_TOKEN", ADMIN))) {
            URI metrics = gateway.managementUri("/metrics");
            URI policyStatus = gateway.managementUri("/v1/status/policy");
            // no policy yet: alive but not ready, and says why
            assertTrue(gateway.awaitStatus("/v1/status/healthz", 200, Duration.ofSeconds(20)) > 0);
            // the routes loaded (slow on a loaded machine), so that what follows waits on the policy alone
            await("routes", () -> get(gateway, "/v1/status/readyz", null).body()
                    .contains("\"name\":\"routes-reload\",\"status\":\"UP\""), Duration.ofSeconds(60));
            HttpResponse<String> notReady = get(gateway, "/v1/status/readyz", null);
            assertEquals(503, notReady.statusCode());
            assertTrue(notReady.body().contains("no policy loaded yet"), notReady.body());
            HttpResponse<String> notReadyInFull = get(gateway.managementUri("/v1/status/readyz"), null);
            assertEquals(503, notReadyInFull.statusCode());
            assertTrue(notReadyInFull.body().contains("does not exist"), "the full readyz says why: "
                    + notReadyInFull.body());

            Files.writeString(policyFile, policy(a.port(), b.port()));
            gateway.awaitReady(Duration.ofSeconds(10));
            JsonNode ready = JSON.readTree(get(gateway, "/v1/status/readyz", null).body());
            assertEquals("UP", ready.get("status").asText());
            assertEquals("policy-store", ready.get("checks").get(0).get("name").asText());

            // admin token enforced; key count, never hashes
            assertEquals(401, get(policyStatus, null).statusCode());
            assertEquals(401, get(policyStatus, "Bearer nope").statusCode());
            HttpResponse<String> status = get(policyStatus, "Bearer " + ADMIN);
            assertEquals(200, status.statusCode());
            JsonNode policy = JSON.readTree(status.body());
            assertEquals(1, policy.get("keys").asInt());
            assertFalse(status.body().contains(ApiKeys.sha256Hex(KEY)));
            assertEquals(2, policy.get("models").get("m").get("backends").size());

            // a backend goes down: marked unhealthy, routing avoids it, the gateway stays ready
            int portA = a.port();
            a.close();
            await("backend A unhealthy", () -> get(policyStatus, "Bearer " + ADMIN).body()
                    .contains("\"url\":\"http://127.0.0.1:" + portA + "\",\"weight\":1,\"healthy\":false"), Duration.ofSeconds(10));
            long before = b.requestCount();
            for (int i = 0; i < 10; i++) {
                assertEquals(200, chat(gateway, false).statusCode());
            }
            assertTrue(b.requestCount() - before >= 10, "all traffic went to the healthy backend");
            assertEquals(200, get(gateway, "/v1/status/readyz", null).statusCode(), "backends never make it unready");
            assertTrue(get(metrics, null).body()
                    .contains("api_router_backend_up{backend=\"http://127.0.0.1:" + portA + "\"} 0"));

            // it comes back on the same port: healthy again
            try (VllmSimulator again = VllmSimulator.start(new VllmSimulator.Options().port(portA))) {
                await("backend A healthy", () -> get(policyStatus, "Bearer " + ADMIN).body()
                        .contains("\"url\":\"http://127.0.0.1:" + portA + "\",\"weight\":1,\"healthy\":true"), Duration.ofSeconds(10));
            }

            // metrics move as requests flow; a streamed request updates the TTFT histogram
            String before2 = get(metrics, null).body();
            assertEquals(200, chat(gateway, true).statusCode());
            get(gateway, "/v1/models", "Bearer sk-wrong");
            String after = get(metrics, null).body();
            Predicate<String> ttft = l -> l.startsWith("api_router_time_to_first_token_seconds_count{") && l.contains("streamed=\"true\"");
            assertEquals(metric(before2, ttft) + 1, metric(after, ttft));
            Predicate<String> ok = l -> l.startsWith("api_router_requests_total{") && l.contains("model=\"m\"") && l.contains("status=\"200\"");
            assertTrue(metric(after, ok) >= 11);
            assertTrue(metric(after, l -> l.startsWith("api_router_auth_failures_total{reason=\"unknown_key\"")) >= 1);
            assertTrue(after.contains("api_router_policy_revision "));
            assertTrue(after.contains("api_router_requests_in_flight "));
            assertTrue(after.contains("api_router_open_streams "));
            assertFalse(after.contains(KEY));

            // token usage by model, as the backend reports it: in JSON answers, and in streams asked to include it
            Predicate<String> output = l -> l.startsWith("api_router_tokens_total{model=\"m\",type=\"output\"}");
            Predicate<String> input = l -> l.startsWith("api_router_tokens_total{model=\"m\",type=\"input\"}");
            double out0 = metric(after, output);
            double in0 = metric(after, input);
            assertEquals(200, chat(gateway, false).statusCode());
            String afterJson = get(metrics, null).body();
            assertEquals(out0 + 2, metric(afterJson, output), "max_tokens 2: two completion tokens");
            assertTrue(metric(afterJson, input) > in0, "prompt tokens counted");
            assertEquals(200, chat(gateway, true).statusCode());
            assertEquals(out0 + 2, metric(get(metrics, null).body(), output), "a stream without usage adds none");
            HttpResponse<String> withUsage = send(gateway, "{\"model\":\"m\",\"messages\":[],\"max_tokens\":3,"
                    + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
            assertEquals(200, withUsage.statusCode());
            assertTrue(withUsage.body().contains("\"completion_tokens\":3"), withUsage.body());
            assertEquals(out0 + 5, metric(get(metrics, null).body(), output), "the stream's usage chunk counted");
        }
    }
}
