package dev.apirouter.e2e;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.FaultyServers;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.Resources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM on the real process: new requests are refused with 503 shutting_down, in-flight ones drain for up to
 * {@code ROUTER_SHUTDOWN_GRACE_MS}, the clean-up runs, and the process exits within the grace plus 3 s — also when
 * the trace collector hangs.
 */
@Timeout(120)
class ShutdownIT {
    static final String UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct";
    static final String KEY = "sk-shutdown-test";
    static final long GRACE_MS = 3000;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static Path policyFile;
    static FaultyServers.Silent hungCollector;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().port(0).servedModelNames(UPSTREAM).tokenDelayMs(1));
        policyFile = dir.resolve("policy.yaml");
        Files.writeString(policyFile, "models:\n  chat:\n    upstreamModel: " + UPSTREAM + "\n    backends: [{url: 'http://127.0.0.1:"
                + sim.port() + "'}]\nkeys:\n  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: s, models: [\"*\"]}\n");
        hungCollector = new FaultyServers.Silent();
    }

    @AfterAll
    static void stop() throws Exception {
        Resources.close(hungCollector, sim);
    }

    static GatewayProcess gateway(String otlpEndpoint) throws InterruptedException {
        GatewayProcess gw = GatewayProcess.start(GatewayProcess.env(
                "ROUTER_POLICY_FILE", policyFile.toString(),
                "ROUTER_SHUTDOWN_GRACE_MS", Long.toString(GRACE_MS),
                "OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint));
        gw.awaitReady(Duration.ofSeconds(40));
        return gw;
    }

    /** A stream in flight: {@code started} once its first event arrived, {@code events} when it ended. */
    record Stream(CountDownLatch started, CompletableFuture<List<String>> events) {
        void awaitStarted() throws InterruptedException {
            assertTrue(started.await(20, TimeUnit.SECONDS), "the stream never started");
        }
    }

    /** A stream of {@code tokens} tokens, {@code delayMs} apart. */
    static Stream stream(GatewayProcess gw, int tokens, int delayMs) {
        CountDownLatch started = new CountDownLatch(1);
        HttpRequest request = HttpRequest.newBuilder(gw.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .header(VllmSimulator.HEADER_TOKEN_DELAY, Integer.toString(delayMs))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                        + "\"max_tokens\":" + tokens + ",\"stream\":true}")).build();
        return new Stream(started, CompletableFuture.supplyAsync(() -> {
            List<String> events = new ArrayList<>();
            try {
                HttpResponse<InputStream> r = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (line.startsWith("data: ")) {
                            events.add(line);
                            started.countDown();
                        }
                    }
                }
            } catch (Exception e) {
                events.add("error: " + e);
            }
            started.countDown();
            return events;
        }));
    }

    static HttpResponse<String> chat(GatewayProcess gw) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gw.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"chat\",\"messages\":[],\"max_tokens\":1}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anInFlightStreamFinishesNewRequestsAreRefusedAndTheProcessExits() throws Exception {
        try (GatewayProcess gw = gateway("")) {
            Stream inFlight = stream(gw, 15, 100); // ~1.5 s, well within the grace
            inFlight.awaitStarted();
            long t0 = System.nanoTime();
            gw.terminateAsync();
            // Camel suspends the route consumers, then waits for the in-flight exchange
            assertNotNull(gw.awaitLine(l -> l.contains("inflight and pending exchanges"), Duration.ofSeconds(5)), gw.output());
            HttpResponse<String> refused = chat(gw);
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("shutting_down"), refused.body());
            List<String> events = inFlight.events().get(20, TimeUnit.SECONDS);
            assertEquals("data: [DONE]", events.get(events.size() - 1), "the in-flight stream must complete: " + events);
            assertTrue(gw.waitFor(Duration.ofMillis(GRACE_MS + 3000)), "still running " + (GRACE_MS + 3000) + " ms after SIGTERM");
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms <= GRACE_MS + 3000, "exit after " + ms + " ms");
            assertNotNull(gw.awaitLine(l -> l.contains("api-router stopped"), Duration.ofSeconds(2)), gw.output());
        }
    }

    @Test
    void aStreamLongerThanTheGraceIsCutAndTheProcessExitsWithinGracePlus3sEvenWithAHungCollector() throws Exception {
        try (GatewayProcess gw = gateway("http://127.0.0.1:" + hungCollector.port())) {
            assertNotNull(gw.awaitLine(l -> l.contains("Tracing on"), Duration.ofSeconds(20)), gw.output());
            for (int i = 0; i < 5; i++) {
                assertEquals(200, chat(gw).statusCode()); // spans queued for a collector that never answers
            }
            Stream inFlight = stream(gw, 200, 100); // ~20 s, far beyond the grace
            inFlight.awaitStarted();
            Duration exit = gw.terminate(Duration.ofMillis(GRACE_MS + 3000));
            assertNotNull(exit, "still running " + (GRACE_MS + 3000) + " ms after SIGTERM:\n" + gw.output());
            List<String> events = inFlight.events().get(10, TimeUnit.SECONDS);
            assertTrue(events.stream().noneMatch(e -> e.contains("[DONE]")), "the stream cannot have completed: " + events);
            assertTrue(hungCollector.accepted() > 0, "the exporter never connected to the hung collector");
            String output = gw.output();
            assertTrue(output.contains("api-router stopped"), output);
            System.out.println("hung collector: SIGTERM to exit " + exit.toMillis() + " ms (grace " + GRACE_MS + " ms)");
        }
    }

    @Test
    void anIdleGatewayExitsPromptly() throws Exception {
        try (GatewayProcess gw = gateway("")) {
            Duration exit = gw.terminate(Duration.ofMillis(GRACE_MS + 3000));
            assertNotNull(exit, gw.output());
            assertTrue(exit.toMillis() < 3000, "idle exit took " + exit.toMillis() + " ms");
            assertTrue(gw.output().contains("api-router stopped"), gw.output());
            System.out.println("idle: SIGTERM to exit " + exit.toMillis() + " ms");
        }
    }
}
