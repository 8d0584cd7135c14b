package dev.apirouter.routing;

import dev.apirouter.policy.Backend;

/** Whether a backend is currently considered healthy; routing prefers healthy backends. */
@FunctionalInterface
public interface BackendHealth {
    BackendHealth ALWAYS_HEALTHY = backend -> true;

    boolean isHealthy(Backend backend);
}
