package dev.apirouter.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.RawClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway at the edge, against hostile clients on raw sockets: nothing of a body is read before the key is
 * checked, bodies stay under a global budget, stalled and idle connections are reaped, ambiguous framing and odd
 * request targets never reach a backend, bad bytes get a 400, and none of it floods the log.
 */
@Timeout(120)
class EdgeIT {
    static final String KEY = "sk-edge-it";
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final int MAX_BODY = 4 * 1024 * 1024;
    static final Duration HEADER_TIMEOUT = Duration.ofMillis(1500);
    static final Duration BODY_TIMEOUT = Duration.ofMillis(1500);
    static final Duration IDLE_TIMEOUT = Duration.ofMillis(2000);
    static final int MAX_CONNECTIONS = 40;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(300)
                .maxTokens(10));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n  m:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: 'http://127.0.0.1:"
                + sim.port() + "'}]\nkeys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: edge, models: [\"*\"]}\n");
        gateway = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_MAX_BODY_BYTES", Integer.toString(MAX_BODY),
                "ROUTER_MAX_BUFFERED_BODY_BYTES", Integer.toString(2 * MAX_BODY),
                "ROUTER_MAX_CONNECTIONS", Integer.toString(MAX_CONNECTIONS),
                "ROUTER_CLIENT_HEADER_TIMEOUT_MS", Long.toString(HEADER_TIMEOUT.toMillis()),
                "ROUTER_CLIENT_BODY_TIMEOUT_MS", Long.toString(BODY_TIMEOUT.toMillis()),
                "ROUTER_CLIENT_IDLE_TIMEOUT_MS", Long.toString(IDLE_TIMEOUT.toMillis())));
        gateway.awaitReady(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
            assertFalse(gateway.output().contains(KEY), "the gateway's output must never contain an API key");
        }
        if (sim != null) {
            sim.close();
        }
    }

    static String head(String method, String target, String... headers) {
        StringBuilder b = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: gw\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    static String chatBody() {
        return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}";
    }

    static RawClient client() throws IOException {
        return new RawClient(gateway.port());
    }

    // ---- 1. the key before the body; a budget for bodies -------------------------------------------------------

    @Test
    void anUnauthenticatedUploadIsRefusedOnItsHeadBeforeAnyBodyByte() throws Exception {
        try (RawClient c = client()) {
            c.send(head("POST", "/v1/chat/completions", "Content-Length: " + MAX_BODY, "Content-Type: application/json"));
            RawClient.Response r = c.read(Duration.ofSeconds(5)); // no body byte was sent
            assertEquals(401, r.status(), r.head());
            assertTrue(r.body().contains("\"code\":\"invalid_api_key\""), r.body());
            assertTrue(r.hasHeader("connection", "close"), r.head());
            assertTrue(c.closedWithin(Duration.ofSeconds(5)), "the connection is closed after the refusal");
        }
    }

    @Test
    void bodiesBeyondTheBufferedBudgetGet503InsteadOfMemory() throws Exception {
        await("no body held from earlier requests").atMost(Duration.ofSeconds(10))
                .until(() -> metric("api_router_buffered_body_bytes") == 0.0);
        List<RawClient> holding = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) { // two bodies of the largest size fill the budget; each sends half and waits
                RawClient c = client();
                holding.add(c);
                c.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY, "Content-Length: " + MAX_BODY));
                c.send(new byte[MAX_BODY / 2]);
            }
            try (RawClient third = client()) {
                third.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY, "Content-Length: " + MAX_BODY));
                RawClient.Response r = third.read(Duration.ofSeconds(5));
                assertEquals(503, r.status(), r.head() + r.body());
                assertTrue(r.body().contains("\"code\":\"overloaded\""), r.body());
            }
            // the two stalled uploads time out, and give their reservation back
            for (RawClient c : holding) {
                RawClient.Response r = c.read(BODY_TIMEOUT.plusSeconds(5));
                assertEquals(408, r.status(), "a stalled body times out: " + r.head());
            }
        } finally {
            for (RawClient c : holding) {
                c.close();
            }
        }
        await("the budget is released when the stalled uploads end").atMost(Duration.ofSeconds(10))
                .until(() -> metric("api_router_buffered_body_bytes") == 0.0);
        assertEquals(200, chat(false).statusCode());
    }

    @Test
    void aBodyLargerThanTheLimitIsRefusedOnItsDeclaredLength() throws Exception {
        try (RawClient c = client()) {
            c.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY, "Content-Length: " + (MAX_BODY + 1)));
            RawClient.Response r = c.read(Duration.ofSeconds(5));
            assertEquals(413, r.status(), r.head());
            assertTrue(r.body().contains("\"code\":\"request_too_large\""), r.body());
        }
    }

    // ---- 2. timeouts and the connection limit -------------------------------------------------------------------

    @Test
    void aConnectionThatSendsNoCompleteHeadGets408AndIsClosed() throws Exception {
        try (RawClient silent = client(); RawClient half = client()) {
            half.send("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"); // half a head, then nothing
            long t0 = System.nanoTime();
            RawClient.Response r = silent.read(HEADER_TIMEOUT.plusSeconds(5));
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(408, r.status(), r.head());
            assertTrue(r.body().contains("\"code\":\"request_timeout\""), r.body());
            assertTrue(waitedMs >= HEADER_TIMEOUT.toMillis() - 100 && waitedMs < HEADER_TIMEOUT.toMillis() + 2000,
                    "answered after " + waitedMs + " ms");
            assertEquals(408, half.read(Duration.ofSeconds(3)).status());
            assertTrue(silent.closedWithin(Duration.ofSeconds(2)));
        }
    }

    @Test
    void aKeptAliveConnectionIsClosedWhenIdleButAStreamLongerThanEveryTimeoutIsNeverCut() throws Exception {
        try (RawClient c = client()) {
            String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":10,\"stream\":true}";
            c.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY, "Content-Length: " + body.length())
                    + body);
            // 10 tokens 300 ms apart: about 3 s, longer than the header, body and idle timeouts
            String stream = c.drain(Duration.ofMillis(IDLE_TIMEOUT.toMillis() + 6000));
            assertTrue(stream.startsWith("HTTP/1.1 200"), stream);
            assertTrue(stream.contains("data: [DONE]"), "the whole stream arrived: " + stream);
            assertTrue(stream.endsWith("0\r\n\r\n"), "and ended cleanly, then the idle connection was closed");
        }
    }

    @Test
    void pastTheConnectionLimitNewConnectionsGet503AndTheLimitIsLoggedOnce() throws Exception {
        List<RawClient> open = new ArrayList<>();
        int ok = 0;
        int refused = 0;
        try {
            for (int i = 0; i < MAX_CONNECTIONS + 10; i++) {
                RawClient c = client();
                open.add(c);
                RawClient.Response r = c.send(head("GET", "/v1/status/healthz")).read(Duration.ofSeconds(5));
                if (r.status() == 200) {
                    ok++;
                } else {
                    assertEquals(503, r.status(), r.head());
                    assertTrue(r.body().contains("\"code\":\"overloaded\""), r.body());
                    refused++;
                }
            }
        } finally {
            for (RawClient c : open) {
                c.close();
            }
        }
        assertTrue(ok <= MAX_CONNECTIONS && refused >= 10, ok + " served, " + refused + " refused");
        assertTrue(gateway.awaitLine(l -> l.contains("Client connection limit reached"), Duration.ofSeconds(5)) != null);
        assertTrue(gateway.awaitLine(l -> l.contains("back under the limit"), Duration.ofSeconds(10)) != null);
        assertEquals(1, gateway.output().lines().filter(l -> l.contains("Client connection limit reached")).count());
        assertEquals(200, chat(false).statusCode());
    }

    // ---- 3. request targets -------------------------------------------------------------------------------------

    @Test
    void aBackendReceivesTheRoutesOwnPathInOriginFormWhateverTheClientWrote() throws Exception {
        String[] targets = {"http://evil.example/v1/chat/completions", "/metrics/../v1/chat/completions",
            "/v1/status/%2e%2e/%2E%2E/v1/chat/completions", "/v1/chat/completions/", "/v1//chat/completions"};
        for (String target : targets) {
            RawClient.Response r = post(target, chatBody());
            if (r.status() == 404) {
                continue; // not routed at all is fine too; what matters is that nothing odd reaches a backend
            }
            assertEquals(200, r.status(), target + ": " + r.head() + r.body());
            VllmSimulator.RecordedRequest seen = last();
            assertEquals("/v1/chat/completions", seen.target(), target);
            assertFalse(String.valueOf(seen.header("Host")).contains("evil"), seen.header("Host"));
        }
        post("/v1/chat/completions?b=c%20d&e=%41%2f&f=%2e%7e&g=<x>", chatBody());
        assertEquals("/v1/chat/completions?b=c%20d&e=A%2F&f=.~&g=%3Cx%3E", last().target());
        RawClient.Response bad = post("/v1/chat/completions?a=%zz", chatBody());
        assertEquals(400, bad.status(), bad.head());
    }

    /** The last API request the backend received (its health probes left out). */
    static VllmSimulator.RecordedRequest last() {
        List<VllmSimulator.RecordedRequest> all = sim.requests().stream().filter(r -> !r.path().equals("/health")).toList();
        return all.get(all.size() - 1);
    }

    static RawClient.Response post(String target, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return post(target, bytes);
    }

    static RawClient.Response post(String target, byte[] body) throws IOException {
        try (RawClient c = client()) {
            c.send(head("POST", target, "Authorization: Bearer " + KEY, "Content-Type: application/json",
                    "Content-Length: " + body.length));
            c.send(body);
            return c.read(Duration.ofSeconds(10));
        }
    }

    // ---- 4. framing ---------------------------------------------------------------------------------------------

    @Test
    void contentLengthWithChunkedIs400AndThePipelinedRequestIsNeverAnswered() throws Exception {
        try (RawClient c = client()) {
            String smuggled = head("GET", "/v1/status/healthz");
            c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + KEY
                    + "\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
            RawClient.Response r = c.read(Duration.ofSeconds(5));
            assertEquals(400, r.status(), r.head());
            assertTrue(r.hasHeader("connection", "close"), r.head());
            assertEquals("", c.drain(Duration.ofSeconds(3)), "nothing after the 400: the connection is closed");
        }
    }

    @Test
    void aTransferEncodingOtherThanChunkedIs400() throws Exception {
        String body = chatBody();
        try (RawClient c = client()) {
            c.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY, "Content-Length: " + body.length(),
                    "Transfer-Encoding: xchunked") + body);
            RawClient.Response r = c.read(Duration.ofSeconds(5));
            assertEquals(400, r.status(), r.head());
            assertTrue(c.closedWithin(Duration.ofSeconds(3)));
        }
    }

    // ---- 5. bodies that are not UTF-8 JSON ----------------------------------------------------------------------

    @Test
    void bodiesThatAreNotStrictUtf8JsonAre400NeverA500() throws Exception {
        byte[][] bodies = {
            chatBody().getBytes(StandardCharsets.UTF_16LE),
            chatBody().getBytes(StandardCharsets.UTF_16), // with its byte order mark
            "{\"model\":\"m\u00c0\u00adb\",\"messages\":[]}".getBytes(StandardCharsets.ISO_8859_1), // overlong "-"
            ("\uFEFF" + chatBody()).getBytes(StandardCharsets.UTF_8),
            "{\"model\":\"m\",\"x\":\"\u00ed\u00a0\u0080\"}".getBytes(StandardCharsets.ISO_8859_1), // a surrogate
            {'{', '"', 'm', (byte) 0xff, '"', '}'},
        };
        for (byte[] body : bodies) {
            RawClient.Response r = post("/v1/chat/completions", body);
            assertEquals(400, r.status(), r.head() + r.body());
            assertTrue(r.body().contains("\"code\":\"invalid_request\""), r.body());
        }
        assertFalse(gateway.output().contains("Exception"), "no stack trace for client input");
    }

    // ---- 6. open streams are counted down however they end -------------------------------------------------------

    @Test
    void streamsEndedByTheClientAreSubtractedFromOpenStreams() throws Exception {
        String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":10,\"stream\":true}";
        for (int i = 0; i < 5; i++) {
            try (RawClient c = client()) {
                c.send(head("POST", "/v1/chat/completions", "Authorization: Bearer " + KEY,
                        "Content-Length: " + body.length()) + body);
                c.read(Duration.ofSeconds(5)); // the head of the stream; then the client goes away
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> metric("api_router_open_streams") == 0.0);
    }

    static double metric(String name) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.managementUri("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body().lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    // ---- 7. aborted uploads do not flood the log -----------------------------------------------------------------

    @Test
    void abortedUploadsLogNoErrors() throws Exception {
        for (int i = 0; i < 30; i++) {
            try (RawClient c = client()) {
                c.send(head("POST", "/v1/chat/completions", (i % 2 == 0 ? "Authorization: Bearer " + KEY : "X-No: key"),
                        "Content-Length: 100000"));
                c.send(new byte[1000]);
            }
        }
        assertEquals(200, chat(false).statusCode());
        long errors = gateway.output().lines().filter(l -> l.contains(" ERROR ") || l.contains("\tat ")).count();
        assertEquals(0, errors, gateway.output());
    }

    // ---- 8. protocol surface ------------------------------------------------------------------------------------

    @Test
    void h2cUpgradeIsNotHonoured() throws Exception {
        try (RawClient c = client()) {
            c.send(head("GET", "/metrics", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                    "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"));
            RawClient.Response r = c.read(Duration.ofSeconds(5));
            assertFalse(r.status() == 101, r.head());
            assertTrue(r.statusLine().startsWith("HTTP/1.1"), r.head());
        }
    }

    @Test
    void anOverlongRequestLineIs414() throws Exception {
        try (RawClient c = client()) {
            c.send("GET /v1/status/healthz?" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: gw\r\n\r\n");
            RawClient.Response r = c.read(Duration.ofSeconds(5));
            assertEquals("HTTP/1.1 414 Request-URI Too Long", r.statusLine());
            assertTrue(r.body().contains("\"code\":\"uri_too_long\""), r.body());
        }
        try (RawClient c = client()) { // 8 KiB of target is within the limit
            RawClient.Response r = c.send("GET /v1/status/healthz?" + "a".repeat(8_000) + " HTTP/1.1\r\nHost: gw\r\n\r\n")
                    .read(Duration.ofSeconds(5));
            assertEquals(200, r.status(), r.head());
        }
    }

    @Test
    void methodNotAllowedSaysWhatIsAllowedAndHeadWorksOnStatusEndpoints() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, r.statusCode());
        assertEquals("POST", r.headers().firstValue("Allow").orElse(""));
        for (String path : List.of("/v1/status/healthz", "/v1/status/readyz")) {
            HttpResponse<String> h = HTTP.send(HttpRequest.newBuilder(gateway.uri(path))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, h.statusCode(), path);
            assertEquals("", h.body());
        }
    }

    static HttpResponse<String> chat(boolean stream) throws Exception {
        URI uri = gateway.uri("/v1/chat/completions");
        return HTTP.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString(chatBody())).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
