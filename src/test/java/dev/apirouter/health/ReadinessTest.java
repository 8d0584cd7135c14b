package dev.apirouter.health;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.Timeouts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReadinessTest {
    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    private static final Backend UP = new Backend("http://vllm-0.internal:8000", 1);
    private static final Backend DOWN = new Backend("http://vllm-1.internal:8000", 1);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BackendHealthMonitor health = new BackendHealthMonitor(1, 1);

    private Readiness readiness() {
        ModelPolicy m = new ModelPolicy("m", Optional.empty(), List.of(UP, DOWN), Timeouts.DEFAULTS);
        PolicyView view = new PolicyView(Map.of("m", m), Map.of(), Map.of("models/x",
                "backends[0].url: not a URL: http://secret-host:1/"), PolicySource.ETCD, 7, NOW);
        health.recordFailure(DOWN.url(), "connection refused");
        Readiness readiness = new Readiness(FixedStore.etcd(view), health, FixedStore.fleet(), () -> null, () -> NOW);
        readiness.addCheck(() -> new Readiness.Check("extra", true, Map.of("count", 1),
                Map.of("count", 1, "where", "/etc/somewhere")));
        return readiness;
    }

    private static JsonNode check(JsonNode answer, String name) {
        for (JsonNode check : answer.get("checks")) {
            if (check.get("name").asText().equals(name)) {
                return check;
            }
        }
        throw new AssertionError("no check " + name + ": " + answer);
    }

    @Test
    void theSummaryNamesEveryCheckWithCountsButNoUrlsPathsOrErrors() throws Exception {
        Readiness.Answer answer = readiness().evaluate(Readiness.Detail.SUMMARY);
        for (String hidden : List.of("vllm-0.internal", "vllm-1.internal", "etcd-0.internal", "secret-host", "http://",
                "refused", "/etc/somewhere")) {
            assertFalse(answer.json().contains(hidden), hidden + " in " + answer.json());
        }
        JsonNode json = JSON.readTree(answer.json());
        JsonNode backends = check(json, "backends").get("data").get("m");
        assertEquals(1, backends.get("healthy").asInt());
        assertEquals(2, backends.get("total").asInt());
        assertEquals("[1]", backends.get("unhealthy").toString(), "the unhealthy backend by its index");
        JsonNode store = check(json, "policy-store").get("data");
        assertEquals("etcd", store.get("store").asText());
        assertEquals("[\"models/x\"]", store.get("rejected").toString(), "rejected documents by id only");
        assertFalse(check(json, "etcd").get("data").get("connected").asBoolean());
        assertEquals("{\"count\":1}", check(json, "extra").get("data").toString());
    }

    @Test
    void theFullAnswerHasTheUrlsAndTheSameVerdict() throws Exception {
        Readiness readiness = readiness();
        Readiness.Answer full = readiness.evaluate(Readiness.Detail.FULL);
        Readiness.Answer summary = readiness.evaluate(Readiness.Detail.SUMMARY);
        assertEquals(summary.ready(), full.ready());
        assertFalse(full.ready(), "Camel is not running");
        JsonNode json = JSON.readTree(full.json());
        JsonNode unhealthy = check(json, "backends").get("data").get("m").get("unhealthy");
        assertEquals("[\"" + DOWN.url() + "\"]", unhealthy.toString());
        assertTrue(check(json, "etcd").get("data").get("detail").asText().contains("etcd-0.internal"));
        JsonNode rejected = check(json, "policy-store").get("data").get("rejected");
        assertTrue(rejected.get("models/x").asText().contains("not a URL"), rejected.toString());
        assertEquals("/etc/somewhere", check(json, "extra").get("data").get("where").asText());
    }
}
