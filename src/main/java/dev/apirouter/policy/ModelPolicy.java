package dev.apirouter.policy;

import java.util.List;
import java.util.Optional;

/**
 * The routing policy of one public model name.
 *
 * @param fallbacks other models (public names) tried, in order, when no backend of this one is available
 * @param limits    model-wide limits, over every key's requests to it ({@link Limits#NONE}: none)
 */
public record ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts,
                          Routing routing, List<String> fallbacks, Limits limits) {
    public ModelPolicy {
        backends = List.copyOf(backends);
        fallbacks = List.copyOf(fallbacks);
    }

    /** A policy with the default routing and no fallbacks. */
    public ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts) {
        this(name, upstreamModel, backends, timeouts, Routing.DEFAULTS, List.of(), Limits.NONE);
    }
}
