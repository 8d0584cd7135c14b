package dev.apirouter.steps;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ErrorMapperTest {
    private static Exchange failed(Throwable caught) {
        Exchange exchange = Fixtures.exchange();
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, caught);
        exchange.getMessage().setHeader("X-Request-Id", "rid");
        exchange.getMessage().setHeader("X-Upstream-Secret", "dropped");
        return exchange;
    }

    @Test
    void aGatewayExceptionSaysWhatTheClientGets() throws Exception {
        Exchange exchange = failed(new RuntimeException("wrapped",
                new GatewayException(ErrorCode.MODEL_NOT_FOUND, "The model 'x' does not exist.")));
        new ErrorMapper().process(exchange);
        assertEquals(404, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        assertEquals("rid", exchange.getMessage().getHeader("X-Request-Id"));
        assertNull(exchange.getMessage().getHeader("X-Upstream-Secret"));
        JsonNode error = new ObjectMapper().readTree(exchange.getMessage().getBody(byte[].class)).get("error");
        assertEquals("model_not_found", error.get("code").asText());
    }

    @Test
    void anythingElseIsA500() throws Exception {
        Exchange exchange = failed(new IllegalStateException("bug"));
        new ErrorMapper().process(exchange);
        assertEquals(500, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        JsonNode error = new ObjectMapper().readTree(exchange.getMessage().getBody(byte[].class)).get("error");
        assertEquals("internal_error", error.get("code").asText());
    }

    @Test
    void onTheMessagesApiTheErrorHasTheAnthropicShape() throws Exception {
        Exchange exchange = failed(new GatewayException(ErrorCode.RATE_LIMITED, "Rate limit reached."));
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, "/v1/messages");
        new ErrorMapper().process(exchange);
        assertEquals(429, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        JsonNode body = new ObjectMapper().readTree(exchange.getMessage().getBody(byte[].class));
        assertEquals("error", body.get("type").asText());
        assertEquals("rate_limit_error", body.get("error").get("type").asText());
        assertEquals("Rate limit reached.", body.get("error").get("message").asText());
    }
}
