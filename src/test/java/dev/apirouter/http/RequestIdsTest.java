package dev.apirouter.http;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class RequestIdsTest {
    @Test
    void aSaneClientIdIsKept() {
        assertEquals("req-42", RequestIds.from("req-42"));
    }

    @Test
    void missingOrInsaneIdsGetAFreshVersion4Uuid() {
        Set<String> seen = new HashSet<>();
        for (String client : new String[] {null, "", "has space", "x".repeat(129), "new\nline"}) {
            String id = RequestIds.from(client);
            assertNotEquals(client, id);
            UUID uuid = UUID.fromString(id);
            assertEquals(4, uuid.version());
            assertEquals(2, uuid.variant());
            seen.add(id);
        }
        for (int i = 0; i < 1000; i++) {
            seen.add(RequestIds.from(null));
        }
        assertEquals(1005, seen.size(), "unique");
    }
}
