package dev.apirouter.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replica registry end to end: a gateway process with the etcd store registers itself, {@code /v1/status/fleet}
 * lists it with lag 0 after a {@code policy put}, SIGTERM removes its key at once, SIGKILL within the lease's TTL.
 */
class ReplicaRegistryIT {
    static final String ADMIN = "admin-token-for-the-registry-it";
    static final String P = "/api-router/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path tmp;

    @Test
    void registersListsItselfAndLeavesOnSigtermAndOnSigkill() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start()) {
            Map<String, String> env = GatewayProcess.env("ETCD_ENDPOINTS", etcd.endpoint(),
                    "ROUTER_ADMIN_TOKEN", ADMIN, "ROUTER_REPLICA_TTL_MS", "2000", "POD_NAME", "gw-a",
                    "ROUTER_DATA_DIR", tmp.resolve("a").toString());
            try (GatewayProcess gw = GatewayProcess.start(env)) {
                gw.awaitStatus("/v1/status/healthz", 200, Duration.ofSeconds(30));
                await(() -> etcd.get(P + "replicas/gw-a") != null && !etcd.get(P + "replicas/gw-a").isEmpty(),
                        "registered", gw);
                JsonNode value = JSON.readTree(etcd.get(P + "replicas/gw-a"));
                assertEquals("gw-a", value.get("id").asText());
                assertEquals("127.0.0.1:" + gw.managementPort(), value.get("managementAddress").asText());
                assertEquals("serving", value.get("state").asText());

                // a policy change: applied, registered, and the fleet view shows no lag
                Path policy = tmp.resolve("m.json");
                Files.writeString(policy, "{\"backends\":[{\"url\":\"http://127.0.0.1:9\"}]}");
                String out = cli(etcd, "policy", "put", "--model", "m", "--file", policy.toString());
                Matcher m = Pattern.compile("at revision (\\d+)").matcher(out);
                assertTrue(m.find(), out);
                long revision = Long.parseLong(m.group(1));
                await(() -> fleet(gw).path("replicas").path(0).path("appliedRevision").asLong() >= revision,
                        "the fleet shows the change applied", gw);
                JsonNode fleet = fleet(gw);
                JsonNode self = fleet.get("replicas").get(0);
                assertEquals(1, fleet.get("replicas").size(), fleet.toString());
                assertEquals("gw-a", self.get("id").asText());
                assertEquals(0, self.get("lag").asLong(), fleet.toString());
                assertTrue(self.get("self").asBoolean());
                assertEquals(revision, fleet.get("policyRevision").asLong(), fleet.toString());
                assertTrue(fleet.get("storeRevision").asLong() >= revision, fleet.toString());
                JsonNode readyz = JSON.readTree(get(gw.managementUri("/v1/status/readyz"), null).body());
                assertTrue(readyz.toString().contains("\"replica\""), readyz.toString());

                // without the admin token: refused
                assertEquals(401, get(gw.managementUri("/v1/status/fleet"), null).statusCode());

                // SIGTERM: the key is gone by the time the process has exited
                Duration took = gw.terminate(Duration.ofSeconds(20));
                assertTrue(took != null, "exited");
                String left = etcd.get(P + "replicas/gw-a");
                assertTrue(left == null || left.isEmpty(), "removed on SIGTERM, found " + left);
                System.out.printf("SIGTERM: exited in %d ms with its registry key removed%n", took.toMillis());
            }

            // SIGKILL: the key disappears when the lease expires (TTL 2 s)
            env.put("POD_NAME", "gw-b");
            env.put("ROUTER_DATA_DIR", tmp.resolve("b").toString());
            try (GatewayProcess gw = GatewayProcess.start(env)) {
                await(() -> etcd.get(P + "replicas/gw-b") != null && !etcd.get(P + "replicas/gw-b").isEmpty(),
                        "registered", gw);
                new ProcessBuilder("kill", "-KILL", Long.toString(gw.pid())).start().waitFor(5, TimeUnit.SECONDS);
                assertTrue(gw.waitFor(Duration.ofSeconds(10)), "killed");
                long t0 = System.nanoTime();
                await(() -> {
                    String v = etcd.get(P + "replicas/gw-b");
                    return v == null || v.isEmpty();
                }, "the key expires with its lease", gw);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                System.out.printf("SIGKILL: registry key gone %d ms after the kill (TTL 2000 ms)%n", ms);
                assertTrue(ms <= 3500, "within the TTL (and etcd's expiry tick): " + ms + " ms");
            }
        }
    }

    private JsonNode fleet(GatewayProcess gw) {
        try {
            HttpResponse<String> r = get(gw.managementUri("/v1/status/fleet"), ADMIN);
            assertEquals(200, r.statusCode(), r.body());
            return JSON.readTree(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse<String> get(URI uri, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String cli(EtcdProcess etcd, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-jar", GatewayProcess.jar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("ETCD_ENDPOINTS", etcd.endpoint());
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "cli ended");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static void await(BooleanSupplier condition, String what, GatewayProcess gw) {
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(50)).ignoreExceptions().until(condition::getAsBoolean);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within 20 s: " + what + "\n" + gw.output(), e);
        }
    }
}
