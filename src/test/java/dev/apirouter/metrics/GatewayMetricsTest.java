package dev.apirouter.metrics;

import java.util.Map;
import java.util.Optional;

import dev.apirouter.call.TokenUsage;
import dev.apirouter.http.InflightLimiter;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewayMetricsTest {
    private static final Backend B = new Backend("http://127.0.0.1:9", 1);

    private static GatewayMetrics metrics() {
        PolicyStore nothingLoaded = new PolicyStore() {
            public Optional<PolicyView> current() {
                return Optional.empty();
            }

            public StoreStatus status() {
                return new StoreStatus("file", false, "loading");
            }

            public void start() {
            }

            public void close() {
            }
        };
        return new GatewayMetrics(new InflightLimiter(10), nothingLoaded, Map::of, route -> route);
    }

    private static double value(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError(series + " not in\n" + scrape));
    }

    @Test
    void tokenUsageAddsUpByModelAndType() {
        GatewayMetrics metrics = metrics();
        metrics.tokensUsed("m", B, new TokenUsage(12, 5));
        metrics.tokensUsed("m", B, new TokenUsage(3, 4));
        metrics.tokensUsed("e", B, new TokenUsage(7, -1)); // embeddings: no completion tokens
        String scrape = metrics.scrape();
        assertEquals(15, value(scrape, "api_router_tokens_total{model=\"m\",type=\"input\"}"));
        assertEquals(9, value(scrape, "api_router_tokens_total{model=\"m\",type=\"output\"}"));
        assertEquals(7, value(scrape, "api_router_tokens_total{model=\"e\",type=\"input\"}"));
        assertEquals(0, value(scrape, "api_router_tokens_total{model=\"e\",type=\"output\"}"));
        assertTrue(scrape.contains("# TYPE api_router_tokens_total counter"));
    }

    @Test
    void policyGaugesSayMinusOneBeforeAnyPolicy() {
        String scrape = metrics().scrape();
        assertEquals(-1, value(scrape, "api_router_policy_revision"));
        assertEquals(0, value(scrape, "api_router_requests_in_flight"));
    }
}
