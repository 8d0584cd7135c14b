package dev.apirouter.error;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ErrorShapeTest {
    @Test
    void theMessagesApiAndItsSubPathsGetTheAnthropicShape() {
        assertEquals(ErrorShape.ANTHROPIC, ErrorShape.forPath("/v1/messages"));
        assertEquals(ErrorShape.ANTHROPIC, ErrorShape.forPath("/v1/messages/count_tokens"));
    }

    @Test
    void everyOtherPathGetsTheOpenAiShape() {
        for (String path : new String[] {null, "", "/", "/v1/chat/completions", "/v1/messagesx", "/v1/message",
                "/v2/messages", "/v1/responses"}) {
            assertEquals(ErrorShape.OPENAI, ErrorShape.forPath(path), String.valueOf(path));
        }
    }
}
