package dev.apirouter.steps;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.forward.ResponseIds;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.Reason;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static dev.apirouter.steps.Fixtures.assertRefused;
import static dev.apirouter.steps.Fixtures.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ResponsePinTest {
    private final PolicyView view = Fixtures.view();
    private final Backend b2 = view.model("m").orElseThrow().backends().get(1);
    private final Backend b3 = view.model("other").orElseThrow().backends().get(0);
    private final ResponsePin pin = new ResponsePin();

    private Exchange exchange(String key) {
        Exchange exchange = Fixtures.exchange();
        GatewayCall.of(exchange).authenticated(view, view.key(ApiKeys.sha256Hex(key)).orElseThrow());
        return exchange;
    }

    private GatewayCall byId(String key, String path, String id) {
        Exchange exchange = exchange(key);
        exchange.getMessage().setHeader(ResponsePin.ID, id);
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, path);
        pin.process(exchange);
        return GatewayCall.of(exchange);
    }

    private GatewayCall create(String key, String body) {
        Exchange exchange = exchange(key);
        exchange.getMessage().setBody(utf8(body));
        new PolicyEnrich(new KeyAuthorizer(Clock.systemUTC()), Fixtures.router()).process(exchange);
        pin.process(exchange);
        return GatewayCall.of(exchange);
    }

    @Test
    void aRequestForAResponseGoesToItsBackendAloneWithTheBackendsId() {
        String id = ResponseIds.pin("resp_1", "m", b2);
        GatewayCall call = byId(Fixtures.LIMITED, "/v1/responses/" + id + "/cancel", id);
        assertEquals(List.of(b2), call.candidates());
        assertEquals(Reason.PINNED, call.decision().reason());
        assertEquals("m", call.modelPolicy().name());
        assertEquals("/v1/responses/resp_1/cancel", call.upstreamPath());
        assertEquals("m", call.responseIdsModel(), "its answer's ids are pinned again");
        assertEquals(0, call.upstreamBody().length);
    }

    @Test
    void anIdThatIsNotTheGatewaysOrNotTheKeysIsNotFound() {
        assertRefused(ErrorCode.NOT_FOUND, () -> byId(Fixtures.KEY, "/v1/responses/resp_1", "resp_1"));
        String other = ResponseIds.pin("resp_1", "other", b3);
        assertRefused(ErrorCode.NOT_FOUND, () -> byId(Fixtures.LIMITED, "/v1/responses/" + other, other));
        String gone = ResponseIds.pin("resp_1", "m", new Backend("http://removed:1", 1));
        assertRefused(ErrorCode.NOT_FOUND, () -> byId(Fixtures.KEY, "/v1/responses/" + gone, gone));
        String absent = ResponseIds.pin("resp_1", "absent", b2);
        assertRefused(ErrorCode.NOT_FOUND, () -> byId(Fixtures.KEY, "/v1/responses/" + absent, absent));
        assertEquals(List.of(b3), byId(Fixtures.KEY, "/v1/responses/" + other, other).candidates());
    }

    @Test
    void aCreatePinsTheIdsOfItsAnswerUnderTheModelAsCalled() {
        GatewayCall call = create(Fixtures.KEY, "{\"model\":\"m\",\"input\":\"hi\"}");
        assertEquals("m", call.responseIdsModel());
        assertNull(call.upstreamPath());
        assertEquals(2, call.candidates().size(), "routed as usual");
    }

    @Test
    void aPreviousResponseIdSendsTheCreateToItsBackendWithTheBackendsId() {
        String previous = ResponseIds.pin("resp_prev", "m", b2);
        GatewayCall call = create(Fixtures.KEY, "{\"model\":\"m\",\"previous_response_id\":\"" + previous
                + "\",\"input\":\"and then?\"}");
        assertEquals(List.of(b2), call.candidates());
        assertEquals(Reason.PINNED, call.decision().reason());
        assertEquals("{\"model\":\"up/m\",\"previous_response_id\":\"resp_prev\",\"input\":\"and then?\"}",
                new String(call.upstreamBody(), StandardCharsets.UTF_8));
        String elsewhere = ResponseIds.pin("resp_prev", "other", b3);
        assertRefused(ErrorCode.NOT_FOUND, () -> create(Fixtures.KEY, "{\"model\":\"m\",\"previous_response_id\":\""
                + elsewhere + "\",\"input\":\"x\"}"));
        GatewayCall foreign = create(Fixtures.KEY, "{\"model\":\"m\",\"previous_response_id\":\"resp_raw\",\"input\":\"x\"}");
        assertEquals(2, foreign.candidates().size(), "an id the gateway did not give out is the backend's to judge");
    }
}
