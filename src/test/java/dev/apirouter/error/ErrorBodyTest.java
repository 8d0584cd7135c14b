package dev.apirouter.error;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorBodyTest {
    @Test
    void hasTheOpenAiShapeAndEscapes() throws Exception {
        byte[] body = ErrorBody.of(ErrorCode.MODEL_NOT_FOUND, "The model 'a\"b\n' does not exist.");
        JsonNode error = new ObjectMapper().readTree(body).get("error");
        assertEquals("The model 'a\"b\n' does not exist.", error.get("message").asText());
        assertEquals("invalid_request_error", error.get("type").asText());
        assertTrue(error.get("param").isNull());
        assertEquals("model_not_found", error.get("code").asText());
        assertTrue(new String(body, StandardCharsets.UTF_8).startsWith("{\"error\":{\"message\":"));
    }
}
