package dev.apirouter.steps;

import java.time.Duration;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.limits.Limiter;
import dev.apirouter.limits.LocalCounters;
import dev.apirouter.routing.BackendHealth;
import dev.apirouter.routing.Router;
import dev.apirouter.routing.RoutingObserver;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A policy, a store and bare exchanges for the steps' unit tests: no route, no running Camel. */
final class Fixtures {
    static final String KEY = "sk-step-test";
    static final String LIMITED = "sk-step-limited";
    /** Never started: exchanges need a context object, the steps never use it. */
    private static final DefaultCamelContext CAMEL = new DefaultCamelContext();

    private Fixtures() {
    }

    static PolicyView view() {
        return PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", utf8("{\"upstreamModel\":\"up/m\",\"backends\":[{\"url\":\"http://b1:1\"},{\"url\":\"http://b2:1\"}]}"))
                .putModel("other", utf8("{\"backends\":[{\"url\":\"http://b3:1\"}]}"))
                .putKey(ApiKeys.sha256Hex(KEY), utf8("{\"name\":\"t\",\"models\":[\"*\"]}"))
                .putKey(ApiKeys.sha256Hex(LIMITED), utf8("{\"name\":\"l\",\"models\":[\"m\"]}"))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
    }

    static PolicyStore store(PolicyView view) {
        return new PolicyStore() {
            public Optional<PolicyView> current() {
                return Optional.ofNullable(view);
            }

            public StoreStatus status() {
                return new StoreStatus("test", view != null, "");
            }

            public void start() {
            }

            public void close() {
            }
        };
    }

    /** A router with the defaults, every backend healthy, nothing scraped. */
    static Router router() {
        return new Router(new Fleet(Duration.ofSeconds(2), 5, Duration.ofSeconds(5), Duration.ofMinutes(5),
                System::nanoTime), BackendHealth.ALWAYS_HEALTHY, () -> 0.5, RoutingObserver.NONE);
    }

    /** The rate-limit step with in-process counters. */
    static RateLimit rateLimit() {
        return new RateLimit(new Limiter(new LocalCounters(), System::currentTimeMillis));
    }

    static Exchange exchange() {
        return new DefaultExchange(CAMEL);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void assertRefused(ErrorCode code, Executable step) {
        assertEquals(code, assertThrows(GatewayException.class, step).code());
    }
}
