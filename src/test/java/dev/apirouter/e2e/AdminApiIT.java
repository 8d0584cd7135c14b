package dev.apirouter.e2e;

import java.net.URI;
import java.net.URLEncoder;
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
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin API end to end: a gateway jar on a real etcd, changed through the API and checked with requests to its
 * public port; bad input; the audit lines; the file store's refusal; and every call held against
 * {@code docs/openapi/admin.yaml}.
 */
@Timeout(180)
class AdminApiIT {
    static final String ADMIN = "admin-token-admin-api-it";
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final List<String> KEYS_SEEN = new ArrayList<>();
    static OpenApiContract openApi;
    static EtcdProcess etcd;
    static VllmSimulator sim;
    static GatewayProcess gateway;

    @TempDir
    Path dir;

    /** One etcd, simulator and gateway for the class, started by the first test (etcd may be skipped there). */
    static synchronized void fixtures() throws Exception {
        if (gateway != null) {
            return;
        }
        openApi = new OpenApiContract(Path.of("docs/openapi/admin.yaml"));
        etcd = EtcdProcess.start();
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).maxTokens(4));
        gateway = GatewayProcess.start(GatewayProcess.env("ETCD_ENDPOINTS", etcd.endpoint(),
                "ROUTER_ADMIN_TOKEN", ADMIN, "ROUTER_ADMIN_TOKEN_LABEL", "ops-it", "ROUTER_REPLICA_UPDATE_MS", "50"));
        // no model yet, so never ready: wait for the routes instead
        assertNotNull(gateway.awaitLine(l -> l.contains("Routes started"), Duration.ofSeconds(60)), gateway.output());
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (gateway != null) {
                String log = gateway.output();
                for (String key : KEYS_SEEN) {
                    assertFalse(log.contains(key), "a key was logged");
                }
                assertFalse(log.contains(ADMIN), "the admin token was logged");
                openApi.assertAllCalled();
            }
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            if (sim != null) {
                sim.close();
            }
            if (etcd != null) {
                etcd.close();
            }
        }
    }

    static HttpResponse<String> admin(GatewayProcess g, String method, String path, String body, String token)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(g.managementUri(path)).timeout(Duration.ofSeconds(40))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (openApi != null && g == gateway && r.statusCode() != 405) { // 405: a method the document has not
            openApi.check(method, URI.create(path).getRawPath(), r.statusCode(), r.body());
        }
        return r;
    }

    static HttpResponse<String> admin(String method, String path, String body) throws Exception {
        return admin(gateway, method, path, body, ADMIN);
    }

    static JsonNode ok(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        return JSON.readTree(r.body());
    }

    static void refused(HttpResponse<String> r, int status, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals(code, JSON.readTree(r.body()).path("error").path("code").asText(), r.body());
    }

    static int chat(String key, String model) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    static String model(String name, String extra) {
        return "{\"upstreamModel\":\"" + UPSTREAM + "\",\"backends\":[{\"url\":\"" + sim.baseUrl() + "\"}]" + extra + "}";
    }

    static String newKey(JsonNode created) {
        String key = created.get("key").asText();
        KEYS_SEEN.add(key);
        return key;
    }

    @Test
    void aKeyIsCreatedUsedChangedRotatedAndRevoked() throws Exception {
        fixtures();
        ok(admin("PUT", "/v1/admin/models/chat-a?wait=true", model("chat-a", "")), 201);
        JsonNode created = ok(admin("POST", "/v1/admin/keys?wait=true",
                "{\"name\":\"team-a\",\"models\":[\"chat-a\"],\"limits\":{\"rpm\":100}}"), 201);
        String key = newKey(created);
        assertEquals(1, created.get("replicas").size(), created.toString());
        assertEquals(200, chat(key, "chat-a"));
        assertEquals(403, chat(key, "other"));

        JsonNode got = ok(admin("GET", "/v1/admin/keys/team-a", null), 200);
        assertEquals(created.get("hash").asText(), got.get("data").get(0).get("hash").asText());
        assertEquals(1, got.get("data").get(0).get("usage").get("requests").asInt(), got.toString());
        assertFalse(got.toString().contains(key));

        JsonNode disabled = ok(admin("POST", "/v1/admin/keys/team-a/disable?wait=true", null), 200);
        assertTrue(disabled.get("data").get(0).get("disabled").asBoolean());
        assertEquals(401, chat(key, "chat-a"), "refused once every replica applied the change");
        ok(admin("POST", "/v1/admin/keys/team-a/enable?wait=true", null), 200);
        assertEquals(200, chat(key, "chat-a"));

        JsonNode patched = ok(admin("PATCH", "/v1/admin/keys/team-a?wait=true&hash="
                + created.get("hash").asText().substring(0, 10), "{\"models\":[\"*\"],\"limits\":null}"), 200);
        assertFalse(patched.get("data").get(0).has("limits"));

        JsonNode rotated = ok(admin("POST", "/v1/admin/keys/team-a/rotate?wait=true", "{\"gracePeriodSeconds\":5}"), 201);
        String next = newKey(rotated);
        assertEquals(200, chat(key, "chat-a"), "the old key works during the grace period");
        assertEquals(200, chat(next, "chat-a"));
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> chat(key, "chat-a") == 401);
        assertEquals(200, chat(next, "chat-a"));
        assertEquals(2, ok(admin("GET", "/v1/admin/keys/team-a", null), 200).get("data").size());
        assertTrue(ok(admin("GET", "/v1/admin/keys", null), 200).get("data").size() >= 2);

        JsonNode revoked = ok(admin("DELETE", "/v1/admin/keys/team-a?wait=true", null), 200);
        assertEquals(2, revoked.get("deleted").asInt());
        assertEquals(401, chat(next, "chat-a"));
        refused(admin("GET", "/v1/admin/keys/team-a", null), 404, "key_not_found");
        refused(admin("DELETE", "/v1/admin/keys/team-a", null), 404, "key_not_found");
        refused(admin("POST", "/v1/admin/keys/team-a/disable", null), 404, "key_not_found");
        refused(admin("POST", "/v1/admin/keys/team-a/enable", null), 404, "key_not_found");
        refused(admin("POST", "/v1/admin/keys/team-a/rotate", "{\"gracePeriodSeconds\":0}"), 404, "key_not_found");
        refused(admin("PATCH", "/v1/admin/keys/team-a", "{\"disabled\":true}"), 404, "key_not_found");

        assertNotNull(gateway.awaitLine(l -> l.contains("audit admin=ops-it action=key.create target=team-a records=1"
                + " revision=" + created.get("revision").asLong()), Duration.ofSeconds(5)));
        for (String action : List.of("key.disable", "key.enable", "key.update", "key.rotate", "key.revoke",
                "model.create")) {
            assertNotNull(gateway.awaitLine(l -> l.contains("audit admin=ops-it action=" + action + " "),
                    Duration.ofSeconds(5)), action);
        }
    }

    @Test
    void modelsArePutValidatedAndDeleted() throws Exception {
        fixtures();
        String name = "org/chat-b";
        String path = "/v1/admin/models/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
        JsonNode created = ok(admin("PUT", path + "?wait=true", model(name, ",\"aliases\":[\"gpt-b\"]")), 201);
        assertTrue(created.get("created").asBoolean());
        JsonNode key = ok(admin("POST", "/v1/admin/keys?wait=true", "{\"name\":\"models-it\",\"models\":[\"*\"]}"), 201);
        String k = newKey(key);
        assertEquals(200, chat(k, "gpt-b"), "the alias serves");
        assertEquals(name, ok(admin("GET", "/v1/admin/models/" + name, null), 200).get("name").asText(),
                "the name with '/' as is");
        assertTrue(ok(admin("GET", "/v1/admin/models", null), 200).get("data").size() >= 1);
        ok(admin("PUT", path, model(name, ",\"aliases\":[\"gpt-b\",\"gpt-b2\"]")), 200);

        refused(admin("PUT", "/v1/admin/models/clash", model("clash", ",\"aliases\":[\"gpt-b\"]")), 400,
                "invalid_request");
        refused(admin("PUT", "/v1/admin/models/bad", "{\"backends\":[{\"url\":\"ftp://x\"}]}"), 400, "invalid_request");
        refused(admin("PUT", "/v1/admin/models/bad", "{\"backends\":[],\"bogus\":true}"), 400, "invalid_request");
        refused(admin("GET", "/v1/admin/models/clash", null), 404, "model_not_found");
        JsonNode dry = ok(admin("POST", "/v1/admin/models/clash/validate", model("clash", ",\"aliases\":[\"gpt-b2\"]")), 200);
        assertFalse(dry.get("valid").asBoolean());
        assertTrue(dry.get("message").asText().contains("gpt-b2"), dry.toString());
        assertTrue(ok(admin("POST", "/v1/admin/models/fresh/validate", model("fresh", "")), 200).get("valid").asBoolean());
        refused(admin("POST", "/v1/admin/models/fresh/validate", "nope"), 400, "invalid_request");
        refused(admin("GET", "/v1/admin/models/fresh", null), 404, "model_not_found");

        ok(admin("DELETE", path + "?wait=true", null), 200);
        assertEquals(404, chat(k, "gpt-b"));
        refused(admin("DELETE", path, null), 404, "model_not_found");
        refused(admin("GET", "/v1/admin/models/has%20space", null), 400, "invalid_request");
    }

    @Test
    void badInputIsAClearRefusal() throws Exception {
        fixtures();
        refused(admin(gateway, "GET", "/v1/admin/keys", null, null), 401, "unauthorized");
        HttpResponse<String> wrong = admin(gateway, "GET", "/v1/admin/keys", null, "not-the-token");
        refused(wrong, 401, "unauthorized");
        assertEquals("Bearer", wrong.headers().firstValue("WWW-Authenticate").orElse(""));
        refused(admin("POST", "/v1/admin/keys", "{\"name\":\"x\""), 400, "invalid_request");
        refused(admin("POST", "/v1/admin/keys", "{\"name\":\"x\",\"models\":[\"*\"],\"owner\":\"me\"}"), 400,
                "invalid_request");
        refused(admin("POST", "/v1/admin/keys", "{\"name\":\"x\",\"models\":[\"*\"],\"limits\":{\"rpm\":-1}}"), 400,
                "invalid_request");
        refused(admin("POST", "/v1/admin/keys", "{\"name\":\"x\",\"models\":[\"*\"],\"expiresAt\":\"soon\"}"), 400,
                "invalid_request");
        refused(admin("POST", "/v1/admin/keys", "{\"models\":[\"*\"]}"), 400, "invalid_request");
        refused(admin("POST", "/v1/admin/keys", "x".repeat(1_100_000)), 413, "request_too_large");
        refused(admin("GET", "/v1/admin/keys/x?hash=zz", null), 400, "invalid_request");
        refused(admin("POST", "/v1/admin/keys?wait=maybe", "{\"name\":\"w\",\"models\":[\"*\"]}"), 400,
                "invalid_request");
        refused(admin("GET", "/v1/admin/usage?window=1y", null), 400, "invalid_request");
        refused(admin("GET", "/v1/admin/usage?window=25h", null), 400, "invalid_request");
        JsonNode k = ok(admin("POST", "/v1/admin/keys", "{\"name\":\"bad-input\",\"models\":[\"*\"]}"), 201);
        newKey(k);
        refused(admin("PATCH", "/v1/admin/keys/bad-input", "{\"name\":\"other\"}"), 400, "invalid_request");
        refused(admin("PATCH", "/v1/admin/keys/bad-input", "{\"limits\":{\"tpm\":\"many\"}}"), 400, "invalid_request");
        refused(admin("POST", "/v1/admin/keys/bad-input/rotate", "{\"gracePeriodSeconds\":9999999}"), 400,
                "invalid_request");
        refused(admin(gateway, "PUT", "/v1/admin/keys", "{}", ADMIN), 405, "method_not_allowed");
        assertEquals(1, ok(admin("DELETE", "/v1/admin/keys/bad-input", null), 200).get("deleted").asInt());
    }

    @Test
    void usageStatsAndFleetReadTheLiveState() throws Exception {
        fixtures();
        ok(admin("PUT", "/v1/admin/models/chat-u?wait=true", model("chat-u", "")), 201);
        String key = newKey(ok(admin("POST", "/v1/admin/keys?wait=true", "{\"name\":\"usage-it\",\"models\":[\"chat-u\"]}"), 201));
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat-u\",\"messages\":[{\"role\":"
                            + "\"user\",\"content\":\"hi\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
        }
        JsonNode usage = ok(admin("GET", "/v1/admin/usage?window=5m", null), 200);
        JsonNode mine = null;
        for (JsonNode k : usage.get("keys")) {
            if (k.get("name").asText().equals("usage-it")) {
                mine = k;
            }
        }
        assertNotNull(mine, usage.toString());
        assertEquals(3, mine.get("requests").asInt());
        assertTrue(mine.get("outputTokens").asInt() > 0, mine.toString());
        assertEquals("5m", usage.get("window").asText());
        ok(admin("GET", "/v1/admin/usage", null), 200);

        JsonNode stats = ok(admin("GET", "/v1/admin/stats", null), 200);
        assertTrue(stats.get("requests").asLong() >= 3, stats.toString());
        assertTrue(stats.get("ttft").get("bucketsMs").isArray());

        JsonNode fleet = ok(admin("GET", "/v1/admin/fleet", null), 200);
        assertEquals(1, fleet.get("replicas").size(), fleet.toString());

        // a replica that never applies anything: ?wait=true times out naming it, and the change is made anyway
        etcd.put("/api-router/replicas/frozen-replica", "{\"id\":\"frozen-replica\",\"version\":\"x\","
                + "\"startedAt\":\"2026-01-01T00:00:00Z\",\"managementAddress\":\"127.0.0.1:1\",\"appliedRevision\":1,"
                + "\"routesGeneration\":1,\"state\":\"serving\"}");
        try {
            HttpResponse<String> late = admin("POST", "/v1/admin/keys/usage-it/disable?wait=true&timeout=2s", null);
            refused(late, 504, "fleet_timeout");
            assertTrue(late.body().contains("frozen-replica (applied revision 1)"), late.body());
            assertEquals(401, chat(key, "chat-u"), "the change was made");
        } finally {
            etcd.delete("/api-router/replicas/frozen-replica");
        }
        ok(admin("DELETE", "/v1/admin/keys/usage-it", null), 200);
        ok(admin("DELETE", "/v1/admin/models/chat-u", null), 200);
    }

    @Test
    void withThePolicyFileReadsWorkAndWritesAreRefused() throws Exception {
        fixtures();
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n  m:\n    backends:\n      - url: " + sim.baseUrl() + "\nkeys:\n  \""
                + "a".repeat(64) + "\": {name: file-team, models: [m]}\n");
        try (GatewayProcess file = GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ADMIN_TOKEN", ADMIN))) {
            file.awaitReady(Duration.ofSeconds(60));
            JsonNode keys = ok(admin(file, "GET", "/v1/admin/keys", null, ADMIN), 200);
            assertEquals("file-team", keys.get("data").get(0).get("name").asText());
            assertEquals("m", ok(admin(file, "GET", "/v1/admin/models/m", null, ADMIN), 200).get("name").asText());
            HttpResponse<String> write = admin(file, "POST", "/v1/admin/keys", "{\"name\":\"x\",\"models\":[\"m\"]}", ADMIN);
            refused(write, 409, "store_read_only");
            assertTrue(write.body().contains(policy.toString()), write.body());
            refused(admin(file, "PUT", "/v1/admin/models/m", model("m", ""), ADMIN), 409, "store_read_only");
            refused(admin(file, "GET", "/v1/admin/fleet", null, ADMIN), 404, "registry_needs_etcd");
        }
        try (GatewayProcess closed = GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_ADMIN_TOKEN", null))) {
            closed.awaitReady(Duration.ofSeconds(60));
            refused(admin(closed, "GET", "/v1/admin/keys", null, ADMIN), 403, "admin_disabled");
            refused(admin(closed, "POST", "/v1/admin/keys", "{}", null), 403, "admin_disabled");
        }
    }
}
