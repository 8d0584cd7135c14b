package dev.apirouter.metrics;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.call.TokenUsage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyUsageTest {
    private final AtomicLong now = new AtomicLong(1_800_000_000_000L);
    private final KeyUsage usage = new KeyUsage(now::get);

    @Test
    void aWindowSumsPerKeyAndPerModelAndNamesTheLastUse() {
        usage.record("team-a", "llama", false, new TokenUsage(10, 5));
        usage.record("team-a", "bge", true, null);
        now.addAndGet(Duration.ofMinutes(30).toMillis());
        usage.record("team-b", "llama", false, new TokenUsage(1, 1));
        JsonNode w = usage.window(Duration.ofMinutes(10));
        assertEquals(2, w.get("keys").size());
        assertEquals(1, w.get("keys").get(1).get("requests").asInt(), "team-b");
        assertEquals(0, w.get("keys").get(0).get("requests").asInt(), "team-a: nothing in the last 10 minutes");
        assertEquals(1, w.get("models").size());
        JsonNode hour = usage.window(Duration.ofHours(1));
        JsonNode a = hour.get("keys").get(0);
        assertEquals("team-a", a.get("name").asText());
        assertEquals(2, a.get("requests").asInt());
        assertEquals(1, a.get("limited").asInt());
        assertEquals(10, a.get("models").get("llama").get("inputTokens").asInt());
        assertTrue(a.get("lastUsedAt").asText().startsWith("2027-01-15T08:00"), a.toString());
        assertEquals(2, hour.get("models").size());
        assertEquals(11, hour.get("models").get(1).get("inputTokens").asInt(), "llama, both keys");
        JsonNode b = usage.ofName("team-b", Duration.ofHours(24));
        assertEquals(1, b.get("outputTokens").asInt());
        assertTrue(usage.ofName("nobody", Duration.ofHours(24)).get("lastUsedAt").isNull());
        assertTrue(usage.json().contains("\"team-a\""));
    }
}
