package dev.apirouter.sim;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulator's engine model (--engine): batching, prefix cache, slowness and vLLM's metrics, over real HTTP. */
@Timeout(30)
class VllmSimulatorEngineTest {

    private static HttpClient client;

    @BeforeAll
    static void startClient() {
        client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .proxy(HttpClient.Builder.NO_PROXY)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
    }

    @AfterAll
    static void stopClient() {
        client = null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    private static VllmSimulator.Options engine() {
        return new VllmSimulator.Options().servedModelNames("m1", "m1-alias").engine(true);
    }

    /** A prompt of {@code words} distinct words: 1 + words tokens for the simulator's tokenizer. */
    private static String words(String tag, int words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) sb.append(i == 0 ? "" : " ").append(tag).append(i);
        return sb.toString();
    }

    private static String completion(String prompt, int maxTokens, boolean stream) {
        return "{\"model\":\"m1\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream
                + "}";
    }

    private static HttpRequest request(VllmSimulator s, String path, String json) {
        return HttpRequest.newBuilder(s.uri(path))
                .timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build();
    }

    private static HttpResponse<String> post(VllmSimulator s, String path, String json)
            throws IOException, InterruptedException {
        return client.send(request(s, path, json), HttpResponse.BodyHandlers.ofString());
    }

    private static String metrics(VllmSimulator s) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(s.uri("/metrics")).timeout(Duration.ofSeconds(5)).GET().build();
        HttpResponse<String> resp = client.send(r, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode());
        return resp.body();
    }

    /** The value of the sample {@code name{engine="0",model_name="m1"}} in a /metrics text, or NaN if absent. */
    private static double sample(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{engine=\"0\",model_name=\"m1\"}") + " (\\S+)$")
                .matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** Milliseconds from sending a streamed completion to its first token event; reads the stream to the end. */
    private static double ttftMs(VllmSimulator s, String prompt, int maxTokens) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<InputStream> resp = client.send(request(s, "/v1/completions", completion(prompt, maxTokens, true)),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, resp.statusCode());
        double ttft = -1;
        int tokens = 0;
        boolean done = false;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.equals("data: [DONE]")) {
                    done = true;
                } else if (line.startsWith("data: {")) {
                    if (ttft < 0) ttft = (System.nanoTime() - t0) / 1e6;
                    tokens++;
                }
            }
        }
        assertTrue(done, "stream ended with [DONE]");
        assertEquals(maxTokens, tokens);
        return ttft;
    }

    private static double median(double... v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /** Sends a streamed request on a raw connection (to drop it later) and waits for the response headers. */
    private static Socket rawStream(VllmSimulator s, String json) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", s.port()), 2000);
        socket.setSoTimeout(5000);
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed before the headers: " + head);
            head.append((char) b);
        }
        assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
        return socket;
    }

    // ---------------------------------------------------------------------------------------------------------
    // tests

    @Test
    void aRepeatedLongPromptHitsThePrefixCacheAndGetsItsFirstTokenMuchSooner() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(engine().tokenDelayMs(2).prefillUsPerToken(200))) {
            String prompt = words("w", 1999); // 2000 tokens: one 400 ms prefill step (budget 2048)
            double first = ttftMs(s, prompt, 2);
            assertEquals(2000, s.prefixCacheQueries());
            assertEquals(0, s.prefixCacheHits());

            double second = ttftMs(s, prompt, 2);
            // 124 full blocks of 16 are cached; the last token of a fully cached prompt is computed anyway
            assertEquals(4000, s.prefixCacheQueries());
            assertEquals(124 * 16, s.prefixCacheHits());
            assertTrue(first >= 350, "first TTFT " + first + " ms covers the prefill");
            assertTrue(second < first / 4, "second TTFT " + second + " ms vs first " + first + " ms");

            String m = metrics(s);
            assertEquals(4000.0, sample(m, "vllm:prefix_cache_queries_total"));
            assertEquals(124 * 16.0, sample(m, "vllm:prefix_cache_hits_total"));
            assertEquals(0.0, sample(m, "vllm:kv_cache_usage_perc"), "nothing runs: cached blocks are free");
        }
    }

    @Test
    void maxNumSeqsBoundsTheBatchTheRestWaitsAndADisconnectFreesItsSlot() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(engine().tokenDelayMs(20).maxNumSeqs(2).maxTokens(150)
                .numGpuBlocks(100))) {
            List<Socket> first = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> rest = new ArrayList<>();
            try {
                first.add(rawStream(s, completion("first one", 150, true)));
                first.add(rawStream(s, completion("first two", 150, true)));
                await().atMost(Duration.ofSeconds(5)).until(() -> s.numRunning() == 2);
                for (int i = 0; i < 2; i++) {
                    rest.add(client.sendAsync(request(s, "/v1/completions", completion("later " + i, 3, true)),
                            HttpResponse.BodyHandlers.ofString()));
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> s.numWaiting() == 2);
                String m = metrics(s);
                assertEquals(2.0, sample(m, "vllm:num_requests_running"), m);
                assertEquals(2.0, sample(m, "vllm:num_requests_waiting"), m);
                // each running sequence holds ceil((3 + 150) / 16) = 10 of the 100 blocks
                assertEquals(0.2, sample(m, "vllm:kv_cache_usage_perc"), 1e-9, m);
                assertEquals(0.2, s.kvCacheUsage(), 1e-9);

                // the clients of the running streams go away: their sequences are aborted, the waiting ones run
                for (Socket sock : first) sock.close();
                for (CompletableFuture<HttpResponse<String>> f : rest) {
                    HttpResponse<String> resp = f.get();
                    assertEquals(200, resp.statusCode());
                    assertTrue(resp.body().endsWith("data: [DONE]\n\n"), resp.body());
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> s.cancelledStreams() == 2);
                await().atMost(Duration.ofSeconds(5)).until(() -> s.numRunning() == 0 && s.numWaiting() == 0);
                assertEquals(0.0, s.kvCacheUsage());
            } finally {
                for (Socket sock : first) sock.close();
            }
        }
    }

    @Test
    void aCacheTooSmallForTwoAlternatingPromptsEvictsTheOtherOneLeastRecentlyUsedFirst() throws Exception {
        // 150 words = 151 prompt tokens + 9 completion tokens = exactly the 10 blocks of the cache
        try (VllmSimulator s = VllmSimulator.start(engine().tokenDelayMs(1).numGpuBlocks(10).blockSize(16))) {
            String a = words("a", 150);
            String b = words("b", 150);
            for (String p : List.of(a, b, a, b)) {
                HttpResponse<String> r = post(s, "/v1/completions", completion(p, 9, false));
                assertEquals(200, r.statusCode(), r.body());
            }
            assertEquals(4 * 151, s.prefixCacheQueries());
            assertEquals(0, s.prefixCacheHits(), "each prompt evicted the other");

            assertEquals(200, post(s, "/v1/completions", completion(b, 9, false)).statusCode());
            assertEquals(9 * 16, s.prefixCacheHits(), "the same prompt again hits its 9 full blocks");

            // more blocks than the whole cache: never admissible, answered at once
            HttpResponse<String> tooBig = post(s, "/v1/completions", completion(a, 10, false));
            assertEquals(400, tooBig.statusCode());
            assertTrue(tooBig.body().contains("maximum context length is 160 tokens"), tooBig.body());
        }
    }

    @Test
    void setSlownessMakesEveryStepSlower() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(engine().stepMs(40).decodeUsPerSeq(0).prefillUsPerToken(0))) {
            ttftMs(s, "warm up", 1);
            double normal = median(ttftMs(s, "one", 1), ttftMs(s, "two", 1), ttftMs(s, "three", 1));
            s.setSlowness(4);
            double slow = median(ttftMs(s, "one", 1), ttftMs(s, "two", 1), ttftMs(s, "three", 1));
            double ratio = slow / normal;
            assertTrue(ratio > 3 && ratio < 5, "TTFT " + normal + " ms -> " + slow + " ms (x" + ratio + ")");
            assertTrue(slow >= 160, "slow TTFT " + slow);
        }
    }

    @Test
    void chatStreamsAndAnswersComeFromTheEngineWithTheUsualShape() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(engine().tokenDelayMs(1));
             VllmSimulator plain = VllmSimulator.start(new VllmSimulator.Options().servedModelNames("m1")
                     .tokenDelayMs(1))) {
            String chat = "{\"model\":\"m1-alias\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                    + "\"max_tokens\":4,\"n\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
            HttpResponse<String> r = post(s, "/v1/chat/completions", chat);
            assertEquals(200, r.statusCode());
            String body = r.body();
            assertEquals(2, body.split("\"role\":\"assistant\"", -1).length - 1, body);
            assertEquals(2, body.split("\"finish_reason\":\"length\"", -1).length - 1, body);
            assertTrue(body.contains("\"usage\":{\"prompt_tokens\":7,\"total_tokens\":15,\"completion_tokens\":8"), body);
            assertTrue(body.endsWith("data: [DONE]\n\n"), body);
            assertEquals(2 * 7, s.prefixCacheQueries(), "one sequence per choice");

            // non-stream: the same text as without the engine (deterministic for a prompt)
            String nonStream = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],\"max_tokens\":4}";
            HttpResponse<String> withEngine = post(s, "/v1/chat/completions", nonStream);
            HttpResponse<String> without = post(plain, "/v1/chat/completions", nonStream);
            assertEquals(200, withEngine.statusCode());
            String text = "\"content\":\"" + VllmSimulator.text(VllmSimulator.hash("user: Hello there\n"), 4) + "\"";
            assertTrue(withEngine.body().contains(text), withEngine.body());
            assertTrue(without.body().contains(text), without.body());
        }
    }

    @Test
    void theWaitingQueueIsBounded() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(engine().tokenDelayMs(20).maxNumSeqs(1).maxWaitingRequests(1))) {
            CompletableFuture<HttpResponse<String>> running = client.sendAsync(
                    request(s, "/v1/completions", completion("runs", 30, false)), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> s.numRunning() == 1);
            CompletableFuture<HttpResponse<String>> waiting = client.sendAsync(
                    request(s, "/v1/completions", completion("waits", 1, false)), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> s.numWaiting() == 1);
            HttpResponse<String> full = post(s, "/v1/completions", completion("refused", 1, false));
            assertEquals(503, full.statusCode());
            assertTrue(full.body().contains("\"type\":\"ServiceUnavailableError\""), full.body());
            assertEquals(200, running.get().statusCode());
            assertEquals(200, waiting.get().statusCode());
        }
    }

    private static final String[] NEW_NAMES = {
            "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
            "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"};
    private static final String[] LEGACY_NAMES = {
            "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
            "vllm:gpu_prefix_cache_queries_total", "vllm:gpu_prefix_cache_hits_total"};

    @Test
    void metricsUseVllmsNamesLabelsHelpAndTypeWithAndWithoutTheEngine() throws Exception {
        try (VllmSimulator withEngine = VllmSimulator.start(engine());
             VllmSimulator without = VllmSimulator.start(new VllmSimulator.Options().servedModelNames("m1"))) {
            for (VllmSimulator s : List.of(withEngine, without)) {
                String m = metrics(s);
                for (String name : NEW_NAMES) {
                    assertEquals(0.0, sample(m, name), name + " in\n" + m);
                }
                assertTrue(m.contains("# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
                        + "# TYPE vllm:kv_cache_usage_perc gauge\n"), m);
                // prometheus_client: a counter's HELP and TYPE name it without _total
                assertTrue(m.contains("# HELP vllm:prefix_cache_queries Prefix cache queries, in terms of number of "
                        + "queried tokens.\n# TYPE vllm:prefix_cache_queries counter\n"), m);
                assertTrue(m.contains("# HELP vllm:prefix_cache_hits Prefix cache hits, in terms of number of cached "
                        + "tokens.\n# TYPE vllm:prefix_cache_hits counter\n"), m);
                assertTrue(m.contains("# TYPE vllm:num_requests_running gauge\n"), m);
                assertTrue(m.contains("# TYPE vllm:num_requests_waiting gauge\n"), m);
                for (String legacy : List.of("vllm:gpu_cache_usage_perc", "vllm:gpu_prefix_cache")) {
                    assertFalse(m.contains(legacy), m);
                }
            }
        }
    }

    @Test
    void legacyMetricNamesAreThoseOfOlderVllm() throws Exception {
        try (VllmSimulator withEngine = VllmSimulator.start(engine().legacyMetricNames(true).tokenDelayMs(1));
             VllmSimulator without = VllmSimulator.start(new VllmSimulator.Options().servedModelNames("m1")
                     .legacyMetricNames(true))) {
            assertEquals(200, post(withEngine, "/v1/completions", completion("counted prompt", 1, false))
                    .statusCode());
            for (VllmSimulator s : List.of(withEngine, without)) {
                String m = metrics(s);
                for (String name : LEGACY_NAMES) {
                    assertFalse(Double.isNaN(sample(m, name)), name + " in\n" + m);
                }
                assertTrue(m.contains("# TYPE vllm:gpu_cache_usage_perc gauge\n"), m);
                assertTrue(m.contains("# TYPE vllm:gpu_prefix_cache_queries counter\n"), m);
                assertTrue(m.contains("# TYPE vllm:gpu_prefix_cache_hits counter\n"), m);
                for (String name : List.of("vllm:kv_cache_usage_perc", "vllm:prefix_cache_queries",
                        "vllm:prefix_cache_hits")) {
                    assertFalse(m.contains(name), name + " in\n" + m);
                }
            }
            assertEquals(3.0, sample(metrics(withEngine), "vllm:gpu_prefix_cache_queries_total"));
        }
    }

    @Test
    void flagsParse() {
        VllmSimulator.Options o = VllmSimulator.parseArgs("--engine", "--max-num-seqs", "4",
                "--max-num-batched-tokens=512", "--step-ms", "2.5", "--decode-us-per-seq", "50",
                "--prefill-us-per-token", "10", "--slowness", "2", "--block-size", "32", "--num-gpu-blocks", "64",
                "--max-waiting-requests", "9", "--legacy-metric-names");
        assertTrue(o.engine());
        assertTrue(o.legacyMetricNames());
        assertEquals(4, o.maxNumSeqs());
        assertEquals(512, o.maxNumBatchedTokens());
        assertEquals(2.5, o.effectiveStepMs());
        assertEquals(50.0, o.decodeUsPerSeq());
        assertEquals(10.0, o.prefillUsPerToken());
        assertEquals(2.0, o.slowness());
        assertEquals(32, o.blockSize());
        assertEquals(64, o.numGpuBlocks());
        assertEquals(9, o.maxWaitingRequests());
        VllmSimulator.Options d = VllmSimulator.parseArgs("--token-delay-ms", "7");
        assertFalse(d.engine());
        assertEquals(7.0, d.effectiveStepMs(), "the step defaults to the token delay");
        assertEquals(16, d.maxNumSeqs());
        assertEquals(2048, d.maxNumBatchedTokens());
        assertEquals(500.0, d.decodeUsPerSeq());
        assertEquals(100.0, d.prefillUsPerToken());
        assertEquals(1.0, d.slowness());
        assertEquals(16, d.blockSize());
        assertEquals(2048, d.numGpuBlocks());
        assertEquals(10_000, d.maxWaitingRequests());
    }
}
