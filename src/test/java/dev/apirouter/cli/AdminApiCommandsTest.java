package dev.apirouter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Config;
import dev.apirouter.policy.PolicyDocuments;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands with {@code ROUTER_ADMIN_URL}: what each asks the admin API (a local server with canned answers, in
 * the shapes of docs/openapi/admin.yaml) and what it prints from the answers. The real API: RegistryWaitIT.
 */
@Timeout(30)
class AdminApiCommandsTest {
    private static final String HASH = "4b9b5f27fd8b" + "0".repeat(52);
    private static final String KEYS = "{\"object\":\"list\",\"data\":[{\"name\":\"team-a\",\"hash\":\"" + HASH
            + "\",\"models\":[\"chat\",\"org/m\"],\"disabled\":false,\"expiresAt\":\"2027-01-01T00:00:00Z\","
            + "\"revision\":12,\"usage\":{\"requests\":3}},{\"name\":null,\"hash\":\"" + "f".repeat(64)
            + "\",\"revision\":13,\"invalid\":\"the stored record is not JSON\"}]}";

    record Result(int code, String out, String err) {
    }

    private static final FakeAdminApi.Answer UNKNOWN_PATH = new FakeAdminApi.Answer(404, "{\"error\":{\"message\":"
            + "\"Unknown path\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"not_found\"}}");

    private final Map<String, FakeAdminApi.Answer> answers = new ConcurrentHashMap<>();
    private FakeAdminApi api;

    @BeforeEach
    void start() throws IOException {
        api = new FakeAdminApi(request -> answers.getOrDefault(request.call(), UNKNOWN_PATH));
    }

    @AfterEach
    void stop() {
        api.close();
    }

    private Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // ETCD_ENDPOINTS too: the admin API is asked, never etcd (nothing listens on port 9)
        Config config = new Config(Map.of("ROUTER_ADMIN_URL", api.url(),
                "ROUTER_ADMIN_TOKEN", "t", "ETCD_ENDPOINTS", "http://127.0.0.1:9"), Config.bundledDefaults());
        int code = Cli.run(args, config, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void keysListShowsTheApisRecordsAsTheTable() {
        answers.put("GET /v1/admin/keys", answer(200, KEYS));
        Result r = run("keys", "list");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("team-a") && r.out().contains("4b9b5f27fd8b…") && r.out().contains("chat,org/m")
                && r.out().contains("2027-01-01T00:00:00Z"), r.out());
        assertTrue(r.out().contains("(invalid record: the stored record is not JSON)"), r.out());
        assertTrue(r.err().contains("2 key(s) (admin API http://127.0.0.1:"), r.err());
    }

    @Test
    void revokeByHashLooksTheNameUpThenDisablesThatOneRecordAndWaits() {
        answers.put("GET /v1/admin/keys", answer(200, KEYS));
        answers.put("POST /v1/admin/keys/team-a/disable?hash=" + HASH + "&wait=true&timeout=30000ms",
                answer(200, "{\"object\":\"list\",\"data\":[{\"name\":\"team-a\",\"hash\":\"" + HASH
                        + "\",\"disabled\":true}],\"revision\":14,\"replicas\":[{\"id\":\"gw-0\","
                        + "\"appliedRevision\":14,\"confirmedMs\":40}]}"));
        Result r = run("keys", "revoke", "--hash", "4B9B5F27", "--wait");
        assertEquals(0, r.code(), r.err() + api.seen());
        assertEquals("disabled 'team-a' (keys/4b9b5f27fd8b…)\n", r.out());
        assertTrue(r.err().contains("confirmed  gw-0  rev 14  after 40 ms"), r.err());

        Result none = run("keys", "revoke", "--hash", "abcdef");
        assertEquals(Cli.EXIT_INVALID, none.code(), none.err());
        assertTrue(none.err().contains("no key with hash abcdef"), none.err());
        Result nameless = run("keys", "revoke", "--hash", "ffffff");
        assertEquals(Cli.EXIT_INVALID, nameless.code(), nameless.err());
        assertTrue(nameless.err().contains("has no name"), nameless.err());
    }

    @Test
    void revokeDeleteByNameAndPolicyChangesUseTheirCalls(@TempDir Path dir) throws Exception {
        answers.put("DELETE /v1/admin/keys/team%20b", answer(200, "{\"deleted\":2,\"revision\":20}"));
        Result revoked = run("keys", "revoke", "--name", "team b", "--delete");
        assertEquals(0, revoked.code(), revoked.err() + api.seen());
        assertEquals("deleted 2 key record(s) named 'team b' at revision 20\n", revoked.out());

        Path file = Files.writeString(dir.resolve("m.yaml"), "backends:\n  - url: http://127.0.0.1:8000\n");
        answers.put("PUT /v1/admin/models/org%2Fm",
                answer(200, "{\"name\":\"org/m\",\"created\":true,\"revision\":21}"));
        Result put = run("policy", "put", "--model", "org/m", "--file", file.toString());
        assertEquals(0, put.code(), put.err() + api.seen());
        assertTrue(put.out().startsWith("stored models/org/m (1 backend(s)) at revision 21 through the admin API"),
                put.out());
        JsonNode sent = json(api.seen().get(api.seen().size() - 1).body());
        assertEquals("http://127.0.0.1:8000", sent.path("backends").path(0).path("url").asText(), "YAML sent as JSON");

        Result missing = run("policy", "delete", "--model", "gone");
        assertEquals(Cli.EXIT_USAGE, missing.code(), "an unknown path: not the management port? " + missing.err());
        answers.put("DELETE /v1/admin/models/gone", answer(404, "{\"error\":{\"message\":"
                + "\"No model policy named 'gone'.\","
                + "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}"));
        Result gone = run("policy", "delete", "--model", "gone");
        assertEquals(Cli.EXIT_INVALID, gone.code(), gone.err());
        assertTrue(gone.err().contains("No model policy named 'gone'."), gone.err());
    }

    @Test
    void policyGetRebuildsThePolicyFileFormWithoutWhatTheApiAdds() throws Exception {
        answers.put("GET /v1/admin/keys", answer(200, KEYS));
        answers.put("GET /v1/admin/models", answer(200, "{\"object\":\"list\",\"data\":[{\"name\":\"org/m\",\"policy\":"
                + "{\"backends\":[{\"url\":\"http://127.0.0.1:8000\"}]},\"revision\":5}]}"));
        Result r = run("policy", "get");
        assertEquals(0, r.code(), r.err());
        JsonNode root = json(r.out());
        assertEquals("http://127.0.0.1:8000", root.at("/models/org~1m/backends/0/url").asText(), r.out());
        JsonNode record = root.path("keys").path(HASH);
        assertEquals(List.of("name", "models", "disabled", "expiresAt"), fieldNames(record), r.out());
        assertFalse(root.path("keys").has("f".repeat(64)), "an invalid record is left out, and said so");
        assertTrue(r.err().contains("is left out: the stored record is not JSON"), r.err());
    }

    @Test
    void fleetPrintsTheApisReplicasAsTheTable() {
        answers.put("GET /v1/admin/fleet", answer(200, "{\"storeRevision\":30,\"policyRevision\":28,"
                + "\"replicas\":[{\"id\":"
                + "\"gw-0\",\"version\":\"1.2.3\",\"state\":\"serving\",\"appliedRevision\":27,\"lag\":1,"
                + "\"routesGeneration\":1,\"managementAddress\":\"10.0.0.5:9090\",\"startedAt\":"
                + "\"2026-11-29T07:00:00Z\",\"ageSeconds\":60,\"self\":true}]}"));
        Result r = run("fleet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*gw-0\\s+serving\\s+27\\s+1\\s+1\\.2\\.3\\s+\\S+\\s+10\\.0\\.0\\.5:9090.*"),
                r.out());
        assertTrue(r.err().contains("1 replica(s); store revision 30, newest policy change 28"), r.err());
    }

    private static FakeAdminApi.Answer answer(int status, String body) {
        return new FakeAdminApi.Answer(status, body);
    }

    private static JsonNode json(String s) throws IOException {
        return PolicyDocuments.JSON.readTree(s);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
