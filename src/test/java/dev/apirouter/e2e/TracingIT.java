package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.OtlpReceiver;
import dev.apirouter.testing.OtlpReceiver.ReceivedSpan;
import dev.apirouter.testing.Resources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tracing end to end: the gateway process exports to an OTLP/HTTP receiver in the test; spans must arrive with the
 * gateway's attributes and correct parent/child links, and the backend must get the {@code traceparent} of an
 * exported span of the same trace.
 */
@Timeout(90)
class TracingIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY = "sk-tracing-test";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final int SERVER = 2;
    static final int CLIENT = 3;

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static OtlpReceiver collector;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(1));
        collector = OtlpReceiver.start();
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n  chat:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: 'http://127.0.0.1:"
                + sim.port() + "'}]\nkeys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: t, models: [\"*\"]}\n");
        gateway = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policy.toString(),
                // the bare host:port form of the outage: taken as http://
                "OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:" + collector.port(),
                "OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=a%20b,x-tenant=t1",
                "OTEL_SERVICE_NAME", "router-under-test"));
        gateway.awaitReady(Duration.ofSeconds(30));
        assertNotNull(gateway.awaitLine(l -> l.contains("Tracing on"), Duration.ofSeconds(20)),
                "the SDK never became ready:\n" + gateway.output());
    }

    @AfterAll
    static void stop() throws Exception {
        Resources.close(gateway, collector, sim);
    }

    static HttpResponse<String> chat(String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static List<ReceivedSpan> trace(String traceId, int atLeast) throws InterruptedException {
        return collector.await(all -> all.stream().filter(s -> s.traceId().equals(traceId)).count() >= atLeast
                        && all.stream().anyMatch(s -> s.traceId().equals(traceId) && s.kind() == SERVER && s.number("http.response.status_code") != null),
                Duration.ofSeconds(15)).stream().filter(s -> s.traceId().equals(traceId)).toList();
    }

    static ReceivedSpan root(List<ReceivedSpan> spans) {
        Set<String> ids = spans.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
        List<ReceivedSpan> roots = spans.stream().filter(s -> !ids.contains(s.parentSpanId())).toList();
        assertEquals(1, roots.size(), "one span without a parent in the trace: " + spans);
        return roots.get(0);
    }

    /** Every span's parent chain reaches the root. */
    static void assertConnected(List<ReceivedSpan> spans, ReceivedSpan root) {
        Map<String, ReceivedSpan> byId = spans.stream().collect(Collectors.toMap(ReceivedSpan::spanId, Function.identity()));
        for (ReceivedSpan s : spans) {
            ReceivedSpan at = s;
            Set<String> seen = new HashSet<>();
            while (at != root) {
                assertTrue(seen.add(at.spanId()), "cycle at " + at);
                at = byId.get(at.parentSpanId());
                assertNotNull(at, "span " + s.name() + " is not connected to the root: " + spans);
            }
        }
    }

    @Test
    void aRequestWithTraceparentBecomesAConnectedTraceAndTheBackendGetsItsClientSpan() throws Exception {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String clientSpan = "00f067aa0ba902b7";
        int before = sim.requests().size();
        HttpResponse<String> r = chat("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}",
                Map.of("traceparent", "00-" + traceId + "-" + clientSpan + "-01"));
        assertEquals(200, r.statusCode(), r.body());

        List<ReceivedSpan> spans = trace(traceId, 2);
        ReceivedSpan server = spans.stream().filter(s -> s.kind() == SERVER && s.parentSpanId().equals(clientSpan))
                .findFirst().orElseThrow(() -> new AssertionError("no server span child of the client's span: " + spans));
        assertEquals("chat-completions", server.string("camel.route.id"));
        assertEquals("chat", server.string("apirouter.model"));
        assertEquals("http://127.0.0.1:" + sim.port(), server.string("apirouter.backend"));
        assertEquals(200L, server.number("http.response.status_code"));
        assertEquals(Boolean.FALSE, server.attributes().get("apirouter.streamed"));
        assertEquals(UPSTREAM, server.string("gen_ai.response.model"));
        assertTrue(server.number("gen_ai.usage.input_tokens") > 0, server.toString());
        assertEquals(4L, server.number("gen_ai.usage.output_tokens"));
        assertEquals("router-under-test", server.resource().get("service.name"));

        ReceivedSpan upstream = spans.stream().filter(s -> s.kind() == CLIENT && "chat".equals(s.string("gen_ai.operation.name")))
                .findFirst().orElseThrow(() -> new AssertionError("no client span: " + spans));
        assertEquals("chat " + UPSTREAM, upstream.name());
        assertEquals(UPSTREAM, upstream.string("gen_ai.request.model"));
        assertEquals("127.0.0.1", upstream.string("server.address"));
        assertEquals((long) sim.port(), upstream.number("server.port"));
        assertEquals(200L, upstream.number("http.response.status_code"));
        assertEquals(4L, upstream.number("gen_ai.usage.output_tokens"));

        // the parent chain: client span -> ... -> server span (child of the caller's span)
        Set<String> ids = spans.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
        for (ReceivedSpan s : spans) {
            if (s != server) {
                assertTrue(ids.contains(s.parentSpanId()), "dangling parent of " + s.name() + ": " + spans);
            }
        }
        Map<String, ReceivedSpan> byId = spans.stream().collect(Collectors.toMap(ReceivedSpan::spanId, Function.identity()));
        ReceivedSpan at = upstream;
        while (at != server) {
            at = byId.get(at.parentSpanId());
            assertNotNull(at, "client span not under the server span: " + spans);
        }

        String seen = sim.requestsSince(before).get(0).header("traceparent");
        assertEquals("00-" + traceId + "-" + upstream.spanId() + "-01", seen, "the backend gets the client span's context");
    }

    @Test
    void aStreamWithIncludeUsageCarriesTokenUsage() throws Exception {
        int before = sim.requests().size();
        HttpResponse<String> r = chat("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}", Map.of());
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("data: [DONE]"));
        String traceparent = sim.requestsSince(before).get(0).header("traceparent");
        assertNotNull(traceparent, "no traceparent sent upstream");
        String traceId = traceparent.split("-")[1];
        String upstreamSpanId = traceparent.split("-")[2];

        List<ReceivedSpan> spans = trace(traceId, 2);
        ReceivedSpan root = root(spans);
        assertConnected(spans, root);
        assertEquals(SERVER, root.kind());
        assertEquals("", root.parentSpanId(), "no traceparent from the client: a new trace");
        assertEquals(Boolean.TRUE, root.attributes().get("apirouter.streamed"));
        assertEquals(6L, root.number("gen_ai.usage.output_tokens"));
        assertTrue(root.number("gen_ai.usage.input_tokens") > 0);
        ReceivedSpan upstream = spans.stream().filter(s -> s.spanId().equals(upstreamSpanId)).findFirst()
                .orElseThrow(() -> new AssertionError("the span sent upstream was not exported: " + spans));
        assertEquals(CLIENT, upstream.kind());
        assertEquals(Boolean.TRUE, upstream.attributes().get("apirouter.streamed"));
    }

    @Test
    void concurrentRequestsWithoutTraceparentEachStartTheirOwnTrace() throws Exception {
        int before = sim.requests().size();
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> calls = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            calls.add(HTTP.sendAsync(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                    .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"n" + i + "\"}],\"max_tokens\":3"
                                    + (i % 2 == 0 ? ",\"stream\":true" : "") + "}")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (var c : calls) {
            assertEquals(200, c.get().statusCode());
        }
        Set<String> traces = new HashSet<>();
        for (VllmSimulator.RecordedRequest seen : sim.requests().subList(before, sim.requests().size())) {
            if (seen.path().equals("/v1/chat/completions")) { // not a health probe (traced too)
                traces.add(seen.header("traceparent").split("-")[1]);
            }
        }
        assertEquals(8, traces.size(), "each request its own trace");
        for (String traceId : traces) {
            List<ReceivedSpan> spans = trace(traceId, 2);
            ReceivedSpan root = root(spans);
            assertConnected(spans, root);
            assertEquals("", root.parentSpanId());
            assertEquals(SERVER, root.kind());
        }
    }

    @Test
    void gatewayErrorsAreSpansToo() throws Exception {
        String traceId = "0af7651916cd43dd8448eb211c80319c";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                .header("traceparent", "00-" + traceId + "-b7ad6b7169203331-01")
                .header("Authorization", "Bearer sk-wrong").POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, r.statusCode());
        List<ReceivedSpan> spans = trace(traceId, 1);
        Optional<ReceivedSpan> server = spans.stream().filter(s -> s.kind() == SERVER).findFirst();
        assertTrue(server.isPresent(), spans.toString());
        assertEquals(401L, server.get().number("http.response.status_code"));
        assertEquals("chat-completions", server.get().string("camel.route.id"));
        assertFalse(r.headers().firstValue("traceparent").isPresent(), "no tracing headers leak to the client");
    }

    @Test
    void theCollectorGetsTheConfiguredHeaders() throws Exception {
        collector.await(all -> !all.isEmpty(), Duration.ofSeconds(10));
        if (collector.requestHeaders().isEmpty()) {
            chat("{\"model\":\"chat\",\"messages\":[],\"max_tokens\":1}", Map.of());
            collector.await(all -> !all.isEmpty(), Duration.ofSeconds(10));
        }
        Map<String, String> headers = collector.requestHeaders().get(0);
        assertEquals("a b", headers.get("x-collector-token"));
        assertEquals("t1", headers.get("x-tenant"));
    }
}
