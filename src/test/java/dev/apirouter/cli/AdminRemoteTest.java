package dev.apirouter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Config;
import dev.apirouter.policy.PolicyDocuments;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link AdminRemote} against a local HTTP server playing the admin API: requests, answers, exit codes, bounds. */
@Timeout(30)
class AdminRemoteTest {
    private static final String TOKEN = "admin-token-of-the-test";

    private FakeAdminApi api;
    private volatile int status = 200;
    private volatile String answer = "{}";

    @BeforeEach
    void start() throws IOException {
        api = new FakeAdminApi(request -> new FakeAdminApi.Answer(status, answer));
    }

    @AfterEach
    void stop() {
        api.close();
    }

    private AdminRemote remote() {
        return remote(api.url());
    }

    private static AdminRemote remote(String url) {
        return new AdminRemote(URI.create(url), TOKEN, Duration.ofSeconds(2), Duration.ofSeconds(2));
    }

    private static Config env(String url, String token) {
        return new Config(url == null ? Map.of() : token == null ? Map.of("ROUTER_ADMIN_URL", url)
                : Map.of("ROUTER_ADMIN_URL", url, "ROUTER_ADMIN_TOKEN", token), Config.bundledDefaults());
    }

    @Test
    void boundFromTheEnvironmentOnlyWhenSetAndUsable() throws Exception {
        assertTrue(AdminRemote.of(env(null, null)).isEmpty());
        assertTrue(AdminRemote.of(env("", TOKEN)).isEmpty(), "\"\" is unset");
        assertEquals("admin API http://127.0.0.1:9090",
                AdminRemote.of(env("http://127.0.0.1:9090/", TOKEN)).orElseThrow().where());
        assertEquals("admin API https://gw.example:9443/base",
                AdminRemote.of(env("https://gw.example:9443/base//", TOKEN)).orElseThrow().where());
        for (String bad : List.of("ftp://127.0.0.1:9090", "127.0.0.1:9090", "http://u:p@127.0.0.1:9090",
                "http://127.0.0.1:9090/?x=1", "http://[bad")) {
            CliException e = assertThrows(CliException.class, () -> AdminRemote.of(env(bad, TOKEN)), bad);
            assertEquals(Cli.EXIT_USAGE, e.exitCode(), bad);
        }
        CliException noToken = assertThrows(CliException.class,
                () -> AdminRemote.of(env("http://127.0.0.1:9090", null)));
        assertEquals(Cli.EXIT_USAGE, noToken.exitCode());
        assertTrue(noToken.getMessage().contains("ROUTER_ADMIN_TOKEN"), noToken.getMessage());
    }

    @Test
    void pathSegmentsArePercentEncodedSlashIncluded() {
        assertEquals("meta-llama%2FLlama-3.1-8B", AdminRemote.segment("meta-llama/Llama-3.1-8B"));
        assertEquals("a%20b%3F%25%C3%A9~_", AdminRemote.segment("a b?%é~_"));
    }

    @Test
    void aChangeSendsTheTokenTheBodyAndTheWaitAndReportsEachReplica() throws Exception {
        answer = "{\"revision\":42,\"replicas\":[{\"id\":\"gw-0\",\"appliedRevision\":42,\"confirmedMs\":31},"
                + "{\"id\":\"gw-1\",\"appliedRevision\":43,\"confirmedMs\":77}]}";
        JsonNode doc = PolicyDocuments.JSON.readTree("{\"backends\":[{\"url\":\"http://127.0.0.1:9\"}]}");
        AdminRemote.Change change = remote().change("PUT", "/v1/admin/models/" + AdminRemote.segment("org/m"), doc,
                Optional.of(Duration.ofMillis(1500)));
        FakeAdminApi.Seen s = api.seen().get(0);
        assertEquals("PUT", s.method());
        assertEquals("/v1/admin/models/org%2Fm", s.rawPath());
        assertEquals("wait=true&timeout=1500ms", s.rawQuery());
        assertEquals("Bearer " + TOKEN, s.authorization());
        assertEquals(doc, PolicyDocuments.JSON.readTree(s.body()));

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        change.reportWait(new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = err.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("confirmed  gw-0  rev 42  after 31 ms"), printed);
        assertTrue(printed.contains("confirmed  gw-1  rev 43  after 77 ms"), printed);
        assertTrue(printed.contains("confirmed: 2 replica(s) applied revision 42 within 77 ms"), printed);

        remote().change("POST", "/v1/admin/keys/a/disable?hash=abcdef", null, Optional.of(Duration.ofSeconds(2)));
        assertEquals("hash=abcdef&wait=true&timeout=2000ms", api.seen().get(1).rawQuery());
        remote().change("DELETE", "/v1/admin/models/m", null, Optional.empty());
        assertEquals(null, api.seen().get(2).rawQuery());
        assertEquals("DELETE", api.seen().get(2).method());
    }

    @Test
    void aFleetTimeoutStillGivesTheChangeThenExit4() throws Exception {
        status = 504;
        answer = "{\"error\":{\"message\":\"The change is made (revision 9) but not every replica confirmed it within"
                + " 1500 ms: gw-2 (applied revision 7).\",\"type\":\"api_error\",\"param\":null,"
                + "\"code\":\"fleet_timeout\"},\"change\":{\"key\":\"sk-new\",\"hash\":\"ab\",\"revision\":9}}";
        AdminRemote.Change change = remote().change("POST", "/v1/admin/keys", PolicyDocuments.JSON.createObjectNode(),
                Optional.of(Duration.ofMillis(1500)));
        assertEquals("sk-new", change.body().path("key").asText(), "the key is not lost");
        CliException e = assertThrows(CliException.class,
                () -> change.reportWait(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
        assertEquals(Cli.EXIT_NOT_CONFIRMED, e.exitCode());
        assertTrue(e.getMessage().contains("gw-2 (applied revision 7)"), e.getMessage());
    }

    @Test
    void errorsMapToExitCodesWithTheGatewaysMessageAndNeverTheToken() {
        record Case(int status, String body, int exit, String says) {
        }
        List<Case> cases = new ArrayList<>(List.of(
                new Case(401, error("unauthorized", "This endpoint needs a token."), Cli.EXIT_USAGE,
                        "ROUTER_ADMIN_TOKEN"),
                new Case(403, error("admin_disabled", "No admin token is configured."), Cli.EXIT_USAGE,
                        "admin_disabled"),
                new Case(404, error("key_not_found", "No key named 'x'."), Cli.EXIT_INVALID, "No key named 'x'."),
                new Case(404, error("not_found", "Unknown path"), Cli.EXIT_USAGE, "management address"),
                new Case(409, error("store_read_only", "The policy file is the source."), Cli.EXIT_INVALID,
                        "store_read_only"),
                new Case(503, error("etcd_unavailable", "etcd did not answer."), Cli.EXIT_ETCD, "etcd did not answer"),
                new Case(504, error("fleet_timeout", "no change attached"), Cli.EXIT_ETCD, "fleet_timeout"),
                new Case(502, "<html>bad gateway</html>", Cli.EXIT_ETCD, "502"),
                new Case(200, "not json", Cli.EXIT_ETCD, "not JSON")));
        for (Case c : cases) {
            status = c.status();
            answer = c.body();
            CliException e = assertThrows(CliException.class, () -> remote().get("/v1/admin/keys"), c.toString());
            assertEquals(c.exit(), e.exitCode(), c + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(c.says()), c + ": " + e.getMessage());
            assertFalse(e.getMessage().contains(TOKEN), e.getMessage());
        }
    }

    @Test
    void aRefusedConnectionAndAServerThatNeverAnswersEndWithExit3WithinTheBounds() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        CliException refused = assertThrows(CliException.class,
                () -> remote("http://127.0.0.1:" + closedPort).get("/v1/admin/fleet"));
        assertEquals(Cli.EXIT_ETCD, refused.exitCode());

        List<Socket> accepted = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept()); // accepts, never answers
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            AdminRemote hanging = new AdminRemote(URI.create("http://127.0.0.1:" + silent.getLocalPort()), TOKEN,
                    Duration.ofMillis(500), Duration.ofMillis(700));
            long t0 = System.nanoTime();
            CliException e = assertThrows(CliException.class,
                    () -> hanging.change("POST", "/v1/admin/keys/x/disable", null,
                            Optional.of(Duration.ofMillis(300))));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Cli.EXIT_ETCD, e.exitCode(), e.getMessage());
            assertTrue(e.getMessage().contains("did not answer"), e.getMessage());
            assertTrue(ms >= 900 && ms < 5000, "bounded by the call timeout plus the wait: " + ms + " ms");
        } finally {
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    private static String error(String code, String message) {
        return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"" + code + "\"}}";
    }
}
