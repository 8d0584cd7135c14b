package dev.apirouter.steps;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.util.Map;

import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.policy.PolicyView;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static dev.apirouter.steps.Fixtures.assertRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class AuthValidateTest {
    private final PolicyView view = Fixtures.view();
    private final AuthValidate step = new AuthValidate(Fixtures.store(view), new KeyAuthorizer(Clock.systemUTC()));

    @Test
    void theHeadCheckRecordsTheViewAndTheKeyOnTheCall() {
        GatewayCall call = new GatewayCall("rid", null, null);
        step.check(head(Map.of("Authorization", "Bearer " + Fixtures.KEY)), call);
        assertSame(view, call.policyView());
        assertEquals("t", call.keyRecord().name());
        step.check(head(Map.of("x-api-key", Fixtures.LIMITED)), call);
        assertEquals("l", call.keyRecord().name());
    }

    @Test
    void theHeadCheckRefusesAMissingOrUnknownKey() {
        assertRefused(ErrorCode.INVALID_API_KEY, () -> step.check(head(Map.of()), new GatewayCall("rid", null, null)));
        assertRefused(ErrorCode.INVALID_API_KEY, () -> step.check(head(Map.of("Authorization", "Bearer sk-wrong")),
                new GatewayCall("rid", null, null)));
    }

    @Test
    void withoutAPolicyNothingIsServed() {
        AuthValidate noPolicy = new AuthValidate(Fixtures.store(null), new KeyAuthorizer(Clock.systemUTC()));
        assertRefused(ErrorCode.NO_POLICY, () -> noPolicy.check(head(Map.of("Authorization", "Bearer " + Fixtures.KEY)),
                new GatewayCall("rid", null, null)));
    }

    @Test
    void theStepChecksTheKeyWhenTheHeadWasNotCheckedAndDropsTheCredentials() {
        Exchange exchange = Fixtures.exchange();
        exchange.getMessage().setHeader("Authorization", "Bearer " + Fixtures.KEY);
        exchange.getMessage().setHeader("x-api-key", "ignored");
        step.process(exchange);
        assertEquals("t", GatewayCall.of(exchange).keyRecord().name());
        assertNull(exchange.getMessage().getHeader("Authorization"));
        assertNull(exchange.getMessage().getHeader("x-api-key"));
    }

    @Test
    void aKeyCheckedOnTheHeadIsNotCheckedAgain() {
        AuthValidate noPolicy = new AuthValidate(Fixtures.store(null), new KeyAuthorizer(Clock.systemUTC()));
        Exchange exchange = Fixtures.exchange();
        GatewayCall call = new GatewayCall("rid", null, null);
        step.check(head(Map.of("Authorization", "Bearer " + Fixtures.KEY)), call);
        call.attachTo(exchange);
        exchange.getMessage().setHeader("Authorization", "Bearer " + Fixtures.KEY);
        noPolicy.process(exchange); // would refuse (no policy) if it looked again
        assertNull(exchange.getMessage().getHeader("Authorization"));
    }

    @Test
    void theStepRefusesAMissingKey() {
        assertRefused(ErrorCode.INVALID_API_KEY, () -> step.process(Fixtures.exchange()));
    }

    /** A request head with these headers (looked up case-insensitively, as Vert.x does). */
    private static HttpServerRequest head(Map<String, String> headers) {
        return (HttpServerRequest) Proxy.newProxyInstance(AuthValidateTest.class.getClassLoader(),
                new Class<?>[] {HttpServerRequest.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("getHeader")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(args[0].toString()))
                            .map(Map.Entry::getValue).findFirst().orElse(null);
                });
    }
}
