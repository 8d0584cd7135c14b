package dev.apirouter.e2e;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The management port: metrics, the full readiness and the admin endpoints live there and only there; the public
 * port's readiness names no backend; the admin endpoints are closed until an admin token is set.
 */
@Timeout(120)
class ManagementPortIT {
    static final String ADMIN = "admin-token-management-it";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;

    static HttpResponse<String> get(URI uri, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertError(HttpResponse<String> r, int status, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""), r.body());
        assertEquals(code, JSON.readTree(r.body()).get("error").get("code").asText(), r.body());
    }

    private GatewayProcess gateway(VllmSimulator sim, String adminToken) throws Exception {
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n  m:\n    backends:\n      - url: http://127.0.0.1:" + sim.port() + "\n");
        return GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_BACKEND_PROBE_INTERVAL_MS", "200", "ROUTER_BACKEND_UNHEALTHY_AFTER", "1",
                "ROUTER_ADMIN_TOKEN", adminToken));
    }

    @Test
    void metricsFullReadinessAndPolicyAreOnTheManagementPortOnly() throws Exception {
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0));
             GatewayProcess gateway = gateway(sim, ADMIN)) {
            gateway.awaitReady(Duration.ofSeconds(60));
            assertNotNull(gateway.awaitLine(l -> l.contains("Management server listening on 127.0.0.1:"
                    + gateway.managementPort()), Duration.ofSeconds(5)), gateway.output());

            HttpResponse<String> metrics = get(gateway.managementUri("/metrics"), null);
            assertEquals(200, metrics.statusCode(), "metrics need no token: the port is the boundary");
            assertTrue(metrics.body().contains("api_router_requests_in_flight "), metrics.body());
            assertEquals(200, get(gateway.managementUri("/v1/status/healthz"), null).statusCode());
            assertError(get(gateway.managementUri("/v1/nothing-here"), null), 404, "not_found");

            // nothing of it on the public port, whatever the token
            assertError(get(gateway.uri("/metrics"), null), 404, "not_found");
            assertError(get(gateway.uri("/v1/status/policy"), "Bearer " + ADMIN), 404, "not_found");

            // the admin token: 401 without it or with a wrong one, 200 with it
            URI policy = gateway.managementUri("/v1/status/policy");
            assertError(get(policy, null), 401, "unauthorized");
            HttpResponse<String> wrong = get(policy, "Bearer " + ADMIN + "x");
            assertError(wrong, 401, "unauthorized");
            HttpResponse<String> right = get(policy, "Bearer " + ADMIN);
            assertEquals(200, right.statusCode(), right.body());
            assertEquals(1, JSON.readTree(right.body()).get("models").get("m").get("backends").size());

            // the backend fails its probes: the full readyz names it, the public one only counts it
            String backend = "127.0.0.1:" + sim.port();
            sim.setHealthStatus(503);
            String full = await().atMost(Duration.ofSeconds(15)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> get(gateway.managementUri("/v1/status/readyz"), null).body(),
                            b -> b.contains("\"unhealthy\":[\"http://" + backend + "\"]"));
            assertTrue(full.contains("\"load\":{\"http://" + backend + "\""), "the full readyz shows its load: " + full);
            HttpResponse<String> summary = get(gateway.uri("/v1/status/readyz"), null);
            assertEquals(200, summary.statusCode(), "backends never make the gateway unready: " + summary.body());
            assertFalse(summary.body().contains(backend), "public readyz names a backend: " + summary.body());
            assertFalse(summary.body().contains("http://"), "public readyz carries a URL: " + summary.body());
            assertFalse(summary.body().contains(dir.toString()), "public readyz carries a path: " + summary.body());
            JsonNode backends = null;
            for (JsonNode check : JSON.readTree(summary.body()).get("checks")) {
                if (check.get("name").asText().equals("backends")) {
                    backends = check.get("data").get("m");
                }
            }
            assertNotNull(backends, summary.body());
            assertEquals(0, backends.get("healthy").asInt(), summary.body());
            assertEquals(1, backends.get("total").asInt(), summary.body());
            assertEquals("[0]", backends.get("unhealthy").toString(), "by index in the policy: " + summary.body());
            assertFalse(gateway.output().contains(ADMIN), "the admin token is never logged");
        }
    }

    @Test
    void withoutAnAdminTokenTheAdminEndpointsAreClosed() throws Exception {
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0));
             GatewayProcess gateway = gateway(sim, null)) {
            gateway.awaitReady(Duration.ofSeconds(60));
            URI policy = gateway.managementUri("/v1/status/policy");
            for (String authorization : new String[] {null, "Bearer guess"}) {
                HttpResponse<String> r = get(policy, authorization);
                assertError(r, 403, "admin_disabled");
                assertTrue(r.body().contains("ROUTER_ADMIN_TOKEN"), "says how to open them: " + r.body());
            }
            assertEquals(200, get(gateway.managementUri("/metrics"), null).statusCode());
            assertTrue(gateway.output().contains("ROUTER_ADMIN_TOKEN is not set"), gateway.output());
        }
    }

    @Test
    void aManagementPortInUseStopsTheGatewayWithExitCode1() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             GatewayProcess gateway = GatewayProcess.start(GatewayProcess.env(
                     "ROUTER_MANAGEMENT_PORT", Integer.toString(taken.getLocalPort())))) {
            assertTrue(gateway.waitFor(Duration.ofSeconds(60)), "still running: " + gateway.output());
            assertEquals(1, gateway.exitValue(), gateway.output());
            assertTrue(gateway.output().contains("Management server could not listen on 127.0.0.1:"
                    + taken.getLocalPort()), gateway.output());
        }
    }
}
