package dev.apirouter.health;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.apirouter.forward.ForwardObserver;
import dev.apirouter.policy.Backend;
import dev.apirouter.routing.BackendHealth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Health of each backend, by URL: unhealthy after {@code unhealthyAfter} consecutive failures (active probes, or
 * connections refused in the data path), healthy again after {@code healthyAfter} consecutive successful probes.
 * Unknown backends count as healthy until a failure says otherwise.
 */
public final class BackendHealthMonitor implements BackendHealth, ForwardObserver {
    private static final Logger LOG = LoggerFactory.getLogger(BackendHealthMonitor.class);

    private final int unhealthyAfter;
    private final int healthyAfter;
    private final Map<String, State> states = new ConcurrentHashMap<>();

    public BackendHealthMonitor(int unhealthyAfter, int healthyAfter) {
        this.unhealthyAfter = unhealthyAfter;
        this.healthyAfter = healthyAfter;
    }

    @Override
    public boolean isHealthy(Backend backend) {
        State state = states.get(backend.url());
        return state == null || state.healthy;
    }

    public void recordSuccess(String url) {
        State state = states.computeIfAbsent(url, u -> new State());
        synchronized (state) {
            state.failures = 0;
            state.successes++;
            if (!state.healthy && state.successes >= healthyAfter) {
                state.healthy = true;
                LOG.info("Backend {} is healthy again", url);
            }
        }
    }

    public void recordFailure(String url, String error) {
        State state = states.computeIfAbsent(url, u -> new State());
        synchronized (state) {
            state.successes = 0;
            state.failures++;
            if (state.healthy && state.failures >= unhealthyAfter) {
                state.healthy = false;
                LOG.warn("Backend {} is unhealthy after {} consecutive failures: {}", url, state.failures, error);
            }
        }
    }

    /** Passive health: a connection the data path could not make counts as a failure. */
    @Override
    public void connectFailed(Backend backend, Throwable cause) {
        recordFailure(backend.url(), "connection failed: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    /** Forgets backends no policy names any more. */
    public void retainOnly(Set<String> urls) {
        states.keySet().retainAll(urls);
    }

    /** Whether each backend (by URL) is considered healthy. */
    public Map<String, Boolean> upByUrl() {
        Map<String, Boolean> out = new java.util.TreeMap<>();
        states.forEach((url, s) -> {
            synchronized (s) {
                out.put(url, s.healthy);
            }
        });
        return out;
    }

    private static final class State {
        boolean healthy = true;
        int failures;
        int successes;
    }
}
