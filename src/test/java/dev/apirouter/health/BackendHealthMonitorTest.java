package dev.apirouter.health;

import java.net.ConnectException;
import java.time.Clock;
import java.util.Optional;
import java.util.Set;

import dev.apirouter.policy.Backend;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendHealthMonitorTest {
    private static final Backend A = new Backend("http://a:1", 1);

    @Test
    void unhealthyAfterNFailuresHealthyAfterMSuccesses() {
        BackendHealthMonitor monitor = new BackendHealthMonitor(3, 2, Clock.systemUTC());
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
        BackendHealthMonitor monitor = new BackendHealthMonitor(2, 1, Clock.systemUTC());
        monitor.recordFailure(A.url(), "x");
        monitor.recordSuccess(A.url());
        monitor.recordFailure(A.url(), "x");
        assertTrue(monitor.isHealthy(A));
        monitor.retainOnly(Set.of());
        assertTrue(monitor.snapshot().isEmpty());
    }

    @Test
    void policyStatusNeedsTheAdminTokenWhenOneIsSet() {
        PolicyStore store = new PolicyStore() {
            public Optional<PolicyView> current() {
                return Optional.of(PolicyView.empty(PolicySource.FILE));
            }

            public StoreStatus status() {
                return new StoreStatus("file", true, "ok", java.util.Map.of());
            }

            public void start() {
            }

            public void close() {
            }
        };
        BackendHealthMonitor monitor = new BackendHealthMonitor(1, 1, Clock.systemUTC());
        PolicyStatus open = new PolicyStatus(store, monitor, Optional.empty());
        assertTrue(open.authorized(null));
        PolicyStatus locked = new PolicyStatus(store, monitor, Optional.of("s3cret"));
        assertFalse(locked.authorized(null));
        assertFalse(locked.authorized("Bearer wrong"));
        assertTrue(locked.authorized("Bearer s3cret"));
        assertFalse(locked.json().contains("keys\":{"), "only a key count, never key hashes");
    }
}
