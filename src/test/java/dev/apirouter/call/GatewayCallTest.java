package dev.apirouter.call;

import java.util.List;
import java.util.Optional;

import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Timeouts;
import dev.apirouter.routing.Reason;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewayCallTest {
    private final Exchange exchange = new DefaultExchange(new DefaultCamelContext());

    @Test
    void theCallAttachedToAnExchangeIsTheOneEveryStepReads() {
        GatewayCall call = new GatewayCall("rid", null, null);
        call.attachTo(exchange);
        assertSame(call, GatewayCall.of(exchange));
    }

    @Test
    void anExchangeFromOutsideTheHttpLayerGetsOneOnFirstUse() {
        exchange.getMessage().setHeader(HeaderNames.REQUEST_ID, "from-test");
        GatewayCall call = GatewayCall.of(exchange);
        assertEquals("from-test", call.requestId());
        assertNull(call.clientResponse());
        assertSame(call, GatewayCall.of(exchange));
    }

    @Test
    void theRouteWritesTheResponseUntilABackendAnswered() {
        GatewayCall call = GatewayCall.of(exchange);
        assertFalse(call.responseStreamed());
        assertNull(call.chosenBackend());
        Backend backend = new Backend("http://b:1", 1);
        call.backendAnswered(new ForwardResult(backend, 201, ForwardResult.Outcome.COMPLETED, false, null, null));
        assertTrue(call.responseStreamed());
        assertSame(backend, call.chosenBackend());
        assertEquals(201, call.answer().status());
    }

    @Test
    void aPinnedCallGoesToItsOneBackendOnItsPathWithoutABodyAndPinsItsAnswersIds() {
        GatewayCall call = GatewayCall.of(exchange);
        assertNull(call.upstreamPath());
        assertNull(call.responseIdsModel());
        Backend backend = new Backend("http://b:1", 1);
        ModelPolicy policy = new ModelPolicy("m", Optional.empty(), List.of(new Backend("http://a:1", 1), backend),
                Timeouts.DEFAULTS);
        call.pinned(policy, backend, "/v1/responses/resp_1", "alias");
        assertEquals(List.of(backend), call.candidates());
        assertEquals(Reason.PINNED, call.decision().reason());
        assertSame(policy, call.modelPolicy());
        assertEquals("/v1/responses/resp_1", call.upstreamPath());
        assertEquals(0, call.upstreamBody().length);
        assertEquals("alias", call.responseIdsModel());
    }
}
