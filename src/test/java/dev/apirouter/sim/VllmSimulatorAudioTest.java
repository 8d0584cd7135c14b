package dev.apirouter.sim;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.apirouter.testing.MultipartForm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulator's audio endpoints: the multipart form read as a stream, and vLLM's answers in each format. */
@Timeout(60)
class VllmSimulatorAudioTest {
    private static final String MODEL = "openai/whisper-large-v3";
    private static VllmSimulator sim;
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws IOException {
        sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(MODEL).maxTokens(6).tokenDelayMs(1));
    }

    @AfterAll
    static void stop() {
        if (sim != null) sim.close();
    }

    static HttpResponse<String> post(String path, MultipartForm form, boolean chunked) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + path))
                .header("Content-Type", form.contentType()).POST(form.publisher(chunked))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return (Map<String, Object>) VllmSimulator.Json.parse(r.body());
    }

    @Test
    void aTranscriptionCountsTheFileAndAnswersTextWithItsDuration() throws Exception {
        MultipartForm form = new MultipartForm().field("model", MODEL).field("language", "de")
                .file("a.wav", 100_000).field("temperature", "0").end();
        Map<String, Object> answer = json(post("/v1/audio/transcriptions", form, false));
        assertEquals(4, ((String) answer.get("text")).split(" ").length, "one word per second of 16 kHz PCM");
        assertEquals(Map.of("type", "duration", "seconds", 4L), answer.get("usage"));
        VllmSimulator.AudioUpload upload = sim.lastUpload();
        assertEquals(100_000, upload.fileBytes());
        assertEquals(form.crc32(), upload.fileCrc32());
        assertEquals("a.wav", upload.fileName());
        assertEquals(form.length(), upload.bodyBytes());
        assertEquals(List.of("model", "language", "temperature"), List.copyOf(upload.fields().keySet()));
        assertEquals(answer.get("text"), json(post("/v1/audio/transcriptions", form, true)).get("text"),
                "chunked or not, the same file gives the same text");
    }

    @Test
    void aLargeFileIsStreamedThrough() throws Exception {
        MultipartForm form = new MultipartForm().file("big.wav", 48L << 20).field("model", MODEL).end();
        Map<String, Object> answer = json(post("/v1/audio/translations", form, true));
        assertEquals(6, ((String) answer.get("text")).split(" ").length, "at most the max tokens");
        assertNull(answer.get("usage"), "a translation has no usage");
        assertEquals(48L << 20, sim.lastUpload().fileBytes());
        assertEquals(form.crc32(), sim.lastUpload().fileCrc32());
    }

    @Test
    void theResponseFormatsAndTheStream() throws Exception {
        HttpResponse<String> text = post("/v1/audio/transcriptions", new MultipartForm().field("model", MODEL)
                .field("response_format", "text").file("a.wav", 64_000).end(), false);
        assertEquals(200, text.statusCode());
        assertTrue(text.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        assertEquals(2, text.body().split(" ").length, text.body());
        Map<String, Object> verbose = json(post("/v1/audio/translations", new MultipartForm().field("model", MODEL)
                .field("response_format", "verbose_json").file("a.wav", 64_000).end(), false));
        assertEquals("2.0", verbose.get("duration"));
        assertEquals("en", verbose.get("language"));
        assertEquals(verbose.get("text"), ((Map<?, ?>) ((List<?>) verbose.get("segments")).get(0)).get("text"));
        HttpResponse<String> stream = post("/v1/audio/transcriptions", new MultipartForm().field("model", MODEL)
                .field("stream", "true").field("stream_include_usage", "true").file("a.wav", 96_000).end(), false);
        assertTrue(stream.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> events = stream.body().lines().filter(l -> l.startsWith("data: ")).toList();
        assertEquals(5, events.size(), stream.body()); // 3 words, usage, [DONE]
        assertTrue(events.get(0).contains("\"object\":\"transcription.chunk\""));
        assertTrue(events.get(2).contains("\"finish_reason\":\"stop\""));
        assertTrue(events.get(3).contains("\"usage\":{\"prompt_tokens\""));
        assertEquals("data: [DONE]", events.get(4));
    }

    @Test
    void badFormsGetVllmsErrors() throws Exception {
        assertEquals(400, post("/v1/audio/transcriptions", new MultipartForm().field("model", MODEL).end(), false)
                .statusCode(), "no file");
        assertEquals(404, post("/v1/audio/transcriptions", new MultipartForm().field("model", "other")
                .file("a.wav", 10).end(), false).statusCode());
        assertEquals(400, post("/v1/audio/transcriptions", new MultipartForm().field("model", MODEL)
                .field("response_format", "srt").file("a.wav", 10).end(), false).statusCode());
        assertEquals(400, post("/v1/audio/transcriptions", new MultipartForm().field("model", MODEL)
                .file("a.wav", 10), false).statusCode(), "no closing boundary");
        HttpResponse<String> json = CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl()
                + "/v1/audio/transcriptions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, json.statusCode());
        assertFalse(json.body().isEmpty());
        HttpResponse<String> get = CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl()
                + "/v1/audio/translations")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
    }
}
