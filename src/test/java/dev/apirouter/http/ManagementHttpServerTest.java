package dev.apirouter.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.AdminToken;
import dev.apirouter.config.Settings;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class ManagementHttpServerTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Vertx vertx = Vertx.vertx();
    private ManagementHttpServer server;
    private int port;

    @AfterEach
    void close() throws Exception {
        if (server != null) {
            server.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    /** Short client deadlines, so that the stalled-client test takes about a second. */
    static final Settings.Clients CLIENTS = new Settings.Clients(100, 1 << 20, Duration.ofMillis(600),
            Duration.ofMillis(600), Duration.ofMillis(800));

    private void start(Optional<String> adminToken) throws Exception {
        server = new ManagementHttpServer(vertx, new Settings.Management("127.0.0.1", 0), CLIENTS,
                new AdminToken(adminToken));
        server.endpoint("/open", ctx -> ctx.response().end("open"));
        server.adminEndpoint("/admin", ctx -> ctx.response().end("admin"));
        server.adminCall(io.vertx.core.http.HttpMethod.POST, "/call", ctx -> ctx.response().end(ctx.body().asString()));
        port = server.start(Duration.ofSeconds(10));
    }

    private HttpResponse<String> send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> r, int status, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode error = new ObjectMapper().readTree(r.body()).get("error");
        assertEquals(code, error.get("code").asText(), r.body());
        assertTrue(error.get("param").isNull());
    }

    @Test
    void servesHealthzItsEndpointsAndJsonErrors() throws Exception {
        start(Optional.of("t0ken"));
        assertTrue(port > 0);
        HttpResponse<String> healthz = send("GET", "/v1/status/healthz", null);
        assertEquals(200, healthz.statusCode());
        assertEquals("{\"status\":\"UP\"}", healthz.body());
        assertEquals("open", send("GET", "/open", null).body());
        assertError(send("GET", "/nope", null), 404, "not_found");
        assertError(send("POST", "/open", null), 405, "method_not_allowed");
        // a broken escape (java.net.URI refuses to send one): a JSON 400, not a text answer and a logged stack trace
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write("GET /admin/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("\"code\":\"invalid_request\""), answer);
        }
        assertEquals("open", send("GET", "/open", null).body(), "still serving");
    }

    /**
     * The port the kubelet probes and Prometheus scrapes cannot be held by a client: a silent connection, a head
     * sent a byte at a time and a body that stops coming are each answered 408 and closed within the client
     * deadlines (as on the public port), and the port keeps serving.
     */
    @Test
    void silentAndStalledClientsAreAnswered408AndClosed() throws Exception {
        start(Optional.of("t0ken"));
        String[] partial = {"", "GET /open HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            "POST /call HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\nContent-Length: 100\r\n\r\n{\"a\":"};
        for (String sent : partial) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                socket.setSoTimeout(5000);
                socket.getOutputStream().write(sent.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                long t0 = System.nanoTime();
                String answer;
                try {
                    answer = new String(socket.getInputStream().readAllBytes(),
                            java.nio.charset.StandardCharsets.UTF_8); // to the end: the server closes it
                } catch (java.net.SocketTimeoutException e) {
                    throw new AssertionError("'" + sent + "': neither answered nor closed within 5 s", e);
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(answer.startsWith("HTTP/1.1 408"), "'" + sent + "': " + answer);
                assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
                assertTrue(ms >= 500 && ms < 3000, "'" + sent + "' closed after " + ms + " ms");
            }
        }
        assertEquals("open", send("GET", "/open", null).body(), "still serving");
    }

    @Test
    void adminEndpointsAreClosedWithoutAToken() throws Exception {
        start(Optional.empty());
        for (String authorization : new String[] {null, "Bearer anything"}) {
            HttpResponse<String> r = send("GET", "/admin", authorization);
            assertError(r, 403, "admin_disabled");
            assertTrue(r.body().contains("ROUTER_ADMIN_TOKEN"), r.body());
        }
        assertEquals("open", send("GET", "/open", null).body(), "open endpoints stay open");
    }

    @Test
    void adminEndpointsNeedTheToken() throws Exception {
        start(Optional.of("t0ken"));
        HttpResponse<String> missing = send("GET", "/admin", null);
        assertError(missing, 401, "unauthorized");
        assertEquals("Bearer", missing.headers().firstValue("WWW-Authenticate").orElse(""));
        HttpResponse<String> wrong = send("GET", "/admin", "Bearer guess");
        assertError(wrong, 401, "unauthorized");
        assertFalse(wrong.body().contains("guess"));
        HttpResponse<String> right = send("GET", "/admin", "Bearer t0ken");
        assertEquals(200, right.statusCode());
        assertEquals("admin", right.body());
    }

    @Test
    void aPortInUseFailsTheStartWithinTheBound() throws Exception {
        start(Optional.empty());
        Vertx other = Vertx.vertx(); // another process, as far as the port is concerned: Vert.x shares ports within one
        try {
            ManagementHttpServer second = new ManagementHttpServer(other, new Settings.Management("127.0.0.1", port),
                    CLIENTS, new AdminToken(Optional.empty()));
            assertThrows(Exception.class, () -> second.start(Duration.ofSeconds(5)));
        } finally {
            other.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }
}
