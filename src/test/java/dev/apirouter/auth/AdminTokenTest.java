package dev.apirouter.auth;

import java.util.Optional;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminTokenTest {
    private static ErrorCode refusal(AdminToken token, String authorization) {
        return assertThrows(GatewayException.class, () -> token.authorize(authorization)).code();
    }

    @Test
    void withoutATokenEverythingIsRefusedAsDisabled() {
        AdminToken none = new AdminToken(Optional.empty());
        assertFalse(none.configured());
        for (String authorization : new String[] {null, "", "Bearer ", "Bearer anything"}) {
            assertEquals(ErrorCode.ADMIN_DISABLED, refusal(none, authorization), String.valueOf(authorization));
        }
        GatewayException e = assertThrows(GatewayException.class, () -> none.authorize(null));
        assertEquals(403, e.code().status());
        assertEquals("admin_disabled", e.code().code());
        assertTrue(e.getMessage().contains("ROUTER_ADMIN_TOKEN"), e.getMessage());
    }

    @Test
    void withATokenOnlyThatTokenAsBearerPasses() {
        AdminToken token = new AdminToken(Optional.of("s3cret"));
        assertTrue(token.configured());
        assertDoesNotThrow(() -> token.authorize("Bearer s3cret"));
        assertDoesNotThrow(() -> token.authorize("bearer  s3cret "));
        for (String authorization : new String[] {null, "", "Bearer ", "Bearer wrong", "Bearer s3cret2", "s3cret",
                "Basic s3cret", "Bearer S3CRET"}) {
            assertEquals(ErrorCode.UNAUTHORIZED, refusal(token, authorization), String.valueOf(authorization));
        }
    }

    @Test
    void theMessageNeverCarriesWhatWasPresented() {
        AdminToken token = new AdminToken(Optional.of("s3cret"));
        GatewayException e = assertThrows(GatewayException.class, () -> token.authorize("Bearer guess-123"));
        assertFalse(e.getMessage().contains("guess-123"));
        assertFalse(e.getMessage().contains("s3cret"));
    }
}
