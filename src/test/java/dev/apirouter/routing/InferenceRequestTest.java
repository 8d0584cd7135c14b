package dev.apirouter.routing;

import java.nio.charset.StandardCharsets;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
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
    void vllmsOtherBodiesParseAndKeepEveryOtherField() {
        for (String body : new String[] {
                "{\"query\":\"q\",\"documents\":[\"a\",{\"text\":\"b\"}],\"top_n\":1,\"model\":\"rr\"}",
                "{\"model\":\"rr\",\"text_1\":[\"a\"],\"text_2\":\"b\"}",
                "{\"model\":\"rr\",\"tokens\":[1,2,3],\"add_special_tokens\":false}",
                "{\"model\":\"rr\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}],"
                        + "\"instructions\":\"be brief\",\"stream\":true}"}) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            InferenceRequest request = InferenceRequest.parse(bytes);
            assertEquals("rr", request.model(), body);
            assertEquals(body.replace("\"rr\"", "\"up/rr\""),
                    new String(request.withModel(bytes, "up/rr"), StandardCharsets.UTF_8));
        }
        assertEquals(true, InferenceRequest.parse("{\"model\":\"m\",\"input\":\"x\",\"stream\":true}"
                .getBytes(StandardCharsets.UTF_8)).stream());
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

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"model\":\"m\"}|-1",
        "{\"model\":\"m\",\"max_tokens\":64}|64",
        "{\"max_completion_tokens\":32,\"model\":\"m\",\"max_tokens\":64}|32",
        "{\"model\":\"m\",\"max_tokens\":64,\"max_completion_tokens\":null}|64",
        "{\"model\":\"m\",\"max_tokens\":100.0}|100",
        "{\"model\":\"m\",\"max_tokens\":0}|0",
        "{\"model\":\"m\",\"max_tokens\":-5}|-1",
        "{\"model\":\"m\",\"max_tokens\":2.5}|-1",
        "{\"model\":\"m\",\"max_tokens\":\"64\"}|-1",
        "{\"model\":\"m\",\"max_tokens\":[64]}|-1",
        "{\"model\":\"m\",\"max_tokens\":123456789012345678901234567890}|-1"})
    void theTokenLimitIsReadAndABadOneIsLeftToTheBackend(String body, long expected) {
        assertEquals(expected, InferenceRequest.parse(utf8(body)).maxTokens());
    }

    private static String usageRequested(String body) {
        return new String(InferenceRequest.parse(utf8(body)).withUsageRequested(utf8(body)), StandardCharsets.UTF_8);
    }

    @Test
    void aStreamWithoutStreamOptionsGetsThemAsItsFirstMember() {
        String body = "{\"model\":\"m\",\"stream\":true}";
        InferenceRequest r = InferenceRequest.parse(utf8(body));
        assertTrue(r.usageRequestable());
        assertFalse(r.includeUsage());
        assertEquals(-1, r.streamOptionsStart());
        String out = usageRequested(body);
        assertEquals("{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}", out);
        assertTrue(InferenceRequest.parse(utf8(out)).includeUsage());
        assertEquals(" \n {\"stream_options\":{\"include_usage\":true}, \"stream\" : true , \"model\":\"é\" } ",
                usageRequested(" \n { \"stream\" : true , \"model\":\"é\" } "));
    }

    @Test
    void streamOptionsGetIncludeUsageAsTheirLastMember() {
        String body = "{\"model\":\"m\",\"stream_options\": {\"continuous_usage_stats\" : true } ,\"stream\":true}";
        InferenceRequest r = InferenceRequest.parse(utf8(body));
        assertEquals("{\"continuous_usage_stats\" : true }",
                body.substring(r.streamOptionsStart(), r.streamOptionsEnd()));
        assertEquals("{\"model\":\"m\",\"stream_options\": {\"continuous_usage_stats\" : true ,\"include_usage\":true} ,"
                + "\"stream\":true}", usageRequested(body));
        assertEquals("{\"stream\":true,\"stream_options\":{ \n\"include_usage\":true},\"model\":\"m\"}",
                usageRequested("{\"stream\":true,\"stream_options\":{ \n},\"model\":\"m\"}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\":\"m\"}",
                usageRequested("{\"stream\":true,\"stream_options\":{},\"model\":\"m\"}"));
    }

    @Test
    void anIncludeUsageOfFalseOrNullIsOverriddenByALaterTrue() {
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":false,\"include_usage\":true},\"model\":\"m\"}",
                usageRequested("{\"stream\":true,\"stream_options\":{\"include_usage\":false},\"model\":\"m\"}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":null,\"include_usage\":true},\"model\":\"m\"}",
                usageRequested("{\"stream\":true,\"stream_options\":{\"include_usage\":null},\"model\":\"m\"}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"model\":\"m\"}",
        "{\"model\":\"m\",\"stream\":false}",
        "{\"model\":\"m\",\"stream\":\"true\"}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":1}}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":null}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":[]}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":\"include_usage\"}"})
    void aBodyThatAskedForUsageDoesNotStreamOrHasOddStreamOptionsIsLeftAlone(String body) {
        byte[] bytes = utf8(body);
        InferenceRequest r = InferenceRequest.parse(bytes);
        assertFalse(r.usageRequestable());
        assertSame(bytes, r.withUsageRequested(bytes));
    }

    @Test
    void theIncludeUsageFlagIsReadFromTheTopLevelStreamOptionsOnly() {
        assertTrue(InferenceRequest.parse(utf8("{\"model\":\"m\",\"stream_options\":{\"x\":{\"include_usage\":false},"
                + "\"include_usage\":true}}")).includeUsage());
        assertFalse(InferenceRequest.parse(utf8("{\"model\":\"m\",\"stream_options\":{\"x\":{\"include_usage\":true}}}"))
                .includeUsage());
        assertFalse(InferenceRequest.parse(utf8("{\"model\":\"m\",\"x\":{\"stream_options\":{\"include_usage\":true}}}"))
                .includeUsage());
    }

    @Test
    void theModelRewriteAndTheUsageRequestComposeInEitherOrder() {
        String before = "{\"stream_options\":{\"continuous_usage_stats\":true},\"messages\":[{\"role\":\"user\","
                + "\"content\":\"héllo ☃\"}],\"model\":\"short\",\"stream\":true}";
        assertEquals("{\"stream_options\":{\"continuous_usage_stats\":true,\"include_usage\":true},\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"héllo ☃\"}],\"model\":\"a/much-longer\",\"stream\":true}",
                new String(InferenceRequest.parse(utf8(before)).rewrite(utf8(before), "a/much-longer", true),
                        StandardCharsets.UTF_8));
        String after = "{\"model\":\"a/much-longer\",\"messages\":[{\"role\":\"user\",\"content\":\"ünï ✓\"}],"
                + "\"stream\":true,\"stream_options\":{}}";
        assertEquals("{\"model\":\"s\",\"messages\":[{\"role\":\"user\",\"content\":\"ünï ✓\"}],"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                new String(InferenceRequest.parse(utf8(after)).rewrite(utf8(after), "s", true), StandardCharsets.UTF_8));
        String none = "{\"model\":\"m\",\"stream\":true}";
        assertEquals("{\"stream_options\":{\"include_usage\":true},\"model\":\"up/m\",\"stream\":true}",
                new String(InferenceRequest.parse(utf8(none)).rewrite(utf8(none), "up/m", true), StandardCharsets.UTF_8));
        byte[] untouched = utf8(none);
        assertSame(untouched, InferenceRequest.parse(untouched).rewrite(untouched, null, false));
    }
}
