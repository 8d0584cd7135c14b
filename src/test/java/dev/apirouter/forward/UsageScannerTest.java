package dev.apirouter.forward;

import java.nio.charset.StandardCharsets;

import dev.apirouter.call.TokenUsage;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class UsageScannerTest {
    static UsageScanner scan(String... chunks) {
        UsageScanner s = new UsageScanner();
        for (String c : chunks) {
            s.accept(Buffer.buffer(c.getBytes(StandardCharsets.UTF_8)));
        }
        return s;
    }

    @Test
    void aJsonAnswerHasItsUsageAndModelRead() {
        UsageScanner s = scan("{\"id\":\"x\",\"model\":\"m-1\",\"choices\":[{\"text\":\"hi\"}],",
                "\"usage\":{\"prompt_tokens\":12,\"total_tokens\":17,\"completion_tokens\":5,\"prompt_tokens_details\":null}}");
        assertEquals(new TokenUsage(12, 5), s.usage());
        assertEquals("m-1", s.responseModel());
    }

    @Test
    void embeddingsHaveInputTokensOnly() {
        assertEquals(new TokenUsage(7, -1), scan("{\"data\":[],\"model\":\"e\",\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}").usage());
    }

    @Test
    void aStreamsFinalUsageChunkIsFoundEvenWhenSplitAcrossChunks() {
        String last = "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\n";
        UsageScanner s = scan("data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n",
                last.substring(0, 70), last.substring(70), "data: [DONE]\n\n");
        assertEquals(new TokenUsage(3, 9), s.usage());
        assertEquals("m", s.responseModel());
    }

    @Test
    void theResponsesApisUsageIsReadUnderItsOwnNames() {
        assertEquals(new TokenUsage(4, 6), scan("{\"id\":\"resp_1\",\"object\":\"response\",\"model\":\"m\",\"output\":[],"
                + "\"usage\":{\"input_tokens\":4,\"input_tokens_details\":{\"cached_tokens\":1},\"output_tokens\":6,"
                + "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":10}}").usage());
        UsageScanner stream = scan("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"m\","
                + "\"usage\":null}}\n\n", "event: response.output_text.delta\ndata: {\"delta\":\"Hi\"}\n\n",
                "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"m\",\"usage\":"
                + "{\"input_tokens\":3,\"output_tokens\":1,\"total_tokens\":4}}}\n\n");
        assertEquals(new TokenUsage(3, 1), stream.usage());
        assertEquals("m", stream.responseModel());
    }

    @Test
    void anAnthropicMessageHasItsUsageRead() {
        assertEquals(new TokenUsage(9, 4), scan("{\"id\":\"chatcmpl-1\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"a b c d\"}],\"model\":\"m\",\"stop_reason\":\"max_tokens\","
                + "\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}").usage());
    }

    @Test
    void anAnthropicStreamAsVllmSendsItHasBothCountsInItsMessageDelta() {
        UsageScanner s = scan("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"c\","
                + "\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":7,\"output_tokens\":0}}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
                + "\"text\":\"Hi\"},\"index\":0}\n\n",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
                + "\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}\n\n",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        assertEquals(new TokenUsage(7, 3), s.usage());
        assertEquals("m", s.responseModel());
    }

    @Test
    void anAnthropicStreamWhoseMessageDeltaHasOutputTokensOnlyTakesItsInputFromMessageStart() {
        StringBuilder deltas = new StringBuilder();
        for (int i = 0; i < 400; i++) { // the message_start event is long out of the window by the end
            deltas.append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                    + "\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n");
        }
        UsageScanner s = scan("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
                + "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"usage\":"
                + "{\"input_tokens\":25,\"output_tokens\":1}}}\n\n", deltas.toString(),
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                + "\"usage\":{\"output_tokens\":400}}\n\n", "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        assertEquals(new TokenUsage(25, 400), s.usage());
    }

    @Test
    void onlyAStreamThatBeginsWithMessageStartLendsItsFirstUsage() {
        assertEquals(new TokenUsage(-1, 2), scan("data: {\"usage\":{\"input_tokens\":5}}\n\n",
                "data: {\"usage\":{\"output_tokens\":2}}\n\n").usage());
    }

    @Test
    void aStreamWithoutUsageHasNone() {
        assertNull(scan("data: {\"model\":\"m\",\"choices\":[{\"delta\":{}}]}\n\n", "data: [DONE]\n\n").usage());
        assertNull(scan("data: {\"model\":\"m\",\"choices\":[],\"usage\":null}\n\ndata: [DONE]\n\n").usage());
        assertNull(scan().usage());
    }

    @Test
    void onlyTheEndOfALongAnswerIsKept() {
        StringBuilder big = new StringBuilder("{\"model\":\"m\",\"data\":[");
        for (int i = 0; i < 20_000; i++) {
            big.append("0.125,");
        }
        big.append("0],\"usage\":{\"prompt_tokens\":4,\"total_tokens\":4}}");
        String text = big.toString();
        UsageScanner s = scan(text.substring(0, 50_000), text.substring(50_000, 50_001), text.substring(50_001));
        assertEquals(new TokenUsage(4, -1), s.usage());
        assertEquals("m", s.responseModel());
        assertEquals(new TokenUsage(4, -1), scan(text).usage());
    }

    @Test
    void garbageGivesNoUsage() {
        assertNull(scan("\"usage\":{\"prompt_tokens\":").usage());
        assertNull(scan("\"usage\": 5").usage());
    }

    @Test
    void manySmallChunksGrowTheWindowThenWrapIt() {
        StringBuilder events = new StringBuilder();
        UsageScanner s = new UsageScanner();
        for (int i = 0; i < 2_000; i++) {
            String event = "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"t" + i + "\"}}]}\n\n";
            events.append(event);
            s.accept(Buffer.buffer(event));
        }
        s.accept(Buffer.buffer("data: {\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2000}}\n\n"));
        s.accept(Buffer.buffer("data: [DONE]\n\n"));
        assertEquals(new TokenUsage(2, 2000), s.usage());
        assertEquals("m", s.responseModel());
    }

    @Test
    void onlyTopLevelIntegerMembersOfUsageCount() {
        byte[] json = ("{\"prompt_tokens_details\":{\"prompt_tokens\":99,\"cached_tokens\":1},\"note\":\"a \\\"}\\\" {[\","
                + " \"prompt_tokens\" : 5 ,\"completion_tokens\":\n7, \"total_tokens\":12} trailing").getBytes(StandardCharsets.UTF_8);
        assertEquals(new TokenUsage(5, 7), UsageScanner.readUsage(json, 0));
        assertNull(UsageScanner.readUsage("{\"prompt_tokens\":-1,\"completion_tokens\":\"7\"}".getBytes(StandardCharsets.UTF_8), 0));
        assertNull(UsageScanner.readUsage("{\"prompt_tokens\":5".getBytes(StandardCharsets.UTF_8), 0), "incomplete");
        assertNull(UsageScanner.readUsage("{\"total_tokens\":5}".getBytes(StandardCharsets.UTF_8), 0));
    }
}
