package dev.apirouter.sim;

import com.sun.management.UnixOperatingSystemMXBean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Unit tests of the vLLM simulator (tools/vllm-sim), against 127.0.0.1 only. */
@Timeout(30)
class VllmSimulatorTest {

    private static final String MODEL = VllmSimulator.DEFAULT_MODEL;

    private static VllmSimulator sim;
    private static HttpClient client;

    @BeforeAll
    static void startSimulator() throws IOException {
        sim = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(5));
        client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .proxy(HttpClient.Builder.NO_PROXY)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
    }

    @AfterAll
    static void stopSimulator() {
        if (sim != null) sim.close();
    }

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.clearSimHeaders();
        sim.setHealthStatus(200);
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    private static HttpResponse<String> post(VllmSimulator s, String path, String json, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (headers.length > 0) b.headers(headers);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String json, String... headers)
            throws IOException, InterruptedException {
        return post(sim, path, json, headers);
    }

    private static HttpResponse<String> get(VllmSimulator s, String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(s.uri(path)).timeout(Duration.ofSeconds(10)).GET().build();
        return client.send(r, HttpResponse.BodyHandlers.ofString());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(String text) {
        return (Map<String, Object>) VllmSimulator.Json.parse(text);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    private static long num(Object o) {
        return ((Number) o).longValue();
    }

    /** The JSON payloads of the {@code data:} lines of an SSE body, {@code [DONE]} included as a plain string. */
    private static List<String> events(String sse) {
        List<String> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) out.add(line.substring(6));
        }
        return out;
    }

    private static String chatBody(int maxTokens, boolean stream) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hello there, simulator\"}],\"max_tokens\":" + maxTokens
                + ",\"stream\":" + stream + "}";
    }

    /** A raw HTTP/1.1 connection: lets a test read part of a stream and then drop the connection. */
    private static final class RawStream implements AutoCloseable {
        final Socket socket = new Socket();
        final StringBuilder received = new StringBuilder();
        InputStream in;

        RawStream(VllmSimulator s, String path, String json, String... headerLines) throws IOException {
            socket.connect(new InetSocketAddress("127.0.0.1", s.port()), 2000);
            socket.setSoTimeout(5000);
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            StringBuilder req = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n");
            for (String h : headerLines) req.append(h).append("\r\n");
            req.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            in = socket.getInputStream();
        }

        /** Complete SSE events received so far (each ends with a blank line). */
        int eventCount() {
            int n = 0;
            for (int i = received.indexOf("\n\n"); i >= 0; i = received.indexOf("\n\n", i + 2)) n++;
            return n;
        }

        /** Reads until {@code n} complete events arrived (bounded by the socket timeout per read). */
        void awaitEvents(int n) throws IOException {
            byte[] buf = new byte[8192];
            for (int reads = 0; eventCount() < n; reads++) {
                if (reads > 100_000) throw new IllegalStateException("too many reads");
                int r = in.read(buf);
                if (r < 0) throw new IOException("connection closed after: " + received);
                received.append(new String(buf, 0, r, StandardCharsets.UTF_8));
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // chat completions

    @Test
    void nonStreamChatHasOpenAiShapeAndUsage() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chatBody(7, false));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        Map<String, Object> body = json(r.body());
        assertTrue(((String) body.get("id")).startsWith("chatcmpl-"));
        assertEquals("chat.completion", body.get("object"));
        assertTrue(num(body.get("created")) > 1_600_000_000L);
        assertEquals(MODEL, body.get("model"));
        List<Object> choices = list(body.get("choices"));
        assertEquals(1, choices.size());
        Map<String, Object> choice = obj(choices.get(0));
        assertEquals(0L, choice.get("index"));
        assertEquals("length", choice.get("finish_reason"));
        Map<String, Object> message = obj(choice.get("message"));
        assertEquals("assistant", message.get("role"));
        String content = (String) message.get("content");
        assertEquals(7, content.split(" ").length, content);
        Map<String, Object> usage = obj(body.get("usage"));
        assertEquals(7L, usage.get("completion_tokens"));
        long prompt = num(usage.get("prompt_tokens"));
        assertTrue(prompt > 0);
        assertEquals(prompt + 7, num(usage.get("total_tokens")));

        // deterministic: the same prompt gives the same text
        Map<String, Object> again = json(post("/v1/chat/completions", chatBody(7, false)).body());
        assertEquals(content, obj(obj(list(again.get("choices")).get(0)).get("message")).get("content"));
        assertNotEquals(body.get("id"), again.get("id"));
    }

    @Test
    void maxTokensDefaultsAndMaxCompletionTokensWins() throws Exception {
        String noMax = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        Map<String, Object> body = json(post("/v1/chat/completions", noMax).body());
        assertEquals(16L, obj(body.get("usage")).get("completion_tokens"));
        assertEquals(MODEL, body.get("model"), "a request naming no model is served by the model");

        String both = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":9,"
                + "\"max_completion_tokens\":3}";
        assertEquals(3L, obj(json(post("/v1/chat/completions", both).body()).get("usage")).get("completion_tokens"));

        HttpResponse<String> zero = post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":0}");
        assertEquals(400, zero.statusCode());
        HttpResponse<String> huge = post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":999999999}");
        assertEquals(400, huge.statusCode());
        assertTrue(huge.body().contains("maximum context length"), huge.body());
    }

    @Test
    void streamChunksArriveSpreadOverTimeAndEndWithDone() throws Exception {
        int tokens = 5;
        long delay = 60;
        HttpRequest req = HttpRequest.newBuilder(sim.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .header(VllmSimulator.HEADER_TOKEN_DELAY, String.valueOf(delay))
                .POST(HttpRequest.BodyPublishers.ofString(chatBody(tokens, true)))
                .build();
        long start = System.nanoTime();
        HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> data = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            for (int i = 0; i < 1000 && (line = reader.readLine()) != null; i++) {
                if (line.startsWith("data: ")) {
                    data.add(line.substring(6));
                    arrivals.add((System.nanoTime() - start) / 1_000_000);
                }
            }
        }
        // role chunk + one chunk per token + [DONE]
        assertEquals(tokens + 2, data.size(), data.toString());
        assertEquals("[DONE]", data.get(data.size() - 1));
        long first = arrivals.get(0);
        long lastToken = arrivals.get(arrivals.size() - 2);
        assertTrue(lastToken - first >= (tokens - 1) * delay, "events not spread over time: " + arrivals);

        Map<String, Object> roleChunk = json(data.get(0));
        assertEquals("chat.completion.chunk", roleChunk.get("object"));
        Map<String, Object> delta0 = obj(obj(list(roleChunk.get("choices")).get(0)).get("delta"));
        assertEquals("assistant", delta0.get("role"));
        StringBuilder text = new StringBuilder();
        String id = (String) roleChunk.get("id");
        for (int i = 1; i <= tokens; i++) {
            Map<String, Object> chunk = json(data.get(i));
            assertEquals(id, chunk.get("id"));
            Map<String, Object> choice = obj(list(chunk.get("choices")).get(0));
            assertNull(obj(choice.get("delta")).get("role"));
            text.append(obj(choice.get("delta")).get("content"));
            assertEquals(i == tokens ? "length" : null, choice.get("finish_reason"));
            assertFalse(chunk.containsKey("usage"));
        }
        // the stream's text equals the non-stream answer to the same prompt
        Map<String, Object> full = json(post("/v1/chat/completions", chatBody(tokens, false)).body());
        assertEquals(obj(obj(list(full.get("choices")).get(0)).get("message")).get("content"), text.toString());
        assertTrue(sim.awaitCompletedStreams(1, Duration.ofSeconds(5)));
        assertEquals(0, sim.cancelledStreams());
    }

    @Test
    void streamIncludeUsageAddsFinalUsageChunk() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}],\"max_tokens\":3,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        List<String> data = events(post("/v1/chat/completions", body).body());
        assertEquals(3 + 3, data.size(), data.toString()); // role, 3 tokens, usage, [DONE]
        Map<String, Object> usageChunk = json(data.get(4));
        assertTrue(list(usageChunk.get("choices")).isEmpty());
        Map<String, Object> usage = obj(usageChunk.get("usage"));
        assertEquals(3L, usage.get("completion_tokens"));
        assertEquals(num(usage.get("prompt_tokens")) + 3, num(usage.get("total_tokens")));
        assertEquals("[DONE]", data.get(5));

        String continuous = body.replace("\"include_usage\":true", "\"include_usage\":true,\"continuous_usage_stats\":true");
        List<String> c = events(post("/v1/chat/completions", continuous).body());
        assertEquals(2L, obj(json(c.get(2)).get("usage")).get("completion_tokens"));

        HttpResponse<String> notStreaming = post("/v1/chat/completions",
                body.replace("\"stream\":true", "\"stream\":false"));
        assertEquals(400, notStreaming.statusCode());
    }

    @Test
    void severalChoicesWithN() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"two please\"}],\"max_tokens\":2,\"n\":2}";
        Map<String, Object> r = json(post("/v1/chat/completions", body).body());
        List<Object> choices = list(r.get("choices"));
        assertEquals(2, choices.size());
        assertEquals(1L, obj(choices.get(1)).get("index"));
        assertEquals(4L, obj(r.get("usage")).get("completion_tokens"));
        String streamBody = "{\"messages\":[{\"role\":\"user\",\"content\":\"two please\"}],\"max_tokens\":2,"
                + "\"n\":2,\"stream\":true}";
        List<String> data = events(post("/v1/chat/completions", streamBody).body());
        assertEquals(2 + 2 * 2 + 1, data.size(), data.toString()); // 2 role chunks, 2 tokens x 2 choices, [DONE]
        assertEquals(1L, obj(list(json(data.get(1)).get("choices")).get(0)).get("index"));
        assertEquals(1L, obj(list(json(data.get(5)).get("choices")).get(0)).get("index"));
    }

    // ---------------------------------------------------------------------------------------------------------
    // completions

    @Test
    void completionsNonStreamAndStream() throws Exception {
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":4}";
        HttpResponse<String> r = post("/v1/completions", body);
        assertEquals(200, r.statusCode());
        Map<String, Object> full = json(r.body());
        assertTrue(((String) full.get("id")).startsWith("cmpl-"));
        assertEquals("text_completion", full.get("object"));
        Map<String, Object> choice = obj(list(full.get("choices")).get(0));
        String text = (String) choice.get("text");
        assertEquals(4, text.split(" ").length);
        assertEquals("length", choice.get("finish_reason"));
        Map<String, Object> usage = obj(full.get("usage"));
        assertEquals(5L, usage.get("prompt_tokens")); // 4 words + BOS
        assertEquals(4L, usage.get("completion_tokens"));
        assertEquals(9L, usage.get("total_tokens"));

        String streamBody = body.replace("}", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        HttpResponse<String> s = post("/v1/completions", streamBody);
        assertTrue(s.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> data = events(s.body());
        assertEquals(4 + 2, data.size(), data.toString()); // 4 tokens (no role chunk), usage, [DONE]
        StringBuilder streamed = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            Map<String, Object> chunk = json(data.get(i));
            assertEquals("text_completion", chunk.get("object"));
            streamed.append(obj(list(chunk.get("choices")).get(0)).get("text"));
        }
        assertEquals(text, streamed.toString());
        assertEquals(4L, obj(json(data.get(4)).get("usage")).get("completion_tokens"));
        assertEquals("[DONE]", data.get(5));
    }

    @Test
    void completionsAcceptPromptListsAndTokenIds() throws Exception {
        Map<String, Object> batch = json(post("/v1/completions", "{\"prompt\":[\"a b\",\"c\"],\"max_tokens\":2}").body());
        assertEquals(2, list(batch.get("choices")).size());
        assertEquals(3L + 2L, obj(batch.get("usage")).get("prompt_tokens"));
        Map<String, Object> ids = json(post("/v1/completions", "{\"prompt\":[1,2,3],\"max_tokens\":1}").body());
        assertEquals(3L, obj(ids.get("usage")).get("prompt_tokens"));
        assertEquals(400, post("/v1/completions", "{\"max_tokens\":1}").statusCode());
    }

    // ---------------------------------------------------------------------------------------------------------
    // embeddings, models, health

    @Test
    void embeddingsAreDeterministicUnitVectors() throws Exception {
        Map<String, Object> a = json(post("/v1/embeddings", "{\"model\":\"" + MODEL + "\",\"input\":\"hello world\"}").body());
        assertEquals("list", a.get("object"));
        List<Object> data = list(a.get("data"));
        assertEquals(1, data.size());
        assertEquals("embedding", obj(data.get(0)).get("object"));
        List<Object> v = list(obj(data.get(0)).get("embedding"));
        assertEquals(16, v.size());
        double norm = 0;
        for (Object x : v) norm += ((Number) x).doubleValue() * ((Number) x).doubleValue();
        assertEquals(1.0, Math.sqrt(norm), 1e-5);
        assertEquals(3L, obj(a.get("usage")).get("prompt_tokens"));

        Map<String, Object> b = json(post("/v1/embeddings", "{\"input\":[\"other\",\"hello world\"]}").body());
        List<Object> bd = list(b.get("data"));
        assertEquals(2, bd.size());
        assertEquals(1L, obj(bd.get(1)).get("index"));
        assertEquals(v, obj(bd.get(1)).get("embedding"), "same input, same vector");
        assertNotEquals(v, obj(bd.get(0)).get("embedding"), "other input, other vector");

        Map<String, Object> tokens = json(post("/v1/embeddings", "{\"input\":[5,6,7],\"dimensions\":8}").body());
        assertEquals(8, list(obj(list(tokens.get("data")).get(0)).get("embedding")).size());

        Map<String, Object> b64 = json(post("/v1/embeddings",
                "{\"input\":\"hello world\",\"encoding_format\":\"base64\"}").body());
        byte[] raw = Base64.getDecoder().decode((String) obj(list(b64.get("data")).get(0)).get("embedding"));
        ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[raw.length / 4];
        for (int i = 0; i < decoded.length; i++) decoded[i] = buf.getFloat();
        float[] expected = new float[v.size()];
        for (int i = 0; i < expected.length; i++) expected[i] = ((Number) v.get(i)).floatValue();
        assertArrayEquals(expected, decoded);

        assertEquals(400, post("/v1/embeddings", "{\"input\":[]}").statusCode());
    }

    @Test
    void embeddingDimensionIsConfigurable() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().embeddingDim(5))) {
            Map<String, Object> r = json(post(s, "/v1/embeddings", "{\"input\":\"x\"}").body());
            assertEquals(5, list(obj(list(r.get("data")).get(0)).get("embedding")).size());
        }
    }

    @Test
    void modelsListsServedNames() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().servedModelNames("m-one", "m-two"))) {
            HttpResponse<String> r = get(s, "/v1/models");
            assertEquals(200, r.statusCode());
            Map<String, Object> body = json(r.body());
            assertEquals("list", body.get("object"));
            List<Object> data = list(body.get("data"));
            assertEquals(2, data.size());
            assertEquals("m-one", obj(data.get(0)).get("id"));
            assertEquals("m-two", obj(data.get(1)).get("id"));
            assertEquals("model", obj(data.get(0)).get("object"));
            assertEquals("vllm", obj(data.get(0)).get("owned_by"));
            // an alias is served, and reported under the first name as vLLM does
            Map<String, Object> chat = json(post(s, "/v1/chat/completions",
                    "{\"model\":\"m-two\",\"messages\":[],\"max_tokens\":1}").body());
            assertEquals("m-one", chat.get("model"));
        }
        Map<String, Object> defaults = json(get(sim, "/v1/models").body());
        assertEquals(MODEL, obj(list(defaults.get("data")).get(0)).get("id"));
    }

    @Test
    void healthIs200WithEmptyBodyAndCanBeMadeUnhealthy() throws Exception {
        HttpResponse<String> r = get(sim, "/health");
        assertEquals(200, r.statusCode());
        assertEquals("", r.body());
        sim.setHealthStatus(503);
        assertEquals(503, get(sim, "/health").statusCode());
    }

    // ---------------------------------------------------------------------------------------------------------
    // errors

    @Test
    void unknownModelGetsVllm404() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(404, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        Map<String, Object> error = obj(json(r.body()).get("error"));
        assertEquals("The model `gpt-9` does not exist.", error.get("message"));
        assertEquals("NotFoundError", error.get("type"));
        assertTrue(error.containsKey("param"));
        assertNull(error.get("param"));
        assertEquals(404L, error.get("code"));
        assertEquals(404, post("/v1/completions", "{\"model\":\"gpt-9\",\"prompt\":\"x\"}").statusCode());
        assertEquals(404, post("/v1/embeddings", "{\"model\":\"gpt-9\",\"input\":\"x\"}").statusCode());
    }

    @Test
    void legacyErrorFormatIsFlat() throws Exception {
        VllmSimulator.Options o = new VllmSimulator.Options().errorFormat(VllmSimulator.ErrorFormat.LEGACY);
        try (VllmSimulator s = VllmSimulator.start(o)) {
            HttpResponse<String> r = post(s, "/v1/completions", "{\"model\":\"nope\",\"prompt\":\"x\"}");
            assertEquals(404, r.statusCode());
            Map<String, Object> body = json(r.body());
            assertEquals("error", body.get("object"));
            assertEquals("The model `nope` does not exist.", body.get("message"));
            assertEquals("NotFoundError", body.get("type"));
            assertNull(body.get("param"));
            assertEquals(404L, body.get("code"));
        }
    }

    @Test
    void apiKeyGuardsTheApiPathsLikeVllm() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(0).apiKey("sk-sim-1"))) {
            String body = chatBody(2, false);
            HttpResponse<String> none = post(s, "/v1/chat/completions", body);
            assertEquals(401, none.statusCode());
            assertEquals("{\"error\":\"Unauthorized\"}", none.body(), "vLLM's AuthenticationMiddleware body");
            assertTrue(none.headers().firstValue("content-type").orElse("").startsWith("application/json"));
            assertEquals(401, post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-sim-2").statusCode());
            assertEquals(401, post(s, "/v1/chat/completions", body, "Authorization", "Basic sk-sim-1").statusCode());
            assertEquals(401, post(s, "/v1/chat/completions", body, "Authorization", "Bearer  sk-sim-1").statusCode());
            assertEquals(401, get(s, "/v1/models").statusCode());

            assertEquals(200, post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-sim-1").statusCode());
            assertEquals(200, post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}",
                    "Authorization", "bearer sk-sim-1").statusCode(), "the scheme is case-insensitive");
            assertEquals(200, get(s, "/health").statusCode(), "/health needs no key");
            assertEquals(200, get(s, "/version").statusCode());
            assertEquals(200, get(s, "/metrics").statusCode());

            s.setApiKey("sk-sim-2"); // a rotation
            assertEquals(401, post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-sim-1").statusCode());
            assertEquals(200, post(s, "/v1/chat/completions", body, "Authorization", "Bearer sk-sim-2").statusCode());
            s.setApiKey(null);
            assertEquals(200, post(s, "/v1/chat/completions", body).statusCode());
        }
        assertEquals("k", VllmSimulator.parseArgs("--api-key", "k").apiKey());
        assertEquals("k", VllmSimulator.parseArgs("--api-key=k").apiKey());
        assertNull(VllmSimulator.parseArgs().apiKey());
        assertThrows(IllegalArgumentException.class, () -> VllmSimulator.parseArgs("--api-key="));
    }

    @Test
    void badJsonGets400AndUnknownPathsFastApiErrors() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\": [");
        assertEquals(400, r.statusCode());
        Map<String, Object> error = obj(json(r.body()).get("error"));
        assertEquals("BadRequestError", error.get("type"));
        assertEquals(400L, error.get("code"));
        assertEquals(400, post("/v1/chat/completions", "[1,2]").statusCode());
        assertEquals(400, post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\"}").statusCode());

        HttpResponse<String> missing = get(sim, "/v1/nothing");
        assertEquals(404, missing.statusCode());
        assertEquals("{\"detail\":\"Not Found\"}", missing.body());
        HttpResponse<String> wrongMethod = get(sim, "/v1/chat/completions");
        assertEquals(405, wrongMethod.statusCode());
    }

    // ---------------------------------------------------------------------------------------------------------
    // fault injection

    @Test
    void simStatusHeaderAnswersThatStatus() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chatBody(2, true), VllmSimulator.HEADER_STATUS, "500");
        assertEquals(500, r.statusCode());
        Map<String, Object> error = obj(json(r.body()).get("error"));
        assertEquals("InternalServerError", error.get("type"));
        assertEquals(500L, error.get("code"));
        assertEquals(429, post("/v1/embeddings", "{\"input\":\"x\"}", "X-Sim-Status", "429").statusCode());
        assertEquals(400, post("/v1/embeddings", "{\"input\":\"x\"}", "x-sim-status", "teapot").statusCode());
        assertEquals(0, sim.activeStreams());

        sim.setSimHeader(VllmSimulator.HEADER_STATUS, "503");
        assertEquals(503, post("/v1/completions", "{\"prompt\":\"x\"}").statusCode());
        assertEquals(200, get(sim, "/health").statusCode(), "instance-wide faults leave /health alone");
        assertEquals(502, post("/v1/completions", "{\"prompt\":\"x\"}", "x-sim-status", "502").statusCode(),
                "the request's own header wins");
        sim.setSimHeader(VllmSimulator.HEADER_STATUS, null);
        assertEquals(200, post("/v1/completions", "{\"prompt\":\"x\"}").statusCode());
    }

    @Test
    void delayBeforeHeadersDelaysTheFirstByte() throws Exception {
        HttpRequest quick = HttpRequest.newBuilder(sim.uri("/v1/chat/completions"))
                .timeout(Duration.ofMillis(250))
                .header(VllmSimulator.HEADER_DELAY_BEFORE_HEADERS, "1200")
                .POST(HttpRequest.BodyPublishers.ofString(chatBody(1, false)))
                .build();
        assertThrows(HttpTimeoutException.class, () -> client.send(quick, HttpResponse.BodyHandlers.ofString()));

        long start = System.nanoTime();
        HttpResponse<String> r = post("/v1/chat/completions", chatBody(1, true),
                VllmSimulator.HEADER_DELAY_BEFORE_HEADERS, "500");
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(200, r.statusCode());
        assertTrue(elapsedMs >= 500, "answered after " + elapsedMs + " ms");
        assertEquals("[DONE]", events(r.body()).get(2));
    }

    @Test
    void stallAfterChunksGoesSilentThenResumes() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(5));
             RawStream stream = new RawStream(s, "/v1/chat/completions", chatBody(3, true),
                     "x-sim-stall-after-chunks: 2", "x-sim-stall-ms: 2500")) {
            stream.awaitEvents(2); // role chunk and first token
            assertTrue(stream.received.toString().startsWith("HTTP/1.1 200"));
            stream.socket.setSoTimeout(700);
            assertThrows(SocketTimeoutException.class, () -> stream.awaitEvents(3), "nothing during the stall");
            assertEquals(1, s.activeStreams());
            stream.socket.setSoTimeout(5000);
            stream.awaitEvents(5); // 2 more tokens and [DONE] after the stall
            assertTrue(stream.received.toString().contains("data: [DONE]"));
            assertTrue(s.awaitCompletedStreams(1, Duration.ofSeconds(5)));
        }
    }

    @Test
    void stallBeforeTheFirstEventStillSendsHeaders() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options());
             RawStream stream = new RawStream(s, "/v1/completions", "{\"prompt\":\"x\",\"stream\":true}",
                     "x-sim-stall-after-chunks: 0")) {
            byte[] buf = new byte[4096];
            for (int i = 0; i < 100 && stream.received.indexOf("\r\n\r\n") < 0; i++) {
                int r = stream.in.read(buf);
                if (r < 0) break;
                stream.received.append(new String(buf, 0, r, StandardCharsets.ISO_8859_1));
            }
            assertTrue(stream.received.toString().startsWith("HTTP/1.1 200"), stream.received.toString());
            assertTrue(stream.received.toString().toLowerCase().contains("text/event-stream"));
            assertEquals(0, stream.eventCount());
        }
    }

    @Test
    void clientLeavingDuringAStallIsCountedOnceTheStallEnds() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(5))) {
            try (RawStream stream = new RawStream(s, "/v1/chat/completions", chatBody(50, true),
                    "x-sim-stall-after-chunks: 1", "x-sim-stall-ms: 400")) {
                stream.awaitEvents(1);
            }
            assertTrue(s.awaitCancelledStreams(1, Duration.ofSeconds(10)));
            assertEquals(0, s.completedStreams());
        }
    }

    @Test
    void clientDisconnectCancelsTheStream() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(20))) {
            try (RawStream stream = new RawStream(s, "/v1/chat/completions", chatBody(1000, true))) {
                stream.awaitEvents(2);
                assertEquals(1, s.activeStreams());
            }
            assertTrue(s.awaitCancelledStreams(1, Duration.ofSeconds(5)), "disconnect not noticed");
            assertEquals(1, s.cancelledStreams());
            assertEquals(0, s.completedStreams());
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .untilAsserted(() -> assertEquals(0, s.activeStreams()));
        }
    }

    @Test
    void closingTheHttpClientBodyCancelsTheStream() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(20))) {
            HttpRequest req = HttpRequest.newBuilder(s.uri("/v1/completions"))
                    .timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\",\"stream\":true,\"max_tokens\":1000}"))
                    .build();
            HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                assertTrue(reader.readLine().startsWith("data: "));
            }
            assertTrue(s.awaitCancelledStreams(1, Duration.ofSeconds(5)), "disconnect not noticed");
        }
    }

    @Test
    void tokenDelayHeaderOverridesTheDefault() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().tokenDelayMs(1000))) {
            long start = System.nanoTime();
            HttpResponse<String> r = post(s, "/v1/chat/completions", chatBody(20, true),
                    VllmSimulator.HEADER_TOKEN_DELAY, "0");
            assertEquals(200, r.statusCode());
            assertTrue((System.nanoTime() - start) / 1_000_000 < 3000);
            assertEquals(400, post(s, "/v1/chat/completions", chatBody(1, true),
                    VllmSimulator.HEADER_TOKEN_DELAY, "-5").statusCode());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // recording, concurrency, speed, command line

    @Test
    void requestsAreRecordedWithCaseInsensitiveHeaders() throws Exception {
        post("/v1/completions", "{\"prompt\":\"recorded\",\"max_tokens\":1}", "X-Trace-Id", "abc-123");
        get(sim, "/v1/models?x=1");
        List<VllmSimulator.RecordedRequest> reqs = sim.requests();
        assertEquals(2, reqs.size());
        VllmSimulator.RecordedRequest first = reqs.get(0);
        assertEquals("POST", first.method());
        assertEquals("/v1/completions", first.path());
        assertEquals("abc-123", first.header("x-trace-id"));
        assertEquals("abc-123", first.header("X-TRACE-ID"));
        assertEquals(List.of("abc-123"), first.headers().get("x-Trace-id"));
        assertTrue(first.bodyText().contains("\"recorded\""));
        assertEquals("GET", reqs.get(1).method());
        assertEquals("x=1", reqs.get(1).query());
        assertEquals(2, sim.requestCount());
        assertThrows(UnsupportedOperationException.class, () -> reqs.add(first));
    }

    @Test
    void recordingIsBounded() throws Exception {
        try (VllmSimulator s = VllmSimulator.start(new VllmSimulator.Options().maxRecordedRequests(3))) {
            for (int i = 0; i < 5; i++) get(s, "/health");
            assertEquals(3, s.requests().size());
            assertEquals(5, s.requestCount());
        }
    }

    @Test
    void smallRequestsAreFastOnAKeptAliveConnection() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8}";
        for (int i = 0; i < 20; i++) post("/v1/chat/completions", body, VllmSimulator.HEADER_TOKEN_DELAY, "0");
        int n = 200;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            assertEquals(200, post("/v1/chat/completions", body, VllmSimulator.HEADER_TOKEN_DELAY, "0").statusCode());
        }
        double avgMs = (System.nanoTime() - start) / 1e6 / n;
        // without TCP_NODELAY every answer waits ~40 ms (Nagle + delayed ACK); with it, ~1-3 ms
        assertTrue(avgMs < 25, "average " + avgMs + " ms per request");
    }

    @Test
    @Timeout(120)
    void holds2500ConcurrentStreams() throws Exception {
        int n = 2500;
        // client and server sockets both live in this JVM: 2 x n descriptors
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean) {
            long maxFds = ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getMaxFileDescriptorCount();
            assumeTrue(maxFds >= 2L * n + 1000, "open-file limit " + maxFds + " too low for " + n + " streams");
        }
        VllmSimulator.Options o = new VllmSimulator.Options().tokenDelayMs(1000).maxRecordedRequests(0);
        List<RawStream> streams = new ArrayList<>();
        try (VllmSimulator s = VllmSimulator.start(o)) {
            try {
                String body = "{\"prompt\":\"many\",\"stream\":true,\"max_tokens\":100}";
                for (int i = 0; i < n; i++) streams.add(new RawStream(s, "/v1/completions", body));
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                        .until(() -> s.activeStreams() >= n);
                assertEquals(n, s.activeStreams());
                for (RawStream st : streams) st.awaitEvents(1); // every stream delivers tokens
            } finally {
                for (RawStream st : streams) st.close();
            }
            assertTrue(s.awaitCancelledStreams(n, Duration.ofSeconds(30)), "cancelled " + s.cancelledStreams());
            assertEquals(200, get(s, "/health").statusCode());
        }
    }

    @Test
    void parsesCommandLineFlags() {
        VllmSimulator.Options o = VllmSimulator.parseArgs("--host", "127.0.0.1", "--port=9001",
                "--served-model-name", "a", "b,c", "--max-tokens", "7", "--token-delay-ms=0", "--embedding-dim", "4",
                "--error-format", "legacy", "--verbose", "--max-model-len", "4096", "--stall-max-ms", "1000");
        assertEquals(9001, o.port());
        assertEquals(List.of("a", "b", "c"), o.servedModelNames());
        assertEquals(7, o.maxTokens());
        assertEquals(0, o.tokenDelayMs());
        assertEquals(4, o.embeddingDim());
        assertEquals(VllmSimulator.ErrorFormat.LEGACY, o.errorFormat());
        assertTrue(o.verbose());
        assertEquals(4096, o.maxModelLen());
        assertEquals(1000, o.stallMaxMs());

        VllmSimulator.Options defaults = VllmSimulator.parseArgs();
        assertEquals("127.0.0.1", defaults.host());
        assertEquals(8000, defaults.port());
        assertEquals(List.of(MODEL), defaults.servedModelNames());
        assertEquals(16, defaults.maxTokens());
        assertEquals(20, defaults.tokenDelayMs());
        assertEquals(16, defaults.embeddingDim());
        assertEquals(VllmSimulator.ErrorFormat.NESTED, defaults.errorFormat());

        VllmSimulator.Options model = VllmSimulator.parseArgs("Qwen/Qwen2.5-0.5B-Instruct");
        assertEquals(List.of("Qwen/Qwen2.5-0.5B-Instruct"), model.servedModelNames());
        VllmSimulator.Options repeated = VllmSimulator.parseArgs("--served-model-name=x", "--served-model-name", "y");
        assertEquals(List.of("x", "y"), repeated.servedModelNames());

        assertThrows(IllegalArgumentException.class, () -> VllmSimulator.parseArgs("--port", "eighty"));
        assertThrows(IllegalArgumentException.class, () -> VllmSimulator.parseArgs("--bogus", "1"));
        assertThrows(IllegalArgumentException.class, () -> VllmSimulator.parseArgs("--max-tokens"));
    }

    @Test
    void closeIsIdempotentAndFreesThePort() throws Exception {
        VllmSimulator s = VllmSimulator.start();
        int port = s.port();
        assertNotEquals(0, port);
        assertEquals("http://127.0.0.1:" + port, s.baseUrl());
        s.close();
        s.close();
        assertThrows(IOException.class, () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            }
        });
        assertNotNull(VllmSimulator.USAGE);
    }
}
