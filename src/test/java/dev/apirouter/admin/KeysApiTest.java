package dev.apirouter.admin;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.metrics.KeyUsage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeysApiTest {
    private static final Instant NOW = Instant.parse("2026-11-29T06:00:00Z");
    private final MemoryAdminStore store = new MemoryAdminStore();
    private final KeysApi keys = new KeysApi(store, new KeyUsage(), Clock.fixed(NOW, ZoneOffset.UTC));

    private static JsonNode json(String s) {
        return AdminJson.parse(s);
    }

    private static KeysApi.Target name(String name) {
        return new KeysApi.Target(name, Optional.empty());
    }

    private ErrorCode refusal(Runnable call) {
        return assertThrows(GatewayException.class, call::run).code();
    }

    @Test
    void createStoresOnlyTheHashAndShowsTheKeyOnce() {
        Outcome created = keys.create(json("{\"name\":\"team-a\",\"models\":[\"llama\"],\"limits\":{\"rpm\":60}}"));
        assertEquals(201, created.status());
        String key = created.body().get("key").asText();
        assertTrue(key.startsWith("sk-"), key);
        String hash = created.body().get("hash").asText();
        assertEquals(ApiKeys.sha256Hex(key), hash);
        String stored = store.raw("keys/" + hash);
        assertFalse(stored.contains(key), "the key itself is never stored");
        assertTrue(stored.contains("\"disabled\":false"), stored);
        assertEquals("key.create", created.action());
        assertEquals("team-a", created.target());
        ObjectNode listed = (ObjectNode) keys.list().get("data").get(0);
        assertFalse(listed.has("key"), "the list never shows a key");
        assertEquals(60, listed.get("limits").get("rpm").asInt());
        assertEquals(created.revision(), listed.get("revision").asLong());
    }

    @Test
    void badCreationsAreRefusedWithTheReason() {
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(json("{\"models\":[\"x\"]}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(json("{\"name\":\"a/b\",\"models\":[\"x\"]}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(json("{\"name\":\"a\",\"models\":[\"x\"],\"x\":1}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(json("{\"name\":\"a\",\"models\":[\"x\"],"
                + "\"limits\":{\"rpm\":0}}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(json("[1]"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.create(null)));
        assertTrue(store.list("keys/").isEmpty());
    }

    @Test
    void updateChangesEveryRecordOfTheNameAndNullRemoves() {
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"],\"limits\":{\"rpm\":5}}"));
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"],\"limits\":{\"rpm\":5}}"));
        keys.create(json("{\"name\":\"other\",\"models\":[\"a\"]}"));
        Outcome updated = keys.update(name("t"), json("{\"models\":[\"a\",\"b\"],\"limits\":null}"));
        assertEquals(2, updated.records());
        for (JsonNode k : keys.get(name("t")).get("data")) {
            assertEquals(2, k.get("models").size());
            assertFalse(k.has("limits"));
        }
        assertEquals(1, keys.get(name("other")).get("data").get(0).get("models").size());
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.update(name("t"), json("{\"name\":\"u\"}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.update(name("t"), json("{\"models\":null}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.update(name("t"), json("{}"))));
        assertEquals(ErrorCode.KEY_NOT_FOUND, refusal(() -> keys.update(name("nobody"), json("{\"disabled\":true}"))));
    }

    @Test
    void aHashPrefixNarrowsTheTarget() {
        String hash = keys.create(json("{\"name\":\"t\",\"models\":[\"a\"]}")).body().get("hash").asText();
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"]}"));
        Outcome one = keys.setDisabled(new KeysApi.Target("t", Optional.of(hash.substring(0, 8))), true);
        assertEquals(1, one.records());
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> new KeysApi.Target("t", Optional.of("xyz"))));
    }

    @Test
    void rotateMakesANewKeyAndEndsTheOldOnesAfterTheGraceInOneChange() {
        Outcome first = keys.create(json("{\"name\":\"t\",\"models\":[\"a\"],\"limits\":{\"tpm\":100},"
                + "\"expiresAt\":\"2027-01-01T00:00:00Z\"}"));
        int commits = store.commits;
        Outcome rotated = keys.rotate(name("t"), json("{\"gracePeriodSeconds\":3600}"));
        assertEquals(commits + 1, store.commits, "one transaction");
        assertEquals(201, rotated.status());
        assertEquals(100, rotated.body().get("limits").get("tpm").asInt());
        assertEquals("2027-01-01T00:00:00Z", rotated.body().get("expiresAt").asText());
        JsonNode previous = rotated.body().get("previous").get(0);
        assertEquals(first.body().get("hash").asText(), previous.get("hash").asText());
        assertEquals("2026-11-29T07:00:00Z", previous.get("expiresAt").asText());
        assertEquals(2, keys.get(name("t")).get("data").size());
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.rotate(name("t"), json("{\"gracePeriodSeconds\":-1}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.rotate(name("t"), json("{\"gracePeriodSeconds\":1.5}"))));
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.rotate(name("t"), json("{}"))));
    }

    @Test
    void rotateKeepsAnEarlierExpiryAndNeedsAnEnabledKey() {
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"],\"expiresAt\":\"2026-11-29T06:10:00Z\"}"));
        Outcome rotated = keys.rotate(name("t"), json("{\"gracePeriodSeconds\":86400}"));
        assertEquals("2026-11-29T06:10:00Z", rotated.body().get("previous").get(0).get("expiresAt").asText());
        keys.setDisabled(name("t"), true);
        assertEquals(ErrorCode.INVALID_REQUEST, refusal(() -> keys.rotate(name("t"), json("{\"gracePeriodSeconds\":0}"))));
    }

    @Test
    void revokeDeletesTheRecordsAndConflictsAreRetried() {
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"]}"));
        store.conflictsToSimulate = 2;
        Outcome revoked = keys.revoke(name("t"));
        assertEquals(1, revoked.body().get("deleted").asInt());
        assertTrue(store.list("keys/").isEmpty());
        keys.create(json("{\"name\":\"t\",\"models\":[\"a\"]}"));
        store.conflictsToSimulate = KeysApi.ATTEMPTS;
        assertEquals(ErrorCode.CONFLICT, refusal(() -> keys.revoke(name("t"))));
        assertEquals(ErrorCode.KEY_NOT_FOUND, refusal(() -> keys.revoke(name("nobody"))));
    }

    @Test
    void anInvalidStoredRecordIsListedWithWhy() {
        store.seed("keys/" + "a".repeat(64), "{\"name\":\"bad\",\"models\":\"llama\"}");
        store.seed("keys/" + "b".repeat(64), "not json");
        JsonNode data = keys.list().get("data");
        assertEquals("bad", data.get(0).get("name").asText());
        assertTrue(data.get(0).has("invalid"));
        assertNull(data.get(1).get("name").textValue());
        assertEquals("the stored record is not JSON", data.get(1).get("invalid").asText());
    }
}
