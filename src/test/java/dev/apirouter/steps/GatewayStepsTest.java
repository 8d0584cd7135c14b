package dev.apirouter.steps;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;
import dev.apirouter.auth.KeyAuthorizer;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The gateway's steps chained as the YAML routes chain them, with the backend replaced by a mock. */
class GatewayStepsTest extends CamelTestSupport {
    static final String KEY = "sk-route-test";
    static final String LIMITED = "sk-route-limited";
    static final ObjectMapper JSON = new ObjectMapper();
    final AtomicReference<PolicyView> view = new AtomicReference<>();

    @Override
    protected RoutesBuilder[] createRouteBuilders() {
        view.set(PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", utf8("{\"upstreamModel\":\"up/m\",\"backends\":[{\"url\":\"http://b1:1\"},{\"url\":\"http://b2:1\"}]}"))
                .putModel("other", utf8("{\"backends\":[{\"url\":\"http://b3:1\"}]}"))
                .putKey(ApiKeys.sha256Hex(KEY), utf8("{\"name\":\"t\",\"models\":[\"*\"]}"))
                .putKey(ApiKeys.sha256Hex(LIMITED), utf8("{\"name\":\"l\",\"models\":[\"m\"]}"))
                .build(PolicySource.FILE, 1, Instant.EPOCH));
        PolicyStore store = new PolicyStore() {
            public Optional<PolicyView> current() {
                return Optional.ofNullable(view.get());
            }

            public StoreStatus status() {
                return new StoreStatus("test", true, "");
            }

            public void start() {
            }

            public void close() {
            }
        };
        new GatewaySteps(store, new KeyAuthorizer(Clock.systemUTC()), Fixtures.router(), Fixtures.rateLimit(),
                exchange -> exchange.getContext().createProducerTemplate().send("mock:backend", exchange))
                .bindTo(context.getRegistry()::bind);
        RouteBuilder chain = new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:chat").process(AuthValidate.NAME).process(PolicyEnrich.NAME)
                        .process(BackendDispatch.NAME).to("mock:after");
                from("direct:models").process(AuthValidate.NAME).process(ModelsList.NAME);
            }
        };
        return new RoutesBuilder[] {GatewaySteps.errorConfiguration(), chain};
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    Exchange call(String endpoint, String key, String body) {
        return template.request(endpoint, e -> {
            if (key != null) {
                e.getMessage().setHeader("Authorization", "Bearer " + key);
            }
            e.getMessage().setHeader("X-Request-Id", "rid");
            e.getMessage().setBody(body == null ? null : utf8(body));
        });
    }

    @Test
    void aValidRequestReachesTheBackendEnriched() throws Exception {
        MockEndpoint backend = getMockEndpoint("mock:backend");
        backend.expectedMessageCount(1);
        call("direct:chat", KEY, "{\"model\":\"m\",\"stream\":true}");
        backend.assertIsSatisfied();
        Exchange sent = backend.getExchanges().get(0);
        assertEquals("{\"model\":\"up/m\",\"stream\":true}",
                new String(GatewayCall.of(sent).upstreamBody(), StandardCharsets.UTF_8));
        assertEquals(2, GatewayCall.of(sent).candidates().size());
        assertEquals(null, sent.getMessage().getHeader("Authorization"), "credentials leave the message at auth-validate");
        assertEquals(Backend.class, GatewayCall.of(sent).candidates().get(0).getClass());
    }

    @Test
    void errorsStopTheChainAndHaveTheContractShape() throws Exception {
        MockEndpoint backend = getMockEndpoint("mock:backend");
        MockEndpoint after = getMockEndpoint("mock:after");
        backend.expectedMessageCount(0);
        after.expectedMessageCount(0);
        assertError(call("direct:chat", null, "{\"model\":\"m\"}"), 401, "invalid_api_key");
        assertError(call("direct:chat", "sk-wrong", "{\"model\":\"m\"}"), 401, "invalid_api_key");
        assertError(call("direct:chat", KEY, "{\"model\""), 400, "invalid_request");
        assertError(call("direct:chat", KEY, null), 400, "invalid_request");
        assertError(call("direct:chat", LIMITED, "{\"model\":\"other\"}"), 403, "model_not_allowed");
        assertError(call("direct:chat", KEY, "{\"model\":\"absent\"}"), 404, "model_not_found");
        view.set(null);
        assertError(call("direct:chat", KEY, "{\"model\":\"m\"}"), 503, "no_policy");
        backend.assertIsSatisfied();
        after.assertIsSatisfied();
    }

    @Test
    void modelsAreFilteredByKey() throws Exception {
        Exchange e = call("direct:models", LIMITED, null);
        JsonNode list = JSON.readTree(e.getMessage().getBody(String.class));
        assertEquals(1, list.get("data").size());
        assertEquals("m", list.get("data").get(0).get("id").asText());
        assertEquals("rid", e.getMessage().getHeader("X-Request-Id"));
    }

    void assertError(Exchange e, int status, String code) throws Exception {
        assertEquals(status, e.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        assertEquals("application/json", e.getMessage().getHeader(Exchange.CONTENT_TYPE));
        assertEquals("rid", e.getMessage().getHeader("X-Request-Id"));
        JsonNode error = JSON.readTree(e.getMessage().getBody(byte[].class)).get("error");
        assertEquals(code, error.get("code").asText());
        assertEquals(null, e.getException());
    }
}
