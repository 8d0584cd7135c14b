package dev.apirouter.policy;

import java.util.List;
import java.util.Optional;

/**
 * The routing policy of one public model name.
 *
 * @param fallbacks other models (public names) tried, in order, when no backend of this one is available
 * @param limits    model-wide limits, over every key's requests to it ({@link Limits#NONE}: none)
 * @param aliases   other names clients may call this model by (never its own name, never another model's name or
 *                  alias: {@link PolicyView.Builder} rejects a document that would clash)
 */
public record ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts,
                          Routing routing, List<String> fallbacks, Limits limits, List<String> aliases) {
    public ModelPolicy {
        backends = List.copyOf(backends);
        fallbacks = List.copyOf(fallbacks);
        aliases = List.copyOf(aliases);
    }

    /** A policy without aliases. */
    public ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts,
                       Routing routing, List<String> fallbacks, Limits limits) {
        this(name, upstreamModel, backends, timeouts, routing, fallbacks, limits, List.of());
    }

    /** The model name the backend is sent: {@code upstreamModel} when set, else the policy's own name. */
    public String backendModel() {
        return upstreamModel.orElse(name);
    }

    /** A policy with the default routing and no fallbacks. */
    public ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts) {
        this(name, upstreamModel, backends, timeouts, Routing.DEFAULTS, List.of(), Limits.NONE);
    }
}
