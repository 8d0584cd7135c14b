package dev.apirouter.routing;

import java.nio.charset.StandardCharsets;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InferenceRequestTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsModelAndStreamFlag() {
        InferenceRequest r = InferenceRequest.parse(utf8("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"model\":\"llama\",\"stream\":true}"));
        assertEquals("llama", r.model());
        assertTrue(r.stream());
        assertFalse(InferenceRequest.parse(utf8("{\"model\":\"m\",\"stream\":false}")).stream());
        assertFalse(InferenceRequest.parse(utf8("{\"model\":\"m\"}")).stream());
    }

    @Test
    void nestedModelFieldsAreNotTheModel() {
        InferenceRequest r = InferenceRequest.parse(utf8("{\"tools\":[{\"model\":\"inner\"}],\"model\":\"outer\"}"));
        assertEquals("outer", r.model());
    }

    @Test
    void rewritesOnlyTheModelValueKeepingEveryOtherByte() {
        String body = "{ \"temperature\" : 0.70, \"model\" :  \"llama-3.1-8b\" ,\n \"x\":1e3, \"s\":\"é\\u00e9\"}";
        InferenceRequest r = InferenceRequest.parse(utf8(body));
        String out = new String(r.withModel(utf8(body), "meta-llama/Llama-3.1-8B-Instruct"), StandardCharsets.UTF_8);
        assertEquals(body.replace("\"llama-3.1-8b\"", "\"meta-llama/Llama-3.1-8B-Instruct\""), out);
    }

    @Test
    void rewriteHandlesEscapesInTheOriginalAndTheReplacement() {
        String body = "{\"model\":\"a\\\"b\\u00e9\",\"n\":1}";
        InferenceRequest r = InferenceRequest.parse(utf8(body));
        assertEquals("a\"bé", r.model());
        String out = new String(r.withModel(utf8(body), "x\"y"), StandardCharsets.UTF_8);
        assertEquals("{\"model\":\"x\\\"y\",\"n\":1}", out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "not json", "[1,2]", "{\"model\":1}", "{\"model\":null}", "{\"messages\":[]}",
            "{\"model\":\"\"}", "{\"model\":\"a\"} trailing", "{\"model\":\"a\",\"model\":\"b\"}", "{\"model\":\"a\"",
            "\"model\""})
    void rejectsBadBodiesWith400(String body) {
        GatewayException e = assertThrows(GatewayException.class, () -> InferenceRequest.parse(utf8(body)));
        assertEquals(ErrorCode.INVALID_REQUEST, e.code());
    }

    @Test
    void rejectsNullBody() {
        assertEquals(ErrorCode.INVALID_REQUEST,
                assertThrows(GatewayException.class, () -> InferenceRequest.parse(null)).code());
    }

    private static String prompt(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        InferenceRequest r = InferenceRequest.parse(bytes);
        return r.hasPrompt() ? new String(bytes, r.promptStart(), r.promptEnd() - r.promptStart(),
                StandardCharsets.UTF_8) : null;
    }

    @Test
    void thePromptsBeginningIsTheSystemMessagesAndTheFirstOtherOne() {
        assertEquals("[{\"role\":\"system\",\"content\":\"s\"},{\"content\":\"hi\",\"role\":\"user\"}",
                prompt("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                        + "{\"content\":\"hi\",\"role\":\"user\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}"));
        assertEquals("[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"d\"}]}]",
                prompt("{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"d\"}]}],"
                        + "\"model\":\"m\"}"));
        assertEquals("\"once upon a time\"", prompt("{\"model\":\"m\",\"prompt\":\"once upon a time\",\"n\":1}"));
        assertEquals("\"first\"", prompt("{\"model\":\"m\",\"prompt\":[\"first\",\"second\"]}"));
        assertEquals("[1,2,3]", prompt("{\"model\":\"m\",\"input\":[[1,2,3],[4]]}"));
        assertEquals(null, prompt("{\"model\":\"m\",\"prompt\":[]}"));
        assertEquals(null, prompt("{\"model\":\"m\"}"));
    }

    @Test
    void theUserFieldIsRead() {
        assertEquals("alice", InferenceRequest.parse("{\"model\":\"m\",\"user\":\"alice\"}"
                .getBytes(StandardCharsets.UTF_8)).user());
        assertEquals(null, InferenceRequest.parse("{\"model\":\"m\",\"user\":{\"id\":1}}"
                .getBytes(StandardCharsets.UTF_8)).user());
    }
}
