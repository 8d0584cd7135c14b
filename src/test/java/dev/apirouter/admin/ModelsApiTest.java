package dev.apirouter.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelsApiTest {
    private static final String POLICY = "{\"backends\":[{\"url\":\"http://127.0.0.1:8000\"}]%s}";
    private final MemoryAdminStore store = new MemoryAdminStore();
    private final ModelsApi models = new ModelsApi(store);

    private static JsonNode policy(String extra) {
        return AdminJson.parse(String.format(POLICY, extra));
    }

    @Test
    void putCreatesThenReplacesAndGetShowsTheDocument() {
        Outcome created = models.put("meta-llama/Llama-3.1-8B", policy(""));
        assertEquals(201, created.status());
        assertEquals("model.create", created.action());
        Outcome replaced = models.put("meta-llama/Llama-3.1-8B", policy(",\"aliases\":[\"llama\"]"));
        assertEquals(200, replaced.status());
        assertEquals("model.replace", replaced.action());
        JsonNode got = models.get("meta-llama/Llama-3.1-8B");
        assertEquals("llama", got.get("policy").get("aliases").get(0).asText());
        assertEquals(replaced.revision(), got.get("revision").asLong());
        assertEquals(1, models.list().get("data").size());
    }

    @Test
    void aPolicyIsValidatedAsTheStoreDoesAcrossDocuments() {
        models.put("a", policy(",\"aliases\":[\"small\"]"));
        GatewayException clash = assertThrows(GatewayException.class, () -> models.put("b", policy(",\"aliases\":[\"small\"]")));
        assertEquals(ErrorCode.INVALID_REQUEST, clash.code());
        assertTrue(clash.getMessage().contains("small"), clash.getMessage());
        assertEquals(ErrorCode.INVALID_REQUEST, assertThrows(GatewayException.class,
                () -> models.put("b", policy(",\"timeouts\":{\"connectMs\":\"1\"}"))).code());
        assertEquals(ErrorCode.INVALID_REQUEST, assertThrows(GatewayException.class,
                () -> models.put("b", AdminJson.parse("{\"backends\":[]}"))).code());
        assertEquals(ErrorCode.INVALID_REQUEST, assertThrows(GatewayException.class,
                () -> models.put("has space", policy(""))).code());
        assertFalse(store.get("models/b").isPresent(), "nothing written");
        // a model may keep its own aliases when it is replaced
        assertEquals(200, models.put("a", policy(",\"aliases\":[\"small\"]")).status());
    }

    @Test
    void validateIsADryRun() {
        JsonNode ok = models.validate("x", policy(""));
        assertTrue(ok.get("valid").asBoolean());
        JsonNode bad = models.validate("x", policy(",\"bogus\":1"));
        assertFalse(bad.get("valid").asBoolean());
        assertTrue(bad.get("message").asText().contains("bogus"), bad.toString());
        assertTrue(store.list("models/").isEmpty());
    }

    @Test
    void deleteNeedsAnExistingModel() {
        models.put("a", policy(""));
        assertEquals(1, models.delete("a").body().get("deleted").asInt());
        assertEquals(ErrorCode.MODEL_NOT_FOUND, assertThrows(GatewayException.class, () -> models.delete("a")).code());
        assertEquals(ErrorCode.MODEL_NOT_FOUND, assertThrows(GatewayException.class, () -> models.get("a")).code());
    }
}
