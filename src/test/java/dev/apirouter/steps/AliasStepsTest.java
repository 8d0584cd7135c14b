package dev.apirouter.steps;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static dev.apirouter.steps.Fixtures.assertRefused;
import static dev.apirouter.steps.Fixtures.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Model aliases through the steps: policy-enrich, models-list, model-retrieve. */
class AliasStepsTest {
    static final String ALL = "sk-all";
    static final String CANONICAL = "sk-canonical";
    static final String ALIAS_ONLY = "sk-alias-only";
    private final PolicyView view = PolicyView.empty(PolicySource.FILE).toBuilder()
            .putModel("m", utf8("{\"upstreamModel\":\"up/m\",\"aliases\":[\"gpt-4o-mini\",\"small\"],"
                    + "\"backends\":[{\"url\":\"http://b1:1\"}]}"))
            .putModel("plain", utf8("{\"aliases\":[\"p\"],\"backends\":[{\"url\":\"http://b2:1\"}]}"))
            .putKey(ApiKeys.sha256Hex(ALL), utf8("{\"name\":\"a\",\"models\":[\"*\"]}"))
            .putKey(ApiKeys.sha256Hex(CANONICAL), utf8("{\"name\":\"c\",\"models\":[\"m\"]}"))
            .putKey(ApiKeys.sha256Hex(ALIAS_ONLY), utf8("{\"name\":\"o\",\"models\":[\"small\"]}"))
            .build(PolicySource.FILE, 1, Instant.EPOCH);
    private final PolicyEnrich enrich = new PolicyEnrich(new KeyAuthorizer(Clock.systemUTC()), Fixtures.router());

    private Exchange exchange(String key) {
        Exchange exchange = Fixtures.exchange();
        GatewayCall.of(exchange).authenticated(view, view.key(ApiKeys.sha256Hex(key)).orElseThrow());
        return exchange;
    }

    private GatewayCall enrich(String key, String body) {
        Exchange exchange = exchange(key);
        exchange.getMessage().setBody(utf8(body));
        enrich.process(exchange);
        return GatewayCall.of(exchange);
    }

    private static String upstream(GatewayCall call) {
        return new String(call.upstreamBody(), StandardCharsets.UTF_8);
    }

    @Test
    void anAliasSelectsTheModelAndTheBackendGetsItsUpstreamOrOwnName() {
        GatewayCall call = enrich(ALL, "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\"}");
        assertEquals("m", call.modelPolicy().name());
        assertEquals("{\"model\":\"up/m\",\"input\":\"hi\"}", upstream(call));
        assertEquals("{\"model\":\"plain\",\"query\":\"q\"}", upstream(enrich(ALL, "{\"model\":\"p\",\"query\":\"q\"}")),
                "no upstreamModel: the model's own name, not the alias");
        assertEquals("{\"model\":\"plain\"}", upstream(enrich(ALL, "{\"model\":\"plain\"}")));
    }

    @Test
    void theAllowListAppliesToTheNameUsedOrTheModelsOwnName() {
        assertEquals("m", enrich(CANONICAL, "{\"model\":\"small\"}").modelPolicy().name());
        assertEquals("m", enrich(ALIAS_ONLY, "{\"model\":\"small\"}").modelPolicy().name());
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> enrich(ALIAS_ONLY, "{\"model\":\"m\"}"));
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> enrich(ALIAS_ONLY, "{\"model\":\"gpt-4o-mini\"}"));
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> enrich(CANONICAL, "{\"model\":\"p\"}"));
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> enrich(CANONICAL, "{\"model\":\"absent\"}"));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> enrich(ALL, "{\"model\":\"absent\"}"));
    }

    private JsonNode list(String key) throws Exception {
        Exchange exchange = exchange(key);
        new ModelsList().process(exchange);
        return new ObjectMapper().readTree(exchange.getMessage().getBody(String.class));
    }

    private static String ids(JsonNode list) {
        StringBuilder sb = new StringBuilder();
        list.get("data").forEach(m -> sb.append(sb.length() == 0 ? "" : ",").append(m.get("id").asText()));
        return sb.toString();
    }

    @Test
    void theListNamesEachAliasTheKeyMayCall() throws Exception {
        assertEquals("gpt-4o-mini,m,p,plain,small", ids(list(ALL)));
        assertEquals("gpt-4o-mini,m,small", ids(list(CANONICAL)));
        assertEquals("small", ids(list(ALIAS_ONLY)));
    }

    private JsonNode retrieve(String key, String id) throws Exception {
        Exchange exchange = exchange(key);
        exchange.getMessage().setHeader(ModelRetrieve.ID, id);
        new ModelRetrieve().process(exchange);
        assertEquals(200, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        return new ObjectMapper().readTree(exchange.getMessage().getBody(String.class));
    }

    @Test
    void retrieveAnswersTheModelsTheKeyMayCallElse404() throws Exception {
        JsonNode model = retrieve(CANONICAL, "gpt-4o-mini");
        assertEquals("gpt-4o-mini", model.get("id").asText());
        assertEquals("model", model.get("object").asText());
        assertEquals("api-router", model.get("owned_by").asText());
        assertEquals("m", retrieve(ALL, "m").get("id").asText());
        assertEquals("small", retrieve(ALIAS_ONLY, "small").get("id").asText());
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> retrieve(ALIAS_ONLY, "m"));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> retrieve(CANONICAL, "plain"));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> retrieve(ALL, "absent"));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> retrieve(ALL, null));
    }
}
