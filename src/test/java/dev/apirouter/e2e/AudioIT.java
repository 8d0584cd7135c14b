package dev.apirouter.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.MultipartForm;
import dev.apirouter.testing.RawClient;
import dev.apirouter.testing.RequiredTools;
import dev.apirouter.testing.Resources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.apirouter.e2e.EndpointsIT.HTTP;
import static dev.apirouter.e2e.EndpointsIT.JSON;
import static dev.apirouter.e2e.EndpointsIT.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Audio uploads through the gateway (the jar, with a 64 MiB heap) to the simulator: transcriptions and translations,
 * an upload four times the gateway's heap streamed through, the upload limit (declared and chunked), forms the gateway
 * refuses, and the official openai SDK's {@code audio.transcriptions.create} / {@code audio.translations.create}.
 */
class AudioIT {
    static final String WHISPER = "openai/whisper-large-v3";
    static final String KEY = "sk-audio-all";
    static final long LIMIT = 300L << 20;

    @TempDir
    static Path dir;
    static VllmSimulator sim;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        sim = VllmSimulator.start(new VllmSimulator.Options().servedModelNames(WHISPER).tokenDelayMs(1).maxTokens(8));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "models:\n"
                + "  whisper: {upstreamModel: " + WHISPER + ", aliases: [whisper-1], backends: [{url: " + sim.baseUrl() + "}]}\n"
                + "keys:\n"
                + "  \"" + ApiKeys.sha256Hex(KEY) + "\": {name: all, models: [\"*\"]}\n");
        gateway = GatewayProcess.start(GatewayProcess.env("ROUTER_POLICY_FILE", policy.toString(),
                "ROUTER_MAX_UPLOAD_BYTES", Long.toString(LIMIT)), "-Xmx64m");
        gateway.awaitReady(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        Resources.close(gateway, sim);
    }

    static HttpResponse<String> upload(String path, MultipartForm form, boolean chunked) throws Exception {
        return upload(path, form.contentType(), form.publisher(chunked));
    }

    static HttpResponse<String> upload(String path, String contentType, HttpRequest.BodyPublisher body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", contentType).POST(body).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void transcriptionsAndTranslationsReachTheBackendWithTheUpstreamModel() throws Exception {
        MultipartForm form = new MultipartForm().field("model", "whisper-1").field("language", "en")
                .file("speech.wav", 96_000).end();
        HttpResponse<String> r = upload("/v1/audio/transcriptions", form, false);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("whisper", r.headers().firstValue("x-api-router-model").orElse(null));
        JsonNode answer = JSON.readTree(r.body());
        assertEquals(3, answer.path("text").asText().split(" ").length, r.body());
        assertEquals(3, answer.path("usage").path("seconds").asInt());
        VllmSimulator.AudioUpload received = sim.lastUpload();
        assertEquals(WHISPER, received.fields().get("model"), "the model rewritten in the form");
        assertEquals("en", received.fields().get("language"));
        assertEquals(form.crc32(), received.fileCrc32());
        assertEquals(form.length() + WHISPER.length() - "whisper-1".length(), received.bodyBytes());

        MultipartForm fileFirst = new MultipartForm().file("speech.wav", 200_000).field("model", "whisper")
                .field("response_format", "verbose_json").end();
        HttpResponse<String> translated = upload("/v1/audio/translations", fileFirst, true);
        assertEquals(200, translated.statusCode(), translated.body());
        assertEquals("en", JSON.readTree(translated.body()).path("language").asText());
        assertEquals(200_000, sim.lastUpload().fileBytes(), "a model after the file: held, then sent whole");
        assertEquals("/v1/audio/translations", sim.lastUpload().path());

        HttpResponse<String> streamed = upload("/v1/audio/transcriptions", new MultipartForm().field("model", "whisper")
                .field("stream", "true").file("speech.wav", 64_000).end(), false);
        assertTrue(streamed.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertTrue(streamed.body().contains("\"object\":\"transcription.chunk\"") && streamed.body().endsWith("data: [DONE]\n\n"),
                streamed.body());
    }

    @Test
    void anUploadFourTimesTheGatewaysHeapIsStreamedThrough() throws Exception {
        MultipartForm form = new MultipartForm().field("model", "whisper").file("long.wav", 256L << 20).end();
        HttpResponse<String> r = upload("/v1/audio/transcriptions", form, false);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(256L << 20, sim.lastUpload().fileBytes(), "the backend received every byte");
        assertEquals(form.crc32(), sim.lastUpload().fileCrc32(), "unchanged");
        assertTrue(gateway.isAlive());
        assertEquals(200, upload("/v1/audio/transcriptions", new MultipartForm().field("model", "whisper")
                .file("a.wav", 1000).end(), false).statusCode(), "and the gateway serves on");
    }

    @Test
    void anUploadOverTheLimitIs413DeclaredOrCounted() throws Exception {
        MultipartForm tooLarge = new MultipartForm().field("model", "whisper").file("huge.wav", LIMIT).end();
        String head = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: " + tooLarge.contentType() + "\r\n";
        try (RawClient raw = new RawClient(gateway.port())) { // refused on its head: no byte of the body is needed
            RawClient.Response declared = raw.send(head + "Content-Length: " + tooLarge.length() + "\r\n\r\n")
                    .read(Duration.ofSeconds(10));
            assertEquals(413, declared.status(), declared.head());
            assertTrue(declared.body().contains("\"code\":\"request_too_large\""), declared.body());
        }
        try (RawClient raw = new RawClient(gateway.port()); InputStream body = tooLarge.open()) {
            raw.send(head + "Transfer-Encoding: chunked\r\n\r\n");
            byte[] chunk = new byte[1 << 20];
            long sent = 0;
            for (int i = 0; i < 400 && sent <= LIMIT; i++) { // bounded: the limit is passed after 301 chunks
                int n = body.readNBytes(chunk, 0, chunk.length);
                try {
                    raw.send((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII))
                            .send(Arrays.copyOf(chunk, n)).send("\r\n");
                } catch (IOException e) {
                    break; // the gateway answered and closed: what it said is read below
                }
                sent += n;
            }
            RawClient.Response counted = raw.read(Duration.ofSeconds(30));
            assertEquals(413, counted.status(), counted.head());
            assertTrue(counted.body().contains("\"code\":\"request_too_large\""), counted.body());
            assertTrue(counted.hasHeader("connection", "close"), counted.head());
        }
    }

    @Test
    void formsTheGatewayCannotReadAre400() throws Exception {
        HttpResponse<String> noModel = upload("/v1/audio/transcriptions", new MultipartForm().field("language", "en")
                .file("a.wav", 1000).end(), false);
        assertEquals(400, noModel.statusCode(), noModel.body());
        assertTrue(noModel.body().contains("no 'model' field"), noModel.body());
        MultipartForm form = new MultipartForm().field("model", "whisper").file("a.wav", 1000).end();
        HttpResponse<String> badBoundary = upload("/v1/audio/transcriptions", "multipart/form-data; boundary=other",
                form.publisher(false));
        assertEquals(400, badBoundary.statusCode(), badBoundary.body());
        assertEquals("invalid_request", code(badBoundary));
        HttpResponse<String> noBoundary = upload("/v1/audio/translations", "multipart/form-data", form.publisher(false));
        assertEquals(400, noBoundary.statusCode(), noBoundary.body());
        HttpResponse<String> json = upload("/v1/audio/transcriptions", "application/json",
                HttpRequest.BodyPublishers.ofString("{\"model\":\"whisper\"}"));
        assertEquals(400, json.statusCode(), json.body());
        assertEquals("invalid_request", code(json));
        HttpResponse<String> onChat = upload("/v1/chat/completions", form, false);
        assertEquals(400, onChat.statusCode(), onChat.body());
        HttpResponse<String> twoModels = upload("/v1/audio/transcriptions", new MultipartForm().field("model", "whisper")
                .file("a.wav", 100_000).field("model", "other").end(), true);
        assertEquals(400, twoModels.statusCode(), twoModels.body());
        assertTrue(twoModels.body().contains("more than one 'model'"), twoModels.body());
        HttpResponse<String> unknown = upload("/v1/audio/transcriptions", new MultipartForm().field("model", "nope")
                .file("a.wav", 10).end(), false);
        assertEquals(404, unknown.statusCode(), unknown.body());
        assertEquals(401, HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/audio/transcriptions"))
                .header("Content-Type", form.contentType()).POST(form.publisher(false)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void theOpenAiSdkTranscribesAndTranslates() throws Exception {
        Path clients = Path.of("src/test/clients");
        RequiredTools.assume(Files.isDirectory(clients.resolve("node_modules/openai")) && LimitsIT.onPath("node"),
                "node and the openai SDK (npm ci in src/test/clients) are needed");
        Process node = new ProcessBuilder("node", "sdk-audio.mjs", gateway.uri("/v1").toString(), KEY, "whisper-1",
                "64000").directory(clients.toFile()).redirectErrorStream(true).start();
        assertTrue(node.waitFor(90, TimeUnit.SECONDS), "the SDK calls end");
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        JsonNode result = JSON.readTree(out.substring(out.lastIndexOf("\n{") + 1));
        assertTrue(result.path("ok").asBoolean(), out);
        assertEquals(2, result.path("text").asText().split(" ").length, out);
        assertEquals(2, result.path("seconds").asInt(), out);
        assertEquals(result.path("text").asText(), result.path("verboseText").asText(), out);
        assertEquals(result.path("text").asText(), result.path("streamed").asText(), out);
        assertEquals(result.path("text").asText(), result.path("translation").asText(), out);
        assertEquals(WHISPER, sim.lastUpload().fields().get("model"));
    }
}
