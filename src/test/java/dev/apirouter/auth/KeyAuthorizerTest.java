package dev.apirouter.auth;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyAuthorizerTest {
    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    private final KeyAuthorizer authorizer = new KeyAuthorizer(Clock.fixed(NOW, ZoneOffset.UTC));

    private static PolicyView viewWith(String key, KeyRecord record) {
        return new PolicyView(Map.of(), Map.of(ApiKeys.sha256Hex(key), record), Map.of(), PolicySource.FILE, 1, NOW);
    }

    @Test
    void extractsBearerThenXApiKey() {
        assertEquals(Optional.of("k1"), ApiKeys.extract("Bearer k1", "k2"));
        assertEquals(Optional.of("k1"), ApiKeys.extract("bearer   k1  ", null));
        assertEquals(Optional.of("k2"), ApiKeys.extract("Basic abc", "k2"));
        assertEquals(Optional.of("k2"), ApiKeys.extract("Bearer ", "k2"));
        assertEquals(Optional.empty(), ApiKeys.extract(null, " "));
    }

    @Test
    void hashIsLowerCaseSha256Hex() {
        assertEquals("be4397730ec39e2a824d44d91e5305ae39c6934c47a418572f385f90465a1977",
                ApiKeys.sha256Hex("sk-apirouter-demo"));
    }

    @Test
    void acceptsAKnownEnabledUnexpiredKey() {
        KeyRecord record = new KeyRecord("team", Set.of("m"), false, Optional.of(NOW.plusSeconds(1)));
        assertSame(record, authorizer.authenticate(Optional.of("secret"), viewWith("secret", record)));
    }

    @Test
    void refusesMissingUnknownDisabledAndExpiredKeysWith401() {
        KeyRecord ok = new KeyRecord("team", Set.of("m"), false, Optional.empty());
        assertRefused(Optional.empty(), viewWith("secret", ok));
        assertRefused(Optional.of("other"), viewWith("secret", ok));
        assertRefused(Optional.of("secret"), viewWith("secret", new KeyRecord("t", Set.of("m"), true, Optional.empty())));
        assertRefused(Optional.of("secret"), viewWith("secret", new KeyRecord("t", Set.of("m"), false, Optional.of(NOW))));
    }

    private void assertRefused(Optional<String> key, PolicyView view) {
        GatewayException e = assertThrows(GatewayException.class, () -> authorizer.authenticate(key, view));
        assertEquals(ErrorCode.INVALID_API_KEY, e.code());
        key.ifPresent(k -> assertFalse(e.getMessage().contains(k), "message must not echo the key"));
    }

    @Test
    void modelListIsEnforcedAndStarAllowsAll() {
        KeyRecord some = new KeyRecord("t", Set.of("a"), false, Optional.empty());
        authorizer.authorizeModel(some, "a");
        assertEquals(ErrorCode.MODEL_NOT_ALLOWED,
                assertThrows(GatewayException.class, () -> authorizer.authorizeModel(some, "b")).code());
        assertTrue(new KeyRecord("t", Set.of("*"), false, Optional.empty()).allowsModel("anything"));
    }
}
