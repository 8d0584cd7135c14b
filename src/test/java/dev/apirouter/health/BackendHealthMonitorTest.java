package dev.apirouter.health;

import java.net.ConnectException;
import java.util.Set;

import dev.apirouter.policy.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendHealthMonitorTest {
    private static final Backend A = new Backend("http://a:1", 1);

    @Test
    void unhealthyAfterNFailuresHealthyAfterMSuccesses() {
        BackendHealthMonitor monitor = new BackendHealthMonitor(3, 2);
        assertTrue(monitor.isHealthy(A), "unknown backends are healthy");
        monitor.recordFailure(A.url(), "x");
        monitor.recordFailure(A.url(), "x");
        assertTrue(monitor.isHealthy(A));
        monitor.connectFailed(A, new ConnectException("refused"));
        assertFalse(monitor.isHealthy(A), "passive failures count");
        monitor.recordSuccess(A.url());
        assertFalse(monitor.isHealthy(A));
        monitor.recordSuccess(A.url());
        assertTrue(monitor.isHealthy(A));
    }

    @Test
    void aSuccessResetsTheFailureCount() {
        BackendHealthMonitor monitor = new BackendHealthMonitor(2, 1);
        monitor.recordFailure(A.url(), "x");
        monitor.recordSuccess(A.url());
        monitor.recordFailure(A.url(), "x");
        assertTrue(monitor.isHealthy(A));
        monitor.retainOnly(Set.of());
        assertTrue(monitor.upByUrl().isEmpty());
    }
}
