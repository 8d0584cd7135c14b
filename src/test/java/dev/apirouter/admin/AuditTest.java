package dev.apirouter.admin;

import java.time.Duration;

import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AuditTest {
    @Test
    void targetsStayOneTokenOfTheLine() {
        assertEquals("team-a", Audit.quoted("team-a"));
        assertEquals("meta-llama/Llama-3.1-8B", Audit.quoted("meta-llama/Llama-3.1-8B"));
        assertEquals("\"a b\"", Audit.quoted("a b"));
        assertEquals("\"x=\\\"y\\\"\"", Audit.quoted("x=\"y\""));
        assertEquals("\"a?b\"", Audit.quoted("a\nb"));
    }

    @Test
    void durationsAndWaitTimeouts() {
        assertEquals(Duration.ofMillis(500), AdminApi.duration("500ms", "timeout"));
        assertEquals(Duration.ofMinutes(5), AdminApi.duration("5m", "window"));
        assertEquals(Duration.ofHours(24), AdminApi.duration("24h", "window"));
        assertThrows(GatewayException.class, () -> AdminApi.duration("5", "window"));
        assertThrows(GatewayException.class, () -> AdminApi.duration("-5s", "window"));
        assertEquals(FleetConfirm.DEFAULT_TIMEOUT, FleetConfirm.timeout(null));
        assertEquals(Duration.ofSeconds(2), FleetConfirm.timeout("2s"));
        assertThrows(GatewayException.class, () -> FleetConfirm.timeout("0s"));
        assertThrows(GatewayException.class, () -> FleetConfirm.timeout("6m"));
    }
}
