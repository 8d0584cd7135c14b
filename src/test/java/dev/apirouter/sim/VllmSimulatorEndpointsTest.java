package dev.apirouter.sim;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's answers on vLLM's other endpoints: score, rerank, tokenize, detokenize, pooling, classify, responses
 * (and stored responses by id), the Anthropic Messages API.
 */
@Timeout(30)
class VllmSimulatorEndpointsTest {
    private static final String MODEL = VllmSimulator.DEFAULT_MODEL;
    private static VllmSimulator sim;
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws IOException {
        sim = VllmSimulator.start(new VllmSimulator.Options().maxTokens(4));
    }

    @AfterAll
    static void stop() {
        if (sim != null) sim.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> send(String method, String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String json) {
        return (Map<String, Object>) VllmSimulator.Json.parse(json);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(String path, String body) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertEquals(200, r.statusCode(), r.body());
        return (Map<String, Object>) VllmSimulator.Json.parse(r.body());
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    @Test
    void scoreAnswersOneScorePerPairInTheListShape() throws Exception {
        for (String path : List.of("/score", "/v1/score")) {
            Map<String, Object> r = json(path, "{\"model\":\"" + MODEL + "\",\"text_1\":\"lorem ipsum\","
                    + "\"text_2\":[\"lorem ipsum dolor\",\"the capital of France\"]}");
            assertEquals("list", r.get("object"));
            assertEquals(MODEL, r.get("model"));
            assertTrue(((String) r.get("id")).startsWith("score-"));
            List<Map<String, Object>> data = list(r.get("data"));
            assertEquals(2, data.size());
            assertEquals("score", data.get(0).get("object"));
            assertEquals(0L, data.get(0).get("index"));
            double related = (Double) data.get(0).get("score");
            double unrelated = (Double) data.get(1).get("score");
            assertTrue(related > unrelated && related < 1 && unrelated > 0, related + " " + unrelated);
            assertTrue(((Map<?, ?>) r.get("usage")).get("prompt_tokens") instanceof Long);
        }
        assertEquals(400, post("/v1/score", "{\"text_1\":[\"a\",\"b\"],\"text_2\":[\"a\",\"b\",\"c\"]}").statusCode());
    }

    @Test
    void rerankSortsTheDocumentsByRelevanceOnEveryPath() throws Exception {
        for (String path : List.of("/rerank", "/v1/rerank", "/v2/rerank")) {
            Map<String, Object> r = json(path, "{\"model\":\"" + MODEL + "\",\"query\":\"what is vllm\","
                    + "\"documents\":[\"cats sleep a lot\",\"vllm is an inference engine: what it is\",\"paris\"]}");
            assertEquals(MODEL, r.get("model"));
            List<Map<String, Object>> results = list(r.get("results"));
            assertEquals(3, results.size());
            assertEquals(1L, results.get(0).get("index"));
            assertEquals("vllm is an inference engine: what it is", ((Map<?, ?>) results.get(0).get("document")).get("text"));
            for (int i = 1; i < results.size(); i++) {
                assertTrue((Double) results.get(i - 1).get("relevance_score") >= (Double) results.get(i).get("relevance_score"));
            }
            assertTrue(((Map<?, ?>) r.get("usage")).get("total_tokens") instanceof Long);
        }
        Map<String, Object> top = json("/v1/rerank", "{\"query\":\"a\",\"documents\":[\"a\",\"b\",\"c\"],\"top_n\":1}");
        assertEquals(1, list(top.get("results")).size());
    }

    @Test
    void tokenizeAndDetokenizeRoundTripTheVocabulary() throws Exception {
        Map<String, Object> t = json("/tokenize", "{\"model\":\"" + MODEL + "\",\"prompt\":\"lorem ipsum dolor\"}");
        assertEquals(4L, t.get("count"));
        assertEquals(List.of(VllmSimulator.BOS_ID, 0L, 1L, 2L), t.get("tokens"));
        assertTrue(t.get("max_model_len") instanceof Long);
        assertNull(t.get("token_strs"));
        Map<String, Object> strs = json("/tokenize", "{\"prompt\":\"lorem ipsum\",\"add_special_tokens\":false,"
                + "\"return_token_strs\":true}");
        assertEquals(List.of(0L, 1L), strs.get("tokens"));
        assertEquals(List.of("lorem", "\u2581ipsum"), strs.get("token_strs"));
        Map<String, Object> chat = json("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"dolor sit\"}]}");
        assertEquals(3L, chat.get("count"));
        assertEquals("lorem ipsum dolor", json("/detokenize", "{\"model\":\"" + MODEL + "\",\"tokens\":"
                + t.get("tokens") + "}").get("prompt"));
        assertEquals(400, post("/detokenize", "{\"tokens\":\"x\"}").statusCode());
    }

    @Test
    void poolingAndClassifyAnswerOneEntryPerInput() throws Exception {
        Map<String, Object> p = json("/pooling", "{\"model\":\"" + MODEL + "\",\"input\":[\"a\",\"b\"]}");
        assertEquals("list", p.get("object"));
        List<Map<String, Object>> data = list(p.get("data"));
        assertEquals(2, data.size());
        assertEquals("pooling", data.get(0).get("object"));
        assertTrue(((List<?>) data.get(0).get("data")).size() > 1);
        Map<String, Object> c = json("/classify", "{\"model\":\"" + MODEL + "\",\"input\":\"great product\"}");
        Map<String, Object> first = list(c.get("data")).get(0);
        assertEquals("classify", first.get("object"));
        assertEquals(2L, first.get("num_classes"));
        List<?> probs = (List<?>) first.get("probs");
        assertEquals(1.0, (Double) probs.get(0) + (Double) probs.get(1), 1e-9);
        assertTrue(List.of("negative", "positive").contains(first.get("label")));
        assertTrue(((Map<?, ?>) c.get("usage")).get("prompt_tokens") instanceof Long);
    }

    @Test
    void responsesAnswersACompletedResponse() throws Exception {
        Map<String, Object> r = json("/v1/responses", "{\"model\":\"" + MODEL + "\",\"input\":\"hello\"}");
        assertTrue(((String) r.get("id")).startsWith("resp_"));
        assertEquals("response", r.get("object"));
        assertEquals("completed", r.get("status"));
        assertEquals(MODEL, r.get("model"));
        Map<String, Object> message = list(r.get("output")).get(0);
        assertEquals("message", message.get("type"));
        assertEquals("assistant", message.get("role"));
        Map<String, Object> content = list(message.get("content")).get(0);
        assertEquals("output_text", content.get("type"));
        assertEquals(4, ((String) content.get("text")).split(" ").length);
        Map<?, ?> usage = (Map<?, ?>) r.get("usage");
        assertEquals(4L, usage.get("output_tokens"));
        assertEquals((Long) usage.get("input_tokens") + 4L, usage.get("total_tokens"));
        Map<String, Object> again = json("/v1/responses", "{\"input\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"input_text\",\"text\":\"hello\"}]}],\"max_output_tokens\":2}");
        assertEquals(2L, ((Map<?, ?>) again.get("usage")).get("output_tokens"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStreamedResponseSendsTheEventsInOrderWithTheirTypes() throws Exception {
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"" + MODEL + "\",\"input\":\"hello\",\"stream\":true}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> types = new ArrayList<>();
        StringBuilder deltas = new StringBuilder();
        String done = null;
        long seq = 0;
        for (String event : r.body().split("\n\n")) {
            String[] lines = event.split("\n");
            assertEquals(2, lines.length, event);
            String type = lines[0].substring("event: ".length());
            Map<String, Object> data = (Map<String, Object>) VllmSimulator.Json.parse(lines[1].substring("data: ".length()));
            assertEquals(type, data.get("type"));
            assertEquals(seq++, data.get("sequence_number"));
            types.add(type);
            if (type.equals("response.output_text.delta")) deltas.append(data.get("delta"));
            if (type.equals("response.completed")) {
                Map<String, Object> response = (Map<String, Object>) data.get("response");
                assertEquals("completed", response.get("status"));
                done = (String) list(list(response.get("output")).get(0).get("content")).get(0).get("text");
            }
        }
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed"), types);
        assertEquals(done, deltas.toString());
    }

    @Test
    void aStoredResponseIsRetrievedAndDeletedAndASynchronousOneCannotBeCancelled() throws Exception {
        Map<String, Object> created = json("/v1/responses", "{\"input\":\"hello\",\"max_output_tokens\":2}");
        String id = (String) created.get("id");
        HttpResponse<String> got = send("GET", "/v1/responses/" + id);
        assertEquals(200, got.statusCode(), got.body());
        assertEquals(created, parse(got.body()));
        HttpResponse<String> cancel = send("POST", "/v1/responses/" + id + "/cancel");
        assertEquals(400, cancel.statusCode(), cancel.body());
        assertEquals("Cannot cancel a synchronous response.", ((Map<?, ?>) parse(cancel.body()).get("error")).get("message"));
        assertEquals(400, send("GET", "/v1/responses/" + id + "?stream=true").statusCode(), "replays background ones only");
        HttpResponse<String> deleted = send("DELETE", "/v1/responses/" + id);
        assertEquals(200, deleted.statusCode(), deleted.body());
        assertEquals(Boolean.TRUE, parse(deleted.body()).get("deleted"));
        HttpResponse<String> gone = send("GET", "/v1/responses/" + id);
        assertEquals(404, gone.statusCode());
        assertEquals("Response with id '" + id + "' not found.", ((Map<?, ?>) parse(gone.body()).get("error")).get("message"));
        assertEquals(400, send("GET", "/v1/responses/chatcmpl-1").statusCode(), "an id must begin with resp");
        assertEquals(405, send("PUT", "/v1/responses/" + id).statusCode());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStreamedResponseIsStoredButOneWithStoreFalseIsNot() throws Exception {
        HttpResponse<String> r = post("/v1/responses", "{\"input\":\"hello\",\"stream\":true}");
        String first = r.body().split("\n\n")[0].split("\n")[1].substring("data: ".length());
        String id = (String) ((Map<String, Object>) parse(first).get("response")).get("id");
        assertEquals(200, send("GET", "/v1/responses/" + id).statusCode());
        String unstored = (String) json("/v1/responses", "{\"input\":\"hello\",\"store\":false}").get("id");
        assertEquals(404, send("GET", "/v1/responses/" + unstored).statusCode());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aMessageIsAnsweredInTheMessagesApisShape() throws Exception {
        Map<String, Object> m = json("/v1/messages", "{\"model\":\"" + MODEL + "\",\"max_tokens\":3,\"system\":\"Be brief\","
                + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello there\"}]}]}");
        assertEquals("message", m.get("type"));
        assertEquals("assistant", m.get("role"));
        assertEquals(MODEL, m.get("model"));
        assertEquals("max_tokens", m.get("stop_reason"));
        List<Map<String, Object>> content = list(m.get("content"));
        assertEquals("text", content.get(0).get("type"));
        assertEquals(3, ((String) content.get(0).get("text")).split(" ").length);
        Map<?, ?> usage = (Map<?, ?>) m.get("usage");
        assertEquals(3L, usage.get("output_tokens"));
        assertEquals(1L + 4 + 2 + 4 + 2, usage.get("input_tokens"), "counted as the chat of its system and messages");
        Map<String, Object> counted = json("/v1/messages/count_tokens", "{\"model\":\"" + MODEL + "\",\"system\":\"Be brief\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}");
        assertEquals(usage.get("input_tokens"), counted.get("input_tokens"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStreamedMessageSendsVllmsEventsAndItsErrorsHaveTheAnthropicShape() throws Exception {
        HttpResponse<String> r = post("/v1/messages", "{\"model\":\"" + MODEL + "\",\"max_tokens\":2,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> types = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        Map<String, Object> last = null;
        for (String event : r.body().split("\n\n")) {
            String[] lines = event.split("\n");
            String type = lines[0].substring("event: ".length());
            Map<String, Object> data = parse(lines[1].substring("data: ".length()));
            assertEquals(type, data.get("type"));
            types.add(type);
            if (type.equals("message_start")) {
                Map<?, ?> usage = (Map<?, ?>) ((Map<?, ?>) data.get("message")).get("usage");
                assertEquals(0L, usage.get("output_tokens"));
            }
            if (type.equals("content_block_delta")) {
                Map<?, ?> delta = (Map<?, ?>) data.get("delta");
                assertEquals("text_delta", delta.get("type"));
                text.append(delta.get("text"));
            }
            if (type.equals("message_delta")) last = data;
        }
        assertEquals(List.of("message_start", "content_block_start", "content_block_delta", "content_block_delta",
                "content_block_stop", "message_delta", "message_stop"), types);
        assertEquals(2, text.toString().split(" ").length);
        assertEquals("max_tokens", ((Map<?, ?>) last.get("delta")).get("stop_reason"));
        assertEquals(2L, ((Map<?, ?>) last.get("usage")).get("output_tokens"));
        HttpResponse<String> missing = post("/v1/messages", "{\"model\":\"nope\",\"max_tokens\":2,\"messages\":[]}");
        assertEquals(404, missing.statusCode());
        Map<String, Object> error = parse(missing.body());
        assertEquals("error", error.get("type"));
        assertEquals("NotFoundError", ((Map<?, ?>) error.get("error")).get("type"));
        HttpResponse<String> invalid = post("/v1/messages", "{\"model\":\"" + MODEL + "\",\"messages\":[]}");
        assertEquals(400, invalid.statusCode(), "vLLM's request validation: its usual shape");
        assertTrue(parse(invalid.body()).get("error") instanceof Map);
    }
}
