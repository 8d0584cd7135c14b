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

    @Test
    void hasTheAnthropicShapeForTheMessagesApi() throws Exception {
        byte[] body = ErrorBody.of(ErrorShape.ANTHROPIC, ErrorCode.INVALID_API_KEY, "The API key \"x\" is unknown.");
        JsonNode json = new ObjectMapper().readTree(body);
        assertEquals("error", json.get("type").asText());
        assertEquals("authentication_error", json.get("error").get("type").asText());
        assertEquals("The API key \"x\" is unknown.", json.get("error").get("message").asText());
        assertEquals(2, json.size());
        assertEquals(2, json.get("error").size());
    }

    @Test
    void everyCodeHasTheAnthropicTypeOfItsStatus() {
        assertEquals("invalid_request_error", ErrorCode.INVALID_REQUEST.anthropicType());
        assertEquals("invalid_request_error", ErrorCode.REQUEST_TIMEOUT.anthropicType());
        assertEquals("authentication_error", ErrorCode.INVALID_API_KEY.anthropicType());
        assertEquals("permission_error", ErrorCode.MODEL_NOT_ALLOWED.anthropicType());
        assertEquals("not_found_error", ErrorCode.MODEL_NOT_FOUND.anthropicType());
        assertEquals("request_too_large", ErrorCode.REQUEST_TOO_LARGE.anthropicType());
        assertEquals("rate_limit_error", ErrorCode.RATE_LIMITED.anthropicType());
        assertEquals("rate_limit_error", ErrorCode.INSUFFICIENT_QUOTA.anthropicType());
        assertEquals("api_error", ErrorCode.INTERNAL_ERROR.anthropicType());
        assertEquals("api_error", ErrorCode.UPSTREAM_UNAVAILABLE.anthropicType());
        assertEquals("overloaded_error", ErrorCode.OVERLOADED.anthropicType());
        assertEquals("overloaded_error", ErrorCode.NO_POLICY.anthropicType());
        assertEquals("timeout_error", ErrorCode.UPSTREAM_TIMEOUT.anthropicType());
    }
}
