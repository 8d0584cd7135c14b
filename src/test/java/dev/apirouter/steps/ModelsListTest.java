package dev.apirouter.steps;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.policy.PolicyView;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ModelsListTest {
    @Test
    void listsTheModelsTheKeyMayUseAndKeepsOnlyTheRequestIdHeader() throws Exception {
        PolicyView view = Fixtures.view();
        Exchange exchange = Fixtures.exchange();
        GatewayCall.of(exchange).authenticated(view, view.key(ApiKeys.sha256Hex(Fixtures.LIMITED)).orElseThrow());
        exchange.getMessage().setHeader("X-Request-Id", "rid");
        exchange.getMessage().setHeader("X-Other", "dropped");
        new ModelsList().process(exchange);
        JsonNode list = new ObjectMapper().readTree(exchange.getMessage().getBody(String.class));
        assertEquals("list", list.get("object").asText());
        assertEquals(1, list.get("data").size());
        assertEquals("m", list.get("data").get(0).get("id").asText());
        assertEquals(200, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        assertEquals("rid", exchange.getMessage().getHeader("X-Request-Id"));
        assertNull(exchange.getMessage().getHeader("X-Other"));
    }
}
