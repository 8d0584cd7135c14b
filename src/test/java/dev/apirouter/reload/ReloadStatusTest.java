package dev.apirouter.reload;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReloadStatusTest {
    private static final Instant T = Instant.parse("2026-06-01T00:00:00Z");

    private static ReloadStatus status() {
        return new ReloadStatus("/etc/api-router/routes", true, true, 3, 1, 0, Map.of(
                "a.yaml", new ReloadStatus.FileStatus("loaded", 2, List.of("a"), T, null, null, false),
                "b.yaml", new ReloadStatus.FileStatus("failed", 0, List.of(), null, T,
                        "line 3: No endpoint could be found for: http://internal-host:9/x", true)));
    }

    @Test
    void theSummaryHasCountersAndStatesButNoDirectoryOrErrors() {
        Map<String, Object> summary = status().summary();
        assertEquals(Map.of("a.yaml", "loaded", "b.yaml", "failed"), summary.get("files"));
        assertEquals(1L, summary.get("failures"));
        assertEquals("a route file has been rejected since start-up", summary.get("reason"));
        assertFalse(summary.toString().contains("/etc/api-router"), summary.toString());
        assertFalse(summary.toString().contains("internal-host"), summary.toString());
    }

    @Test
    void theDetailsHaveTheDirectoryAndTheErrors() {
        Map<String, Object> details = status().details();
        assertEquals("/etc/api-router/routes", details.get("source"));
        assertTrue(details.get("files").toString().contains("internal-host"), details.toString());
        assertEquals(status().summary().get("reason"), details.get("reason"));
    }
}
