package dev.apirouter.health;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.Timeouts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class PolicyStatusTest {
    @Test
    void listsBackendsWithHealthAndCountsKeysWithoutTheirHashes() throws Exception {
        Backend backend = new Backend("http://vllm-0.internal:8000", 2);
        String hash = ApiKeys.sha256Hex("sk-policy-status");
        KeyRecord key = new KeyRecord("team", java.util.Set.of("*"), false, Optional.empty());
        PolicyView view = new PolicyView(
                Map.of("m", new ModelPolicy("m", Optional.of("up"), List.of(backend), Timeouts.DEFAULTS)),
                Map.of(hash, key), Map.of(), PolicySource.FILE, 3, Instant.EPOCH);
        BackendHealthMonitor health = new BackendHealthMonitor(1, 1);
        health.recordFailure(backend.url(), "refused");

        String json = new PolicyStatus(FixedStore.etcd(view), health, FixedStore.fleet()).json();

        JsonNode root = new ObjectMapper().readTree(json);
        assertEquals(1, root.get("keys").asInt());
        assertFalse(json.contains(hash.substring(0, 8)), "only a key count, never key hashes: " + json);
        assertEquals("{\"url\":\"http://vllm-0.internal:8000\",\"weight\":2,\"healthy\":false}",
                root.get("models").get("m").get("backends").get(0).toString());
        assertEquals("up", root.get("models").get("m").get("upstreamModel").asText());
    }
}
